/**
 * The pub/sub conformance suite: every pub/sub component runs it against its real backend.
 * Messages go through the real pipeline — `Runtime.publish` builds the CloudEvents and
 * `createDeliverer` decodes, routes, retries and dead-letters — so the suite checks the component
 * in the place it is used. What a component declares in `features` is tested; what it does not
 * declare is not assumed.
 */
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { PubSubFeatures, type InboundMessage, type PubSubComponent, type PubSubFeature } from "../../src/blocks/pubsub.ts";
import type { TopicEvent } from "../../src/core/cloudevent.ts";
import type { PublishOptions } from "../../src/core/context.ts";
import { createDeliverer, type DeliveryPlan, type Settlement } from "../../src/core/delivery.ts";
import { Runtime } from "../../src/core/runtime.ts";
import { continueTrace, type TraceContext } from "../../src/core/trace.ts";
import type { DeliveryOutcome } from "../../src/functions.ts";
import { freshName, waitFor } from "../support/wait.ts";

/** A fresh component, and how to remove what it left behind (files, keys) once closed. */
export interface PubSubFixture {
  component: PubSubComponent;
  cleanup?: () => void | Promise<void>;
}

export type PubSubFactory = () => PubSubFixture | Promise<PubSubFixture>;

const appId = "conformance-app";
const pubsubName = "bus";
const testType = "pubsub.conformance";
const fastBackoff = { initialMs: 20, maxMs: 100 } as const;

type Payload = { n: number | string };

interface TestSubscription {
  topic: string;
  subscription?: string;
  handler?: (event: TopicEvent<Payload>) => void | DeliveryOutcome | Promise<void | DeliveryOutcome>;
  deadLetterTopic?: string;
  maxRetries?: number;
  backoff?: DeliveryPlan["backoff"];
  rawPayload?: boolean;
  concurrency?: number;
}

/** What one subscription saw: handler calls, raw deliveries and how each delivery was settled. */
interface Recorder {
  /** Every handler call, in order. */
  events: Array<TopicEvent<Payload> & { receivedAt: number }>;
  /** Every delivery the component made, in order. */
  messages: InboundMessage[];
  settlements: Settlement[];
  received(n: number | string): number;
  close(): Promise<void>;
}

interface Harness {
  runtime: Runtime;
  component: PubSubComponent;
  subscribe(options: TestSubscription): Promise<Recorder>;
  publish(topic: string, data: unknown, options?: PublishOptions, trace?: TraceContext): Promise<void>;
}

/**
 * Runs the pub/sub conformance suite against the components `factory` makes: one fresh
 * component per test, with fresh topic and subscription names.
 *
 * @example
 * describePubSubConformance("pubsub.in-memory", () => ({ component: create(options) }));
 */
export function describePubSubConformance(name: string, factory: PubSubFactory): void {
  describe(`${name} conforms to the pub/sub block`, () => {
    let h: Harness;
    let teardown: () => Promise<void>;

    beforeEach(async () => {
      ({ harness: h, teardown } = await createHarness(factory));
    });
    afterEach(async () => teardown());

    it("declares only known features", () => {
      for (const feature of h.component.features) expect(PubSubFeatures).toContain(feature);
    });

    it("delivers every published message with its data and CloudEvent fields", async () => {
      const topic = freshName("orders");
      const sub = await h.subscribe({ topic });
      const trace = continueTrace();
      const count = 50;
      for (let n = 0; n < count; n++) await h.publish(topic, { n }, {}, trace);

      await waitFor(() => distinct(sub.events.map((e) => e.data.n)) === count, { what: `${count} messages` });
      expect(distinct(sub.events.map((e) => e.id))).toBe(count);
      for (const event of sub.events) {
        expect(event).toMatchObject({
          specversion: "1.0",
          source: appId,
          type: "com.dapr.event.sent",
          topic,
          pubsubname: pubsubName,
          traceparent: trace.traceparent,
          datacontenttype: "application/json",
        });
        expect(event.id).toEqual(expect.any(String));
      }
      for (const message of sub.messages) expect(message.contentType).toBe("application/cloudevents+json");
    });

    it("delivers a raw payload as it was published", async () => {
      const topic = freshName("raw");
      const sub = await h.subscribe({ topic, rawPayload: true });
      await h.publish(topic, { n: "raw", nested: [1, 2] }, { rawPayload: true });

      const [event] = await waitFor(() => sub.events.length > 0 && sub.events);
      expect(event!.data).toEqual({ n: "raw", nested: [1, 2] });
      expect(JSON.parse(new TextDecoder().decode(sub.messages[0]!.data))).toEqual({ n: "raw", nested: [1, 2] });
    });

    it("accepts a publish to a topic nobody subscribes to", async () => {
      await expect(h.publish(freshName("nobody"), { n: 1 })).resolves.toBeUndefined();
    });

    it("redelivers a message whose handler throws until it succeeds, counting attempts up", async () => {
      const topic = freshName("flaky");
      let calls = 0;
      const sub = await h.subscribe({
        topic,
        handler: () => {
          if (++calls <= 2) throw new Error("not yet");
        },
      });
      await h.publish(topic, { n: 1 });

      await waitFor(() => sub.settlements.includes("acked"), { what: "the third attempt to succeed" });
      expect(sub.messages.map((m) => m.attempt)).toEqual([1, 2, 3]);
      expect(sub.settlements).toEqual(["retried", "retried", "acked"]);
      expect(distinct(sub.events.map((e) => e.id))).toBe(1);
      expect(distinct(sub.messages.map((m) => m.id))).toBe(1);
    });

    it('redelivers a message whose handler returns "retry", as if it had thrown', async () => {
      const topic = freshName("retry");
      let calls = 0;
      const sub = await h.subscribe({ topic, handler: () => (++calls === 1 ? "retry" : undefined) });
      await h.publish(topic, { n: 1 });

      await waitFor(() => sub.settlements.includes("acked"));
      expect(sub.messages.map((m) => m.attempt)).toEqual([1, 2]);
      expect(sub.settlements).toEqual(["retried", "acked"]);
    });

    it("moves a message that keeps failing to the dead-letter topic after maxRetries", async () => {
      const topic = freshName("doomed");
      const deadLetterTopic = freshName("doomed-dlt");
      const dead = await h.subscribe({ topic: deadLetterTopic });
      const sub = await h.subscribe({
        topic,
        deadLetterTopic,
        maxRetries: 2,
        handler: () => {
          throw new Error("always");
        },
      });
      await h.publish(topic, { n: 42 });

      await waitFor(() => dead.events.length > 0 && sub.settlements.includes("dead-lettered"), { what: "dead-lettering" });
      expect(dead.events).toHaveLength(1);
      expect(dead.events[0]).toMatchObject({ id: sub.events[0]!.id, data: { n: 42 } });
      expect(sub.events).toHaveLength(3);
      expect(sub.settlements).toEqual(["retried", "retried", "dead-lettered"]);
    });

    it('sends a message whose handler returns "drop" straight to the dead-letter topic', async () => {
      const topic = freshName("dropped");
      const deadLetterTopic = freshName("dropped-dlt");
      const dead = await h.subscribe({ topic: deadLetterTopic });
      const sub = await h.subscribe({ topic, deadLetterTopic, handler: () => "drop" });
      await h.publish(topic, { n: 7 });

      await waitFor(() => dead.received(7) > 0 && sub.settlements.length > 0);
      expect(sub.events).toHaveLength(1);
      expect(sub.settlements).toEqual(["dead-lettered"]);
    });

    it("gives every subscription of a topic every message", async () => {
      const topic = freshName("fanout");
      const first = await h.subscribe({ topic });
      const second = await h.subscribe({ topic });
      const ns = range(10);
      for (const n of ns) await h.publish(topic, { n });

      await waitFor(() => ns.every((n) => first.received(n) > 0 && second.received(n) > 0), { what: "both subscriptions" });
    });

    it("never re-runs a healthy subscription's handler because another subscription fails", async () => {
      const topic = freshName("shared");
      const deadLetterTopic = freshName("shared-dlt");
      const dead = await h.subscribe({ topic: deadLetterTopic });
      const healthy = await h.subscribe({ topic });
      await h.subscribe({
        topic,
        deadLetterTopic,
        maxRetries: 2,
        handler: () => {
          throw new Error("always");
        },
      });
      const ns = range(5);
      for (const n of ns) await h.publish(topic, { n });

      // Once every message has been dead-lettered, the failing subscription has done all its retries.
      await waitFor(() => ns.every((n) => dead.received(n) > 0 && healthy.received(n) > 0), { what: "dead-lettering" });
      for (const n of ns) expect(healthy.received(n), `handler calls for message ${n}`).toBe(1);
      expect(healthy.messages.every((m) => m.attempt === 1)).toBe(true);
    });

    it("keeps the messages of two topics apart", async () => {
      const [topicA, topicB] = [freshName("apart-a"), freshName("apart-b")];
      const subA = await h.subscribe({ topic: topicA });
      const subB = await h.subscribe({ topic: topicB });
      for (const n of range(5)) {
        await h.publish(topicA, { n: `a${n}` });
        await h.publish(topicB, { n: `b${n}` });
      }

      await waitFor(() => distinct(subA.events.map((e) => e.data.n)) === 5 && distinct(subB.events.map((e) => e.data.n)) === 5);
      expect(subA.events.every((e) => String(e.data.n).startsWith("a") && e.topic === topicA)).toBe(true);
      expect(subB.events.every((e) => String(e.data.n).startsWith("b") && e.topic === topicB)).toBe(true);
    });

    it("stops delivering to a subscription once it is closed", async () => {
      const topic = freshName("unsub");
      const closed = await h.subscribe({ topic });
      const live = await h.subscribe({ topic });
      await h.publish(topic, { n: "before" });
      await waitFor(() => closed.received("before") > 0 && live.received("before") > 0);

      await closed.close();
      await h.publish(topic, { n: "after" });
      await h.publish(topic, { n: "barrier" });
      await waitFor(() => live.received("after") > 0 && live.received("barrier") > 0, { what: "the live subscription" });
      expect(closed.events.map((e) => e.data.n)).toEqual(["before"]);
    });

    it("waits for an in-flight handler to finish when a subscription closes", async () => {
      const topic = freshName("inflight");
      const gate = deferred();
      let finished = false;
      const sub = await h.subscribe({
        topic,
        handler: async () => {
          await gate.promise;
          finished = true;
        },
      });
      await h.publish(topic, { n: 1 });
      await waitFor(() => sub.events.length > 0, { what: "the handler to start" });

      let closeReturned = false;
      const closing = sub.close().then(() => {
        closeReturned = true;
        return { finished, settlements: [...sub.settlements] };
      });
      await nextTurns(5);
      expect(closeReturned).toBe(false);
      gate.resolve();
      expect(await closing).toEqual({ finished: true, settlements: ["acked"] });
    });

    it("never has more deliveries in flight than the subscription's concurrency", async () => {
      const topic = freshName("bounded");
      let inFlight = 0;
      let most = 0;
      const sub = await h.subscribe({
        topic,
        concurrency: 2,
        handler: async () => {
          most = Math.max(most, ++inFlight);
          await new Promise((resolve) => setTimeout(resolve, 5));
          inFlight--;
        },
      });
      for (const n of range(8)) await h.publish(topic, { n });

      await waitFor(() => sub.settlements.filter((s) => s === "acked").length === 8);
      expect(most).toBeGreaterThan(0);
      expect(most).toBeLessThanOrEqual(2);
    });

    it("honours the retry delay (declared delayedRetry)", async (ctx) => {
      if (!declares(h.component, "delayedRetry")) ctx.skip();
      const topic = freshName("delayed");
      let calls = 0;
      const sub = await h.subscribe({
        topic,
        backoff: { initialMs: 300, maxMs: 300 },
        handler: () => {
          if (++calls === 1) throw new Error("later");
        },
      });
      await h.publish(topic, { n: 1 });

      await waitFor(() => sub.settlements.includes("acked"));
      // 300 ms with ±20 % jitter is at least 240 ms; leave room for timer granularity.
      expect(sub.events[1]!.receivedAt - sub.events[0]!.receivedAt).toBeGreaterThanOrEqual(200);
    });

    it("keeps a message published while no consumer runs, and delivers it on the next subscribe (declared durable)", async (ctx) => {
      if (!declares(h.component, "durable")) ctx.skip();
      const topic = freshName("offline");
      const subscription = freshName("offline-sub");
      await (await h.subscribe({ topic, subscription })).close();
      await h.publish(topic, { n: "while-away" });

      const back = await h.subscribe({ topic, subscription });
      await waitFor(() => back.received("while-away") > 0, { what: "the kept message" });
    });

    it("redelivers a message that a closed consumer left unsettled (declared durable)", async (ctx) => {
      if (!declares(h.component, "durable")) ctx.skip();
      const topic = freshName("unsettled");
      const subscription = freshName("unsettled-sub");
      const seen: InboundMessage[] = [];
      const first = await h.component.subscribe({ topic, subscription, deliver: async (m) => void seen.push(m) });
      await h.publish(topic, { n: 1 });
      await waitFor(() => seen.length > 0);
      await first.close();

      const again = await h.subscribe({ topic, subscription });
      await waitFor(() => again.received(1) > 0, { what: "the redelivery", timeoutMs: 15_000 });
      expect(again.messages[0]!.id).toBe(seen[0]!.id);
    });
  });
}

async function createHarness(factory: PubSubFactory): Promise<{ harness: Harness; teardown: () => Promise<void> }> {
  const fixture = await factory();
  const runtime = new Runtime({
    appId,
    baseDir: process.cwd(),
    components: [{ name: pubsubName, type: testType, version: "v1", metadata: [], scopes: [] }],
    catalog: { [testType]: { block: "pubsub", load: async () => ({ create: () => fixture.component }) } },
  });
  const component = await runtime.pubsub(pubsubName);
  const recorders: Recorder[] = [];

  const subscribe = async (options: TestSubscription): Promise<Recorder> => {
    const subscription = options.subscription ?? freshName("sub");
    const events: Recorder["events"] = [];
    const messages: InboundMessage[] = [];
    const settlements: Settlement[] = [];
    const deliver = createDeliverer(
      runtime,
      {
        name: subscription,
        pubsub: pubsubName,
        topic: options.topic,
        deadLetterTopic: options.deadLetterTopic,
        maxRetries: options.maxRetries,
        backoff: options.backoff ?? fastBackoff,
        rawPayload: options.rawPayload,
        handler: (event: TopicEvent<Payload>) => {
          events.push({ ...event, receivedAt: Date.now() });
          return options.handler?.(event);
        },
      },
      (_message, settlement) => settlements.push(settlement),
    );
    const active = await component.subscribe({
      topic: options.topic,
      subscription,
      concurrency: options.concurrency,
      deliver: (message) => {
        messages.push(message);
        return deliver(message);
      },
    });
    let closing: Promise<void> | undefined;
    const recorder: Recorder = {
      events,
      messages,
      settlements,
      received: (n) => events.filter((e) => e.data?.n === n).length,
      close: () => (closing ??= active.close()),
    };
    recorders.push(recorder);
    return recorder;
  };

  return {
    harness: {
      runtime,
      component,
      subscribe,
      publish: (topic, data, options = {}, trace) => runtime.publish(pubsubName, topic, data, options, trace),
    },
    teardown: async () => {
      await Promise.all(recorders.map((r) => r.close()));
      await runtime.close();
      await fixture.cleanup?.();
    },
  };
}

function declares(component: PubSubComponent, feature: PubSubFeature): boolean {
  return component.features.includes(feature);
}

function distinct(values: readonly unknown[]): number {
  return new Set(values).size;
}

function range(count: number): number[] {
  return Array.from({ length: count }, (_, i) => i);
}

function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

/** Lets a few rounds of timers and I/O run: long enough for a close that does not wait to return. */
async function nextTurns(count: number): Promise<void> {
  for (let i = 0; i < count; i++) await new Promise((resolve) => setImmediate(resolve));
}
