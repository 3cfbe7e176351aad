/**
 * What the broker bench's sides share: the shape of a side (a consumer that drains a topic
 * already filled with messages, acking each), the count of acked messages a drain waits for, the
 * messages themselves, and the mecha side — the same for every broker, since mecha's delivery
 * pipeline is the same for every component.
 */
import type { PubSubComponent } from "../../src/blocks/pubsub.ts";
import { componentCatalog } from "../../src/components/catalog.ts";
import { encodeEnvelope } from "../../src/core/cloudevent.ts";
import { createDeliverer } from "../../src/core/delivery.ts";
import { createConsoleLogger } from "../../src/core/logger.ts";
import { Runtime } from "../../src/core/runtime.ts";
import { continueTrace } from "../../src/core/trace.ts";

/** A topic filled with `count` messages, and the subscription (group, durable consumer) to drain it through. */
export interface DrainTarget {
  topic: string;
  subscription: string;
  count: number;
}

/** One side of the comparison: a consumer of one broker. */
export interface Side {
  label: string;
  /**
   * Subscribes and consumes until `count` messages have been handled and acked (the ack
   * confirmed by the broker, or flushed to it); resolves with the milliseconds from the subscribe
   * call to the last ack. Stops consuming before it resolves.
   */
  drain(target: DrainTarget): Promise<number>;
  close(): Promise<void>;
}

/** A broker with its sides; `sides[0]` is mecha, the others are baselines. */
export interface Broker {
  name: string;
  sides: Side[];
  /** Makes a fresh topic that a drain of `subscription` will read, and publishes `bodies` to it. */
  fill(topic: string, subscription: string, bodies: readonly Uint8Array[]): Promise<void>;
  /** Deletes the topic's stream with its groups or consumers. */
  remove(topic: string): Promise<void>;
  /** Closes what the broker holds besides its sides (which are closed on their own). */
  close(): Promise<void>;
}

/** The handler every side calls with a message's payload: the bench measures what is around it. */
export function noop(_payload: unknown): void {}

/**
 * `count` CloudEvents as mecha's publisher writes them (`encodeEnvelope`: a fresh id and trace
 * each, an order as data), about 420 bytes each. Both sides drain the same bytes.
 */
export async function cloudEventBodies(count: number): Promise<Uint8Array[]> {
  return Promise.all(
    Array.from({ length: count }, (_, n) =>
      encodeEnvelope({ appId: "mecha-bench", pubsub: "bus", topic: "orders", data: { orderId: `order-${n}`, item: "hat", quantity: 1 }, trace: continueTrace() }),
    ),
  );
}

/** Publishes through a mecha component, at most `inFlight` at a time. */
export async function publishAll(component: PubSubComponent, topic: string, bodies: readonly Uint8Array[], inFlight = 256): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < bodies.length) {
      const data = bodies[next++]!;
      await component.publish({ topic, data, contentType: "application/cloudevents+json" });
    }
  };
  await Promise.all(Array.from({ length: inFlight }, worker));
}

/**
 * Counts acked messages: `finished` resolves on the `count`th `tick`, and rejects when no tick
 * came for `stallMs` (a lost message must fail the bench, not hang it).
 */
export function countdown(count: number, what: string, stallMs = 30_000): { tick(): void; fail(error: Error): void; finished: Promise<void> } {
  let left = count;
  let settle: { resolve(): void; reject(error: Error): void };
  const finished = new Promise<void>((resolve, reject) => (settle = { resolve, reject }));
  let seen = left;
  let quietMs = 0;
  const watchdog = setInterval(() => {
    quietMs = seen === left ? quietMs + 1000 : 0;
    seen = left;
    if (quietMs >= stallMs) fail(new Error(`${what}: ${count - left} of ${count} messages acked, then none for ${stallMs / 1000} s`));
  }, 1000);
  watchdog.unref();
  function fail(error: Error) {
    clearInterval(watchdog);
    settle.reject(error);
  }
  return {
    tick() {
      if (--left === 0) {
        clearInterval(watchdog);
        settle.resolve();
      }
    },
    fail,
    finished,
  };
}

/**
 * The mecha side: a Runtime with one pub/sub component `bus`, and per drain a subscription wired
 * exactly as the Node host wires one (`createDeliverer` with the subscription's plan, then the
 * component's `subscribe` with it and the same concurrency), with a no-op handler. A message
 * counts once the pipeline has settled it as acked, which it does after the component's ack has
 * resolved. The logger is the Node host's default one (JSON lines, level info) with warnings and
 * errors shown: a per-message child logger is part of what a host pays.
 */
export async function mechaSide(options: { label: string; type: string; metadata: Record<string, string>; concurrency: number }): Promise<Side & { component: PubSubComponent }> {
  const runtime = new Runtime({
    appId: "mecha-bench",
    components: [{ name: "bus", type: options.type, version: "v1", metadata: Object.entries(options.metadata).map(([name, value]) => ({ name, value })), scopes: [] }],
    catalog: componentCatalog,
    baseDir: process.cwd(),
    logger: createConsoleLogger({ level: "info", write: (level, line) => level !== "info" && console.error(line) }),
  });
  const component = await runtime.pubsub("bus");
  return {
    label: options.label,
    component,
    async drain({ topic, subscription, count }) {
      const acked = countdown(count, `${options.label} on ${topic}`);
      const deliver = createDeliverer(
        runtime,
        { name: subscription, pubsub: "bus", topic, concurrency: options.concurrency, handler: (event) => noop(event.data) },
        (message, settlement) => (settlement === "acked" ? acked.tick() : acked.fail(new Error(`message ${message.id} was ${settlement}, not acked`))),
      );
      const started = performance.now();
      const active = await component.subscribe({ topic, subscription, deliver, concurrency: options.concurrency });
      try {
        await acked.finished;
        return performance.now() - started;
      } finally {
        await active.close();
      }
    },
    close: () => runtime.close(),
  };
}
