/**
 * A Dapr declarative `Subscription` document → `SubscriptionSpec`. Both schemas Dapr reads are
 * accepted: `dapr.io/v1alpha1` (`spec.route`) and `dapr.io/v2alpha1` (`spec.routes.rules` and
 * `spec.routes.default`).
 *
 * Routing rules are read here as text; their CEL is compiled by the core (src/core/routing-rules.ts)
 * when the app starts, so that parsing YAML never loads the CEL engine.
 */
import type { SubscriptionRouteRule, SubscriptionSpec } from "./types.ts";
import { describe, isMapping, type ResourceDocument } from "./resource-document.ts";
import { isTruthy } from "./metadata.ts";

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
  const { route, rules } = apiVersion === "dapr.io/v1alpha1" ? { route: doc.requiredString("spec.route", 'e.g. "/orders"'), rules: [] } : routes(doc);
  const deadLetterTopic = doc.optionalString("spec.deadLetterTopic");
  doc.optionalMapping("spec.metadata"); // a map of strings here, unlike a Component's list
  return {
    name,
    pubsub,
    topic,
    ...(route === undefined ? {} : { route: absolutePath(route) }),
    ...(rules.length ? { rules } : {}),
    ...(deadLetterTopic ? { deadLetterTopic } : {}),
    rawPayload: isTruthy(doc.optionalString("spec.metadata.rawPayload")),
    scopes: doc.stringList("scopes"),
    file: doc.file,
  };
}

/** v2alpha1 `spec.routes`: rules, a default, or both (Dapr needs at least one to deliver anything). */
function routes(doc: ResourceDocument): { route: string | undefined; rules: SubscriptionRouteRule[] } {
  if (doc.optionalMapping("spec.routes") === undefined) {
    throw doc.error("spec.routes", "is required in dapr.io/v2alpha1: set spec.routes.default, spec.routes.rules, or both");
  }
  const rules = routeRules(doc);
  const route = doc.optionalString("spec.routes.default") || undefined;
  if (route === undefined && rules.length === 0) {
    throw doc.error("spec.routes.default", 'is required when there are no spec.routes.rules: the path events are delivered to, e.g. "/orders"');
  }
  return { route, rules };
}

function routeRules(doc: ResourceDocument): SubscriptionRouteRule[] {
  const raw = doc.get("spec.routes.rules");
  if (raw === undefined || raw === null) return [];
  if (!Array.isArray(raw)) throw doc.error("spec.routes.rules", `must be a list of { match, path }, got ${describe(raw)}`);
  return raw.map((item: unknown, i) => {
    const field = `spec.routes.rules[${i}]`;
    if (!isMapping(item)) throw doc.error(field, `must be a mapping with match (a CEL expression) and path, got ${describe(item)}`);
    const match = scalarText(doc, item.match, `${field}.match`);
    const path = scalarText(doc, item.path, `${field}.path`);
    if (!path) throw doc.error(`${field}.path`, 'is required: the path events matching this rule are delivered to, e.g. "/widgets"');
    // An empty match is Dapr's catch-all rule: it matches every event that reaches it.
    return { ...(match?.trim() ? { match } : {}), path: absolutePath(path) };
  });
}

/** A list item's string field; numbers and booleans read as their text, as ResourceDocument does. */
function scalarText(doc: ResourceDocument, value: unknown, field: string): string | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value === "string") return value;
  if (typeof value === "number" || typeof value === "boolean") return String(value);
  throw doc.error(field, `must be a string, got ${describe(value)}`);
}

const absolutePath = (path: string): string => (path.startsWith("/") ? path : `/${path}`);
