/**
 * The subscriptions of an app as delivery plans: from `subscribe(...)` in code, and from Dapr
 * `Subscription` YAML, whose events go to an HTTP function's route exactly as Dapr posts them to
 * an app — with Dapr's response contract deciding the outcome, per message. A YAML subscription's
 * routing rules each deliver to their own path, the same way as its default route.
 */
import type { Hono } from "hono";
import type { SubscriptionSpec } from "../config/types.ts";
import type { DeliveryOutcome, SubscribeFunction, SubscriptionHandler } from "../functions.ts";
import { bytesToBase64 } from "./base64.ts";
import { cloudEventContentType } from "./cloudevent.ts";
import type { DeliveryPlan } from "./delivery.ts";
import type { Registered } from "./registry.ts";

/** The plan for a `subscribe(...)` function; its durable name is `<appId>.<module>.<export>`. */
export function planForFunction(appId: string, { id, definition }: Registered<SubscribeFunction>): DeliveryPlan {
  const name = definition.name ?? `${appId}.${id}`;
  return {
    name,
    pubsub: definition.pubsub,
    topic: definition.topic,
    deadLetterTopic: definition.deadLetterTopic,
    maxRetries: definition.maxRetries,
    backoff: definition.backoff,
    rawPayload: definition.rawPayload,
    routes: definition.routes?.map((rule, i) => ({ ...rule, origin: { subscription: name, field: `routes[${i}].match` } })),
    concurrency: definition.concurrency,
    handler: definition.handler,
  };
}

/**
 * The plan for a Subscription document: each event goes to the path of the first routing rule
 * whose CEL matches, else to the default route (none: the event is unmatched).
 */
export function planForSubscriptionSpec(appId: string, spec: SubscriptionSpec, app: Hono): DeliveryPlan {
  return {
    name: `${appId}.${spec.name}`,
    declarative: true,
    pubsub: spec.pubsub,
    topic: spec.topic,
    deadLetterTopic: spec.deadLetterTopic,
    rawPayload: spec.rawPayload,
    routes: spec.rules?.map((rule, i) => ({
      match: rule.match,
      path: rule.path,
      handler: deliverTo(app, rule.path),
      origin: { subscription: spec.name, field: `spec.routes.rules[${i}].match`, file: spec.file },
    })),
    handler: spec.route === undefined ? undefined : deliverTo(app, spec.route),
  };
}

/**
 * A handler that POSTs each event in-process to the app's route at `path`, as Dapr posts to an
 * app. A 2xx answer is SUCCESS unless its JSON body says `{"status":"RETRY"|"DROP"}`; 404 is DROP
 * (nobody will ever handle it); anything else is RETRY.
 */
function deliverTo(app: Hono, path: string): SubscriptionHandler {
  return async (event, ctx): Promise<DeliveryOutcome> => {
    const { data, ...attributes } = event;
    const body = data instanceof Uint8Array ? { ...attributes, data_base64: bytesToBase64(data) } : event;
    const response = await app.request(path, {
      method: "POST",
      body: JSON.stringify(body),
      headers: { "content-type": cloudEventContentType, traceparent: ctx.trace.traceparent },
    });
    if (response.status === 404) return "drop";
    if (!response.ok) return "retry";
    const answer = await response.json().catch(() => undefined);
    const status = typeof answer === "object" && answer !== null ? String((answer as { status?: unknown }).status ?? "") : "";
    if (status.toUpperCase() === "RETRY") return "retry";
    if (status.toUpperCase() === "DROP") return "drop";
    return "success";
  };
}
