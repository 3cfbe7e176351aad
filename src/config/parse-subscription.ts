/**
 * A Dapr declarative `Subscription` document → `SubscriptionSpec`. Both schemas Dapr reads are
 * accepted: `dapr.io/v1alpha1` (`spec.route`) and `dapr.io/v2alpha1` (`spec.routes.default`).
 */
import type { SubscriptionSpec } from "./types.ts";
import type { ResourceDocument } from "./resource-document.ts";

export const subscriptionApiVersions = ["dapr.io/v1alpha1", "dapr.io/v2alpha1"] as const;

/**
 * Validates a Subscription document and returns its spec.
 * @throws ComponentConfigError naming the file, the subscription and the field
 */
export function parseSubscription(doc: ResourceDocument, apiVersion: (typeof subscriptionApiVersions)[number]): SubscriptionSpec {
  const name = doc.name("subscription");
  if (doc.optionalMapping("spec") === undefined) {
    throw doc.error("spec", "is required: a subscription needs spec.pubsubname, spec.topic and a route");
  }
  const pubsub = doc.requiredString("spec.pubsubname", "the name of the pub/sub component to subscribe on");
  const topic = doc.requiredString("spec.topic");
  const route = apiVersion === "dapr.io/v1alpha1" ? doc.requiredString("spec.route", 'e.g. "/orders"') : defaultRoute(doc);
  const deadLetterTopic = doc.optionalString("spec.deadLetterTopic");
  doc.optionalMapping("spec.metadata"); // a map of strings here, unlike a Component's list
  return {
    name,
    pubsub,
    topic,
    route: route.startsWith("/") ? route : `/${route}`,
    ...(deadLetterTopic ? { deadLetterTopic } : {}),
    rawPayload: isTruthy(doc.optionalString("spec.metadata.rawPayload")),
    scopes: doc.stringList("scopes"),
    file: doc.file,
  };
}

function defaultRoute(doc: ResourceDocument): string {
  if (doc.optionalMapping("spec.routes") === undefined) {
    throw doc.error("spec.routes", "is required in dapr.io/v2alpha1: set spec.routes.default to the path events are delivered to");
  }
  const rules = doc.get("spec.routes.rules");
  if (Array.isArray(rules) ? rules.length > 0 : rules !== undefined && rules !== null) {
    throw doc.error(
      "spec.routes.rules",
      "CEL routing rules are not supported yet; route in code with subscribe({ ..., routes }) or use only spec.routes.default",
    );
  }
  return doc.requiredString("spec.routes.default", 'the path events are delivered to, e.g. "/orders"');
}

/** Dapr's truthiness for metadata flags (`kit/strings.IsTruthy`). */
function isTruthy(value: string | undefined): boolean {
  return ["true", "1", "yes", "y", "on"].includes((value ?? "").trim().toLowerCase());
}
