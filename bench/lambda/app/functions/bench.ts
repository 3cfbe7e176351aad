/**
 * The Lambda bench app: an HTTP route that needs no backend (the first invocation of a cold
 * start) and a subscriber that does nothing but count its calls (the SQS batch overhead).
 */
import { http, subscribe } from "mecha";
import { countNoopCall } from "../../noop-counter.ts";

export const ping = http("GET /ping", async () => Response.json({ ok: true }));

export const noop = subscribe({ pubsub: "bus", topic: "bench" }, async () => {
  countNoopCall();
});
