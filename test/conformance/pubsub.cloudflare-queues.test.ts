import { afterAll, describe, expect, it } from "vitest";
import type { InboundMessage, PubSubComponent } from "../../src/blocks/pubsub.ts";
import { startQueuesBridge, type QueuesBridge } from "../support/queues-bridge.ts";
import { freshName, waitFor } from "../support/wait.ts";
import { describePubSubConformance } from "./pubsub-suite.ts";

const type = "pubsub.cloudflare.queues";

/** One Miniflare for the file, started by whichever test needs it first. */
let bridge: Promise<QueuesBridge> | undefined;
const shared = () => (bridge ??= startQueuesBridge());
afterAll(async () => {
  await (await bridge)?.dispose();
});

// The real component in workerd on real Miniflare Queues; each test's proxy leases pool queues
// for its subscriptions and returns them when the suite closes it.
describePubSubConformance(type, async () => ({ component: await (await shared()).pubsub() }));

describe(`${type} on workerd`, () => {
  const text = (message: InboundMessage) => new TextDecoder().decode(message.data);
  const publish = (bus: PubSubComponent, topic: string, body: string) =>
    bus.publish({ topic, data: new TextEncoder().encode(body), contentType: "text/plain" });
  /** A subscription that acks everything it gets and keeps it. */
  const collect = async (bus: PubSubComponent, topic: string, subscription: string) => {
    const received: Array<InboundMessage & { at: number }> = [];
    const active = await bus.subscribe({
      topic,
      subscription,
      deliver: async (message) => {
        received.push({ ...message, at: Date.now() });
        await message.ack();
      },
    });
    return { received, close: () => active.close() };
  };

  it("declares durable and delayedRetry", async () => {
    const bus = await (await shared()).pubsub();
    expect(bus).toMatchObject({ type, features: ["durable", "delayedRetry"] });
    await bus.close();
  });

  it("hands a message that reaches a closed subscription back to its queue, and delivers it on the next subscribe", async () => {
    const b = await shared();
    const bus = await b.pubsub();
    const [topic, subscription] = [freshName("away"), freshName("away-sub")];
    await (await collect(bus, topic, subscription)).close();
    await publish(bus, topic, "while closed");
    const bounced = await waitFor(() => b.forwarded.find((f) => f.topic === topic), { what: "the queue to offer the message" });
    expect(bounced.settle).toBe("retry");

    const back = await collect(bus, topic, subscription);
    await waitFor(() => back.received.length > 0, { what: "the redelivery" });
    expect(back.received.map((m) => ({ id: m.id, body: text(m) }))).toEqual([{ id: bounced.messageId, body: "while closed" }]);
    // The queue counted the bounce: this is Queues' redelivery, not a copy kept in Node.
    expect(back.received[0]!.attempt).toBeGreaterThan(1);
    await bus.close();
  });

  it("retries in whole seconds, as Queues' delaySeconds does: a 1 ms retry comes back after about a second", async () => {
    const bus = await (await shared()).pubsub();
    const topic = freshName("rounded");
    const seen: Array<{ attempt: number; at: number }> = [];
    await bus.subscribe({
      topic,
      subscription: freshName("rounded-sub"),
      deliver: async (message) => {
        seen.push({ attempt: message.attempt, at: Date.now() });
        await (message.attempt === 1 ? message.retry(1) : message.ack());
      },
    });
    await publish(bus, topic, "soon");

    await waitFor(() => seen.length === 2, { what: "the retry" });
    expect(seen.map((s) => s.attempt)).toEqual([1, 2]);
    expect(seen[1]!.at - seen[0]!.at).toBeGreaterThanOrEqual(900);
    await bus.close();
  });

  it("returns its queues to the pool when closed, and a queue leased again drains what the old subscription left", async () => {
    // One queue, so the second component must get the first one's.
    const single = await startQueuesBridge({ poolSize: 1 });
    try {
      const first = await single.pubsub();
      const [oldTopic, newTopic] = [freshName("old"), freshName("new")];
      await (await collect(first, oldTopic, freshName("old-sub"))).close();
      await publish(first, oldTopic, "left behind");
      await waitFor(() => single.forwarded.some((f) => f.topic === oldTopic && f.settle === "retry"), { what: "the leftover to bounce" });
      await first.close();
      expect(single.leased).toBe(0);

      const second = await single.pubsub();
      const now = await collect(second, newTopic, freshName("new-sub"));
      expect(single.leased).toBe(1);
      await publish(second, newTopic, "fresh");
      await waitFor(() => single.forwarded.some((f) => f.topic === oldTopic && f.settle === "ack"), { what: "the leftover to drain" });
      await waitFor(() => now.received.length > 0, { what: "the new subscription's message" });
      expect(now.received.map(text)).toEqual(["fresh"]);
      await second.close();
    } finally {
      await single.dispose();
    }
  });
});
