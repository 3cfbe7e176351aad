/**
 * The delivery pipeline's own decisions, on hand-made deliveries: what it does with bytes it
 * cannot decode, an answer it does not know, and a dead-letter publish that fails.
 */
import { describe, expect, it } from "vitest";
import type { InboundMessage, PubSubComponent } from "../../src/blocks/pubsub.ts";
import { createDeliverer, type DeliveryPlan, type Settlement } from "../../src/core/delivery.ts";
import { Runtime } from "../../src/core/runtime.ts";

function runtimeWith(publish: PubSubComponent["publish"]): Runtime {
  const component: PubSubComponent = { type: "pubsub.test", features: [], publish, subscribe: async () => ({ close: async () => {} }), close: async () => {} };
  return new Runtime({
    appId: "app",
    baseDir: ".",
    components: [{ name: "bus", type: "pubsub.test", version: "v1", metadata: [], scopes: [] }],
    catalog: { "pubsub.test": { block: "pubsub", load: async () => ({ create: () => component }) } },
  });
}

/** A delivery that records how it was settled. */
function delivery(data: string, contentType = "application/cloudevents+json", attempt = 1) {
  const settled: string[] = [];
  const message: InboundMessage = {
    id: "m1",
    topic: "t",
    data: new TextEncoder().encode(data),
    contentType,
    metadata: {},
    attempt,
    ack: async () => void settled.push("ack"),
    retry: async (delayMs) => void settled.push(`retry:${delayMs >= 0}`),
  };
  return { message, settled };
}

const plan = (overrides: Partial<DeliveryPlan>): DeliveryPlan => ({ name: "s", pubsub: "bus", topic: "t", handler: () => {}, ...overrides });

describe("delivery pipeline", () => {
  it("dead-letters bytes that claim to be a CloudEvent and are not, without calling the handler", async () => {
    const published: string[] = [];
    let called = false;
    const deliver = createDeliverer(
      runtimeWith(async (request) => void published.push(request.topic)),
      plan({ deadLetterTopic: "t.dead", handler: () => void (called = true) }),
    );
    const { message, settled } = delivery('{"not":"an event"}');
    await deliver(message);
    expect(called).toBe(false);
    expect(published).toEqual(["t.dead"]);
    expect(settled).toEqual(["ack"]);
  });

  it("retries when a handler answers something it does not know", async () => {
    const outcomes: Settlement[] = [];
    const deliver = createDeliverer(runtimeWith(async () => {}), plan({ handler: () => "maybe" as never }), (_m, s) => outcomes.push(s));
    const { message, settled } = delivery(JSON.stringify({ specversion: "1.0", id: "e1", source: "x", type: "y", data: 1 }));
    await deliver(message);
    expect(settled).toEqual(["retry:true"]);
    expect(outcomes).toEqual(["retried"]);
  });

  it("leaves a message unsettled — to be delivered again — when its dead-letter publish fails", async () => {
    const outcomes: Settlement[] = [];
    const deliver = createDeliverer(
      runtimeWith(async () => {
        throw new Error("broker down");
      }),
      plan({ deadLetterTopic: "t.dead", handler: () => "drop" }),
      (_m, s) => outcomes.push(s),
    );
    const { message, settled } = delivery(JSON.stringify({ specversion: "1.0", id: "e1", source: "x", type: "y", data: 1 }));
    await expect(deliver(message)).resolves.toBeUndefined();
    expect(settled).toEqual([]);
    expect(outcomes).toEqual([]);
  });
});
