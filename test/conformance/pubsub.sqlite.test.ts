import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import type { InboundMessage, PubSubComponent } from "../../src/blocks/pubsub.ts";
import { create } from "../../src/components/pubsub/sqlite.ts";
import { ComponentMetadata } from "../../src/config/metadata.ts";
import { ComponentConfigError } from "../../src/errors.ts";
import { freshName, waitFor } from "../support/wait.ts";
import { describePubSubConformance } from "./pubsub-suite.ts";
import { configErrorFrom } from "../support/config-error.ts";

function sqlite(baseDir: string, metadata: Record<string, string> = {}): PubSubComponent {
  return create({
    name: "bus",
    appId: "conformance-app",
    baseDir,
    metadata: new ComponentMetadata({ connectionString: "pubsub.db", ...metadata }, "bus"),
  });
}

function tempDir(): string {
  return mkdtempSync(join(tmpdir(), "mecha-pubsub-sqlite-"));
}

describePubSubConformance("pubsub.sqlite", () => {
  const dir = tempDir();
  return { component: sqlite(dir), cleanup: () => rmSync(dir, { recursive: true, force: true }) };
});

/** Several component instances on one file behave like several processes sharing it. */
describe("pubsub.sqlite shared by several processes", () => {
  const cleanups: Array<() => unknown> = [];
  const open = (dir: string, metadata: Record<string, string> = {}) => {
    const component = sqlite(dir, metadata);
    cleanups.push(() => component.close());
    return component;
  };
  const bytes = (text: string) => new TextEncoder().encode(text);
  const text = (message: InboundMessage) => new TextDecoder().decode(message.data);
  const publish = (component: PubSubComponent, topic: string, body: string) =>
    component.publish({ topic, data: bytes(body), contentType: "text/plain" });

  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  it("shares one subscription between competing consumers, never handing a message to both at once", async () => {
    const dir = tempDir();
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    const [first, second, cli] = [open(dir, { pollInterval: "20ms" }), open(dir, { pollInterval: "20ms" }), open(dir)];
    const topic = freshName("work");
    const subscription = freshName("workers");
    const handled = new Map<string, Array<{ by: string; attempt: number }>>();
    const consume = (component: PubSubComponent, by: string) =>
      component.subscribe({
        topic,
        subscription,
        concurrency: 4,
        deliver: async (message) => {
          handled.set(text(message), [...(handled.get(text(message)) ?? []), { by, attempt: message.attempt }]);
          await new Promise((resolve) => setImmediate(resolve));
          await message.ack();
        },
      });
    await consume(first, "first");
    await consume(second, "second");
    const bodies = Array.from({ length: 200 }, (_, i) => `m${i}`);
    for (const body of bodies) await publish(cli, topic, body);

    await waitFor(() => bodies.every((body) => handled.has(body)), { what: "all 200 messages" });
    // The ack deadline (30 s) cannot have passed, so nothing was due for redelivery: a message
    // handled twice here was handed to both consumers at once.
    const twice = [...handled].filter(([, deliveries]) => deliveries.length > 1).map(([body]) => body);
    expect(twice).toEqual([]);
    expect(new Set([...handled.values()].map(([delivery]) => delivery!.by))).toEqual(new Set(["first", "second"]));
  });

  it("redelivers the messages of a consumer that died without settling once their ack deadline passes", async () => {
    const dir = tempDir();
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    const crashed = open(dir, { ackDeadline: "300ms" });
    const survivor = open(dir, { ackDeadline: "300ms", pollInterval: "20ms" });
    const topic = freshName("crash");
    const subscription = freshName("crash-sub");
    // The "killed" process: it holds every message it claimed and never settles one. Its
    // concurrency is full, so it claims nothing more, as a dead process would.
    let unhang!: () => void;
    const hang = new Promise<void>((resolve) => (unhang = resolve));
    cleanups.push(() => unhang());
    const claimed: Array<{ id: string; at: number }> = [];
    await crashed.subscribe({
      topic,
      subscription,
      concurrency: 5,
      deliver: (message) => {
        claimed.push({ id: message.id, at: Date.now() });
        return hang;
      },
    });
    for (let i = 0; i < 5; i++) await publish(crashed, topic, `m${i}`);
    await waitFor(() => claimed.length === 5, { what: "the doomed consumer to claim everything" });

    const recovered: Array<{ id: string; attempt: number; at: number }> = [];
    await survivor.subscribe({
      topic,
      subscription,
      deliver: async (message) => {
        recovered.push({ id: message.id, attempt: message.attempt, at: Date.now() });
        await message.ack();
      },
    });

    await waitFor(() => recovered.length === 5, { what: "the redeliveries" });
    expect(new Set(recovered.map((r) => r.id))).toEqual(new Set(claimed.map((c) => c.id)));
    expect(recovered.every((r) => r.attempt === 2)).toBe(true);
    // Not before the lease the dead consumer took ran out.
    expect(Math.min(...recovered.map((r) => r.at)) - Math.min(...claimed.map((c) => c.at))).toBeGreaterThanOrEqual(290);
  });

  it("delivers a message published by another process, found by polling", async () => {
    const dir = tempDir();
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    const host = open(dir, { pollInterval: "50ms" });
    const cli = open(dir);
    const topic = freshName("from-cli");
    const received: string[] = [];
    await host.subscribe({
      topic,
      subscription: freshName("host"),
      deliver: async (message) => {
        received.push(text(message));
        await message.ack();
      },
    });

    await publish(cli, topic, "hello from mecha publish");
    await waitFor(() => received.includes("hello from mecha publish"), { what: "the polled message" });
  });

  it("keeps a message published while the host is down and delivers it when the host is back", async () => {
    const dir = tempDir();
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    const topic = freshName("restart");
    const subscription = freshName("restart-sub");
    const before = sqlite(dir);
    await (await before.subscribe({ topic, subscription, deliver: (m) => m.ack() })).close();
    await before.close();

    await publish(open(dir), topic, "while down");
    const received: string[] = [];
    await open(dir).subscribe({
      topic,
      subscription,
      deliver: async (message) => {
        received.push(text(message));
        await message.ack();
      },
    });
    await waitFor(() => received.includes("while down"), { what: "the kept message" });
  });
});

describe("pubsub.sqlite retention", () => {
  const cleanups: Array<() => unknown> = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });
  const open = (dir: string, metadata: Record<string, string> = {}) => {
    const component = sqlite(dir, metadata);
    cleanups.push(() => component.close());
    return component;
  };
  const text = (message: InboundMessage) => new TextDecoder().decode(message.data);
  const publish = (component: PubSubComponent, topic: string, body: string) =>
    component.publish({ topic, data: new TextEncoder().encode(body), contentType: "text/plain" });

  const collect = async (component: PubSubComponent, topic: string, subscription: string) => {
    const received: string[] = [];
    await component.subscribe({
      topic,
      subscription,
      deliver: async (message) => {
        received.push(text(message));
        await message.ack();
      },
    });
    return received;
  };

  it("keeps messages published before any subscription exists and gives them to the first one", async () => {
    const dir = tempDir();
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    const bus = open(dir);
    const topic = freshName("dead-letters");
    // As the pipeline does when it dead-letters into a topic nobody reads yet.
    await publish(bus, topic, "poison 1");
    await publish(bus, topic, "poison 2");

    const received = await collect(bus, topic, freshName("inspector"));
    await waitFor(() => received.length === 2, { what: "both retained messages" });
    expect(received.sort()).toEqual(["poison 1", "poison 2"]);
  });

  it("does not give a new subscription the messages older than the retention", async () => {
    const dir = tempDir();
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    const topic = freshName("old");
    await publish(open(dir, { retention: "1ms" }), topic, "too old");
    const start = Date.now();
    await waitFor(() => Date.now() - start >= 5, { intervalMs: 1 });
    const bus = open(dir, { retention: "1ms" });
    const received = await collect(bus, topic, freshName("late"));
    await publish(bus, topic, "fresh");
    await waitFor(() => received.includes("fresh"), { what: "the fresh message" });
    expect(received).toEqual(["fresh"]);
  });
});

describe("pubsub.sqlite configuration", () => {
  it("opens its file, relative to baseDir, on first use and not when created", async () => {
    const dir = tempDir();
    try {
      const component = sqlite(dir, { connectionString: "nested/bus.db" });
      expect(existsSync(join(dir, "nested"))).toBe(false);
      await component.publish({ topic: "t", data: new Uint8Array(), contentType: "text/plain" });
      expect(existsSync(join(dir, "nested", "bus.db"))).toBe(true);
      await component.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it.each([
    [{ connectionString: "" }, "connectionString"],
    [{ pollInterval: "soon" }, "pollInterval"],
    [{ ackDeadline: "0ms" }, "ackDeadline"],
  ])("rejects bad metadata %j, naming the field", (metadata, field) => {
    const error = configErrorFrom(() => sqlite(tmpdir(), metadata));
    expect((error as ComponentConfigError).field).toBe(field);
  });
});
