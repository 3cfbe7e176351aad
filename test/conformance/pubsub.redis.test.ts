import { Redis } from "ioredis";
import { afterAll, afterEach, describe, expect, it } from "vitest";
import type { ActiveSubscription, InboundMessage, PubSubComponent, SubscribeRequest } from "../../src/blocks/pubsub.ts";
import { create } from "../../src/components/pubsub/redis.ts";
import { ComponentMetadata } from "../../src/config/metadata.ts";
import { ComponentConfigError } from "../../src/errors.ts";
import { serviceOrSkip } from "../support/services.ts";
import { freshName, waitFor } from "../support/wait.ts";
import { describePubSubConformance } from "./pubsub-suite.ts";
import { configErrorFrom } from "../support/config-error.ts";

const type = "pubsub.redis";
const up = await serviceOrSkip("redis", `the ${type} suite`);
const redisHost = "127.0.0.1:6379";
/** A dead consumer's entries come back after 1 s, looked for every 200 ms. */
const fastReclaim = { processingTimeout: "1s", redeliverInterval: "200ms" };

/** Every stream a test component touched, deleted in afterAll. */
const streams = new Set<string>();
let admin: Redis | undefined;
const redis = () => (admin ??= new Redis({ host: "127.0.0.1", port: 6379, lazyConnect: true }));
afterAll(async () => {
  if (!admin) return;
  for (const stream of streams) await admin.del(stream);
  admin.disconnect();
});

let named = 0;
/** A component (named bus1, bus2, …: its connections are `mecha:<name>…` in CLIENT LIST). */
function redisBus(metadata: Record<string, string> = {}, name = `bus${++named}`): PubSubComponent & { name: string } {
  const component = create({ name, appId: "conformance-app", baseDir: "/", metadata: new ComponentMetadata({ redisHost, ...metadata }, name) });
  // Records the streams it touches, so that afterAll deletes them.
  return {
    name,
    type: component.type,
    features: component.features,
    publish: (request) => (streams.add(request.topic), component.publish(request)),
    subscribe: (request) => (streams.add(request.topic), component.subscribe(request)),
    close: () => component.close(),
  };
}

const bytes = (text: string) => new TextEncoder().encode(text);
const text = (message: InboundMessage) => new TextDecoder().decode(message.data);

describe.skipIf(!up)(type, () => {
  describePubSubConformance(type, () => ({ component: redisBus(fastReclaim) }));

  /** Components a test opens, closed after it. */
  const opened: PubSubComponent[] = [];
  const open = (metadata: Record<string, string> = {}) => {
    const component = redisBus({ ...fastReclaim, ...metadata });
    opened.push(component);
    return component;
  };
  afterEach(async () => {
    await Promise.all(opened.splice(0).map((component) => component.close()));
  });

  describe(`${type} with several hosts`, () => {
    const publish = (component: PubSubComponent, topic: string, body: string) => component.publish({ topic, data: bytes(body), contentType: "text/plain" });
    const record = (into: InboundMessage[], settle: (m: InboundMessage) => Promise<void> = (m) => m.ack()): SubscribeRequest["deliver"] =>
      async (message) => {
        into.push(message);
        await settle(message);
      };

    it("shares one subscription between two hosts, each entry going to one of them", async () => {
      const [first, second] = [open(), open()];
      const topic = freshName("shared");
      const subscription = freshName("workers");
      const a: InboundMessage[] = [];
      const b: InboundMessage[] = [];
      const slow = async (m: InboundMessage) => {
        await new Promise((resolve) => setTimeout(resolve, 2));
        await m.ack();
      };
      await first.subscribe({ topic, subscription, concurrency: 4, deliver: record(a, slow) });
      await second.subscribe({ topic, subscription, concurrency: 4, deliver: record(b, slow) });
      const bodies = Array.from({ length: 200 }, (_, i) => `m${i}`);
      for (const body of bodies) await publish(first, topic, body);

      await waitFor(() => a.length + b.length >= bodies.length, { what: "all 200 messages" });
      expect([...a, ...b].map(text).sort()).toEqual([...bodies].sort());
      expect(a.length).toBeGreaterThan(0);
      expect(b.length).toBeGreaterThan(0);
      expect([...a, ...b].every((m) => m.attempt === 1)).toBe(true);
    });

    it("lets another host claim the entries a closed host left pending, once processingTimeout has passed", async () => {
      const leaving = open({ processingTimeout: "60s" });
      const topic = freshName("left");
      const subscription = freshName("left-sub");
      const held: InboundMessage[] = [];
      // Takes the messages and never settles them, as a host that dies mid-handler.
      const active = await leaving.subscribe({ topic, subscription, deliver: async (m) => void held.push(m) });
      for (const n of [1, 2, 3]) await publish(leaving, topic, `held-${n}`);
      await waitFor(() => held.length === 3, { what: "the first host to take all three" });
      await active.close();
      const closedAt = Date.now();

      const claimer = open({ processingTimeout: "1s", redeliverInterval: "100ms" });
      const claimed: InboundMessage[] = [];
      await claimer.subscribe({ topic, subscription, deliver: record(claimed) });
      await waitFor(() => claimed.length === 3, { what: "the claimed entries", timeoutMs: 10_000 });
      expect(Date.now() - closedAt).toBeGreaterThanOrEqual(900);
      expect(claimed.map((m) => m.id).sort()).toEqual(held.map((m) => m.id).sort());
      expect(claimed.map(text).sort()).toEqual(["held-1", "held-2", "held-3"]);
      expect(claimed.every((m) => m.attempt === 2)).toBe(true);
      await waitFor(async () => (await pendingCount(topic, subscription)) === 0, { what: "the acks" });
    });

    it("counts attempts in the group, so a retry left by one host goes on counting at another", async () => {
      const topic = freshName("count");
      const subscription = freshName("count-sub");
      const first = open();
      const seen: Array<{ by: string; attempt: number; id: string }> = [];
      const active = await first.subscribe({
        topic,
        subscription,
        deliver: async (m) => {
          seen.push({ by: "first", attempt: m.attempt, id: m.id });
          await m.retry(300);
        },
      });
      await publish(first, topic, "x");
      await waitFor(() => seen.length === 1, { what: "the first delivery" });
      // Closing mid-delay leaves the entry pending; it turns claimable when its delay is over.
      await active.close();

      const second = open();
      await second.subscribe({
        topic,
        subscription,
        deliver: async (m) => {
          seen.push({ by: "second", attempt: m.attempt, id: m.id });
          await (m.attempt < 4 ? m.retry(20) : m.ack());
        },
      });
      await waitFor(() => seen.length === 4, { what: "four deliveries" });
      expect(seen.map(({ by, attempt }) => `${by}:${attempt}`)).toEqual(["first:1", "second:2", "second:3", "second:4"]);
      expect(new Set(seen.map((s) => s.id)).size).toBe(1);
      await waitFor(async () => (await pendingCount(topic, subscription)) === 0, { what: "the ack" });
    });

    it("delivers a retried entry again after the delay, with the group's delivery count as the attempt", async () => {
      const bus = open();
      const topic = freshName("retry");
      const subscription = freshName("retry-sub");
      const deliveries: Array<{ at: number; attempt: number }> = [];
      await bus.subscribe({
        topic,
        subscription,
        deliver: async (m) => {
          deliveries.push({ at: Date.now(), attempt: m.attempt });
          if (deliveries.length === 1) {
            await m.retry(500);
            const [[, , , count]] = (await redis().xpending(topic, subscription, "-", "+", 1)) as [[string, string, number, number]];
            expect(count).toBe(1);
          } else await m.ack();
        },
      });
      await publish(bus, topic, "later");
      await waitFor(() => deliveries.length === 2, { what: "the redelivery" });
      expect(deliveries.map((d) => d.attempt)).toEqual([1, 2]);
      expect(deliveries[1]!.at - deliveries[0]!.at).toBeGreaterThanOrEqual(480);
    });

    it("keeps reading after its connections are killed, and loses nothing that was published", async () => {
      const bus = open();
      const topic = freshName("killed");
      const subscription = freshName("killed-sub");
      const received: InboundMessage[] = [];
      await bus.subscribe({ topic, subscription, deliver: record(received) });
      await publish(bus, topic, "before");
      await waitFor(() => received.length === 1, { what: "the first message" });

      // Kill this component's connections only (the shared server keeps running for other suites).
      const clients = (await redis().client("LIST")) as string;
      const ours = clients.split("\n").filter((line) => new RegExp(`name=mecha:${bus.name}(:read:|\\s)`).test(line));
      expect(ours.length).toBe(2); // the command connection and the subscription's reader
      for (const line of ours) await redis().client("KILL", "ID", /\bid=(\d+)/.exec(line)![1]!);

      for (const n of [1, 2, 3, 4, 5]) await publish(bus, topic, `after-${n}`);
      await waitFor(() => received.length >= 6, { what: "the messages published after the kill", timeoutMs: 15_000 });
      expect(new Set(received.map(text))).toEqual(new Set(["before", "after-1", "after-2", "after-3", "after-4", "after-5"]));
      await waitFor(async () => (await pendingCount(topic, subscription)) === 0, { what: "every ack" });
    });

    it("creates its consumer group again when the stream is deleted under it, and goes on delivering", async () => {
      const bus = open();
      const topic = freshName("deleted");
      const received: InboundMessage[] = [];
      await bus.subscribe({ topic, subscription: freshName("deleted-sub"), deliver: record(received) });
      await redis().del(topic);
      // The first publish may land before the group is back (the stream is recreated by XADD).
      await waitFor(
        async () => {
          await publish(bus, topic, "after-delete");
          return received.length > 0;
        },
        { intervalMs: 300, what: "a delivery after the stream was deleted" },
      );
      expect(text(received[0]!)).toBe("after-delete");
    });

    it("caps each subscription's deliveries in flight at the concurrency metadata", async () => {
      const bus = open({ concurrency: "1" });
      const topic = freshName("capped");
      let inFlight = 0;
      let most = 0;
      let done = 0;
      await bus.subscribe({
        topic,
        subscription: freshName("capped-sub"),
        concurrency: 8,
        deliver: async (m) => {
          most = Math.max(most, ++inFlight);
          await new Promise((resolve) => setTimeout(resolve, 5));
          inFlight--;
          await m.ack();
          done++;
        },
      });
      for (let i = 0; i < 10; i++) await publish(bus, topic, `m${i}`);
      await waitFor(() => done === 10);
      expect(most).toBe(1);
    });

    it("closes an idle subscription at once, without waiting for its blocking read to run out", async () => {
      const bus = open();
      const active: ActiveSubscription = await bus.subscribe({ topic: freshName("idle"), subscription: freshName("idle-sub"), deliver: async () => {} });
      // Its reader is blocked in XREADGROUP (CLIENT LIST shows the command and the blocked flag).
      await waitFor(
        async () =>
          ((await redis().client("LIST")) as string)
            .split("\n")
            .some((line) => line.includes(` name=mecha:${bus.name}:read:`) && /\bflags=\S*b/.test(line) && line.includes("cmd=xreadgroup")),
        { what: "the subscription's read to block" },
      );
      const started = Date.now();
      await active.close();
      expect(Date.now() - started).toBeLessThan(500);
    });

    it("leaves the group with no trace of a consumer that closed holding nothing", async () => {
      const bus = open();
      const topic = freshName("tidy");
      const subscription = freshName("tidy-sub");
      const received: InboundMessage[] = [];
      const active = await bus.subscribe({ topic, subscription, deliver: record(received) });
      await publish(bus, topic, "one");
      await waitFor(() => received.length === 1);
      await active.close();
      expect(await redis().xinfo("CONSUMERS", topic, subscription)).toEqual([]);
    });

    it("gives a new subscription what its stream still holds (its group starts at 0, as Dapr's does)", async () => {
      const bus = open();
      const topic = freshName("history");
      await publish(bus, topic, "before-anyone-subscribed");
      const received: InboundMessage[] = [];
      await bus.subscribe({ topic, subscription: freshName("late"), deliver: record(received) });
      await waitFor(() => received.length === 1);
      expect(text(received[0]!)).toBe("before-anyone-subscribed");
    });
  });

  describe(`${type} streams`, () => {

    it("trims a stream to about maxLenApprox entries", async () => {
      const bus = open({ maxLenApprox: "10" });
      const topic = freshName("trimmed");
      for (let i = 0; i < 1000; i++) await bus.publish({ topic, data: bytes(`entry ${i}`), contentType: "text/plain" });
      const length = await redis().xlen(topic);
      // "~" trims whole stream nodes (up to 100 entries each), never below the limit.
      expect(length).toBeGreaterThanOrEqual(10);
      expect(length).toBeLessThanOrEqual(110);
    });

    it("trims entries older than streamTTL, also alongside maxLenApprox", async () => {
      const settings: Array<Record<string, string>> = [{ streamTTL: "1s" }, { streamTTL: "1s", maxLenApprox: "100000" }];
      for (const metadata of settings) {
        const bus = open(metadata);
        const topic = freshName("aged");
        for (let i = 0; i < 300; i++) await bus.publish({ topic, data: bytes(`old ${i}`), contentType: "text/plain" });
        await new Promise((resolve) => setTimeout(resolve, 1100));
        await bus.publish({ topic, data: bytes("new"), contentType: "text/plain" });
        const length = await redis().xlen(topic);
        expect(length, JSON.stringify(metadata)).toBeGreaterThanOrEqual(1);
        expect(length, JSON.stringify(metadata)).toBeLessThanOrEqual(101);
      }
    });

    it("writes Dapr's entry fields, and reads an entry a Dapr sidecar wrote", async () => {
      const bus = open();
      const topic = freshName("dapr");
      await bus.publish({ topic, data: bytes('{"id":"1"}'), contentType: "application/cloudevents+json", metadata: { tenant: "acme" } });
      const [[, fields]] = (await redis().xrange(topic, "-", "+")) as [[string, string[]]];
      expect(fields).toEqual(["data", '{"id":"1"}', "metadata", '{"tenant":"acme"}', "contentType", "application/cloudevents+json"]);

      // What Dapr's pubsub.redis writes: data and metadata, no content type.
      await redis().xadd(topic, "*", "data", '{"from":"dapr"}', "metadata", '{"rawPayload":"true"}');
      const received: InboundMessage[] = [];
      await bus.subscribe({ topic, subscription: freshName("dapr-sub"), deliver: async (m) => void (received.push(m), await m.ack()) });
      await waitFor(() => received.length === 2);
      expect(received[1]).toMatchObject({ contentType: undefined, metadata: { rawPayload: "true" } });
      expect(text(received[1]!)).toBe('{"from":"dapr"}');
    });

    it("carries any bytes, topic name and metadata verbatim: NUL, invalid UTF-8, quotes, %, _, unicode, 1 MB", async () => {
      const bus = open();
      const topic = `${freshName("odd")} 'q"uo%te_s' ✓ \u00e9`;
      const big = new Uint8Array(1024 * 1024).map((_, i) => (i * 31) % 256);
      const payloads = [new Uint8Array([0, 0xff, 0xfe, 0, 0x80, 0x41]), bytes("%_*?[]{}\"' é€😀\u0000end"), big];
      const received: InboundMessage[] = [];
      await bus.subscribe({ topic, subscription: `${freshName("odd-sub")} %_"`, deliver: async (m) => void (received.push(m), await m.ack()) });
      const metadata = { "key with spaces": "välue \"quoted\" %_ \u0000" };
      for (const data of payloads) await bus.publish({ topic, data, contentType: "application/octet-stream", metadata });

      await waitFor(() => received.length === payloads.length, { what: "the odd messages" });
      for (const [i, data] of payloads.entries()) {
        expect(Buffer.from(received[i]!.data).equals(Buffer.from(data)), `payload ${i}`).toBe(true);
        expect(received[i]).toMatchObject({ topic, contentType: "application/octet-stream", metadata });
      }
    });
  });

  describe(`${type} errors`, () => {
    const password = "Pa55-w0rd-that-must-never-show-%_\"'";

    it("keeps the password out of a failed publish and a failed subscribe (nothing listening)", async () => {
      const bus = open({ redisHost: "127.0.0.1:1", redisPassword: password, redisMaxRetries: "1" });
      const failures = await Promise.all([
        bus.publish({ topic: "t", data: bytes("x"), contentType: "text/plain" }).then(() => undefined, (error: unknown) => error),
        bus.subscribe({ topic: "t", subscription: "s", deliver: async () => {} }).then(() => undefined, (error: unknown) => error),
      ]);
      for (const error of failures) {
        expect(error).toBeInstanceOf(Error);
        expect(everything(error)).not.toContain(password);
        expect(everything(error)).toMatch(/ECONNREFUSED|reach/);
      }
    });

    it("keeps the password out of a rejected sign-in", async () => {
      const bus = open({ redisUsername: "no-such-user", redisPassword: password, redisMaxRetries: "1" });
      const error = await bus.publish({ topic: freshName("t"), data: bytes("x"), contentType: "text/plain" }).then(() => undefined, (e: unknown) => e);
      expect(error).toBeInstanceOf(Error);
      expect(everything(error)).not.toContain(password);
      expect(everything(error)).toMatch(/WRONGPASS|NOAUTH/);
    });
  });
});

describe(`${type} configuration`, () => {
  const make = (metadata: Record<string, string>) =>
    create({ name: "bus", appId: "app", baseDir: "/", metadata: new ComponentMetadata(metadata, "bus") });

  it("does no I/O when created", () => {
    // Nothing listens on port 1; a component that connected here would fail.
    expect(() => make({ redisHost: "127.0.0.1:1" })).not.toThrow();
  });

  it("declares durable and delayedRetry, and only delayedRetry when reclaiming is turned off", () => {
    expect(make({ redisHost }).features).toEqual(["durable", "delayedRetry"]);
    expect(make({ redisHost, processingTimeout: "0" }).features).toEqual(["delayedRetry"]);
    expect(make({ redisHost, redeliverInterval: "0" }).features).toEqual(["delayedRetry"]);
  });

  it.each([
    [{}, "redisHost"],
    [{ redisHost, processingTimeout: "soon" }, "processingTimeout"],
    [{ redisHost, redeliverInterval: "-5s" }, "redeliverInterval"],
    [{ redisHost, queueDepth: "0" }, "queueDepth"],
    [{ redisHost, concurrency: "many" }, "concurrency"],
    [{ redisHost, maxLenApprox: "-1" }, "maxLenApprox"],
    [{ redisHost, streamTTL: "forever" }, "streamTTL"],
    [{ redisHost, redisDB: "x" }, "redisDB"],
    [{ redisHost, enableTLS: "maybe" }, "enableTLS"],
  ])("rejects bad metadata %j, naming the field", (metadata, field) => {
    const error = configErrorFrom(() => make(metadata));
    expect((error as ComponentConfigError).field).toBe(field);
  });
});

async function pendingCount(stream: string, group: string): Promise<number> {
  const [count] = (await redis().xpending(stream, group)) as [number];
  return count;
}

/** An error's message, string form and causes, all together: where a secret could hide. */
function everything(error: unknown): string {
  const parts: string[] = [];
  for (let e = error as { message?: unknown; cause?: unknown } | undefined, depth = 0; e && depth < 5; e = e.cause as typeof e, depth++) {
    parts.push(String(e), String(e.message), JSON.stringify(e, Object.getOwnPropertyNames(e)));
  }
  return parts.join("\n");
}
