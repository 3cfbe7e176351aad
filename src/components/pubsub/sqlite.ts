/**
 * `pubsub.sqlite`: a durable pub/sub in one SQLite file, the embedded default for local runs.
 *
 * Every message is kept for `retention`. A subscription is registered durably the first time it
 * subscribes, and gets the retained messages of its topic; from then on every publish to its
 * topic stores one delivery row for it, in the same transaction as the message, whether a
 * consumer is running or not. Consumers claim due rows with a lease (one atomic UPDATE …
 * RETURNING), so several processes on one file never hold the same row at once; a lease that
 * runs out (the consumer was killed) makes the row due again. Consumers in this process are woken
 * by its own publishes; rows written by other processes (`mecha publish`) are found by polling.
 */
import { mkdirSync } from "node:fs";
import { dirname, resolve } from "node:path";
import type {
  ActiveSubscription,
  InboundMessage,
  PubSubComponent,
  PublishRequest,
  SubscribeRequest,
} from "../../blocks/pubsub.ts";
import { subscriptionConcurrency } from "../../blocks/pubsub.ts";
import type { ComponentOptions } from "../types.ts";
import { openQueueStore, type ClaimedRow, type QueueStore } from "./sqlite-store.ts";

const type = "pubsub.sqlite";
/** Acked rows are swept at most this often (or once per `retention`, when that is shorter). */
const cleanupEveryMs = 60_000;

interface Settings {
  /** An absolute file path, or `:memory:`. */
  file: string;
  pollIntervalMs: number;
  ackDeadlineMs: number;
  retentionMs: number;
  busyTimeoutMs: number;
}

/**
 * Creates a `pubsub.sqlite` component. Validates its metadata and does no I/O: the database is
 * opened (and its tables created) on first use.
 *
 * Metadata: `connectionString` (a file path, relative to the project root, or `:memory:`);
 * `pollInterval` (default `100ms`: how soon an idle consumer sees what other processes publish);
 * `ackDeadline` (default `30s`: an unsettled delivery is redelivered after it — so a handler that
 * runs longer may see its message again meanwhile); `retention` (default `24h`: how long acked
 * deliveries are kept); `busyTimeout` (default `5s`).
 *
 * @example
 * // components/local/bus.yaml
 * // spec: { type: pubsub.sqlite, version: v1, metadata: [{ name: connectionString, value: ".mecha/pubsub.db" }] }
 */
export function create(options: ComponentOptions): PubSubComponent {
  const settings = readSettings(options);
  const consumers = new Set<Consumer>();
  let store: Promise<QueueStore> | undefined;
  let cleanupTimer: ReturnType<typeof setInterval> | undefined;
  let closed = false;

  const open = (): Promise<QueueStore> => {
    if (closed) return Promise.reject(new Error(`${type} component "${options.name}" is closed`));
    store ??= (async () => {
      const { default: Database } = await import("better-sqlite3");
      if (settings.file !== ":memory:") mkdirSync(dirname(settings.file), { recursive: true });
      const db = new Database(settings.file);
      let opened: QueueStore;
      try {
        opened = openQueueStore(db, settings.busyTimeoutMs);
      } catch (error) {
        db.close();
        throw error;
      }
      const sweep = () => {
        try {
          opened.cleanup(Date.now() - settings.retentionMs);
        } catch {
          // Another process holds the file for longer than the busy timeout: sweep next time.
        }
      };
      sweep();
      cleanupTimer = setInterval(sweep, Math.min(cleanupEveryMs, settings.retentionMs));
      cleanupTimer.unref?.();
      return opened;
    })();
    store.catch(() => (store = undefined));
    return store;
  };

  return {
    type,
    features: ["durable", "delayedRetry"] as const,

    async publish(request: PublishRequest) {
      const queue = await open();
      const delivered = queue.publish({ ...request, id: crypto.randomUUID(), now: Date.now() });
      if (!delivered) return;
      for (const consumer of consumers) if (consumer.topic === request.topic) consumer.wakeSoon();
    },

    async subscribe(request: SubscribeRequest): Promise<ActiveSubscription> {
      const concurrency = subscriptionConcurrency(request, type);
      const queue = await open();
      const now = Date.now();
      queue.register(request.topic, request.subscription, now, now - settings.retentionMs);
      const consumer = new Consumer(queue, request, concurrency, settings);
      consumers.add(consumer);
      consumer.wake();
      return { close: () => consumer.close().finally(() => consumers.delete(consumer)) };
    },

    async close() {
      if (closed) return;
      await Promise.all([...consumers].map((c) => c.close()));
      closed = true;
      clearInterval(cleanupTimer);
      const opened = await store?.catch(() => undefined);
      opened?.close();
    },
  };
}

/** One `subscribe` call: claims due rows of its subscription while it has room, and delivers them. */
class Consumer {
  readonly topic: string;
  readonly #queue: QueueStore;
  readonly #request: SubscribeRequest;
  readonly #concurrency: number;
  readonly #settings: Settings;
  /** Unique to this consumer, so that a late settlement never touches a row claimed again since. */
  readonly #claimPrefix = crypto.randomUUID();
  #claims = 0;
  readonly #inFlight = new Set<Promise<void>>();
  /** Rows claimed and not yet settled, in flight or not: handed back on close. */
  readonly #held = new Map<number, string>();
  readonly #timers = new Set<ReturnType<typeof setTimeout>>();
  #pollTimer: ReturnType<typeof setTimeout> | undefined;
  #pumping = false;
  #wakeScheduled = false;
  #closing: Promise<void> | undefined;

  constructor(queue: QueueStore, request: SubscribeRequest, concurrency: number, settings: Settings) {
    this.topic = request.topic;
    this.#queue = queue;
    this.#request = request;
    this.#concurrency = concurrency;
    this.#settings = settings;
  }

  /**
   * Wakes on the next turn of the event loop, once however often it is asked. Not on a microtask:
   * a handler that fails at once with no backoff must not starve timers and I/O.
   */
  wakeSoon(): void {
    if (this.#wakeScheduled || this.#closing) return;
    this.#wakeScheduled = true;
    setImmediate(() => {
      this.#wakeScheduled = false;
      this.wake();
    });
  }

  /** Claims and delivers what is due now, then schedules the next poll. Never runs twice at once. */
  wake(): void {
    if (this.#closing || this.#pumping) return;
    this.#pumping = true;
    if (this.#pollTimer) {
      clearTimeout(this.#pollTimer);
      this.#timers.delete(this.#pollTimer);
    }
    try {
      const room = this.#concurrency - this.#inFlight.size;
      if (room > 0) {
        const claim = `${this.#claimPrefix}:${++this.#claims}`;
        const now = Date.now();
        const rows = this.#queue.claim({
          topic: this.topic,
          subscription: this.#request.subscription,
          limit: room,
          now,
          leaseUntil: now + this.#settings.ackDeadlineMs,
          claim,
        });
        for (const row of rows) this.#dispatch(row, claim);
      }
    } catch {
      // The file is locked beyond the busy timeout or briefly unreadable: the next poll retries.
    } finally {
      this.#pumping = false;
    }
    this.#pollTimer = this.#after(this.#settings.pollIntervalMs);
  }

  /** Stops claiming, waits for in-flight deliveries, and hands back rows that were never settled. */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      for (const timer of this.#timers) clearTimeout(timer);
      await Promise.all(this.#inFlight);
      for (const [seq, claim] of this.#held) {
        try {
          this.#queue.release(seq, claim);
        } catch {
          // Could not write: the lease runs out on its own and the row is redelivered then.
        }
      }
      this.#held.clear();
    })();
    return this.#closing;
  }

  #dispatch(row: ClaimedRow, claim: string): void {
    this.#held.set(row.seq, claim);
    let settled = false;
    // The write comes first: if it throws, the row is still ours to release on close.
    const settle = (what: string, write: () => void) => {
      if (settled) throw new Error(`${type}: message ${row.id} was already settled; cannot ${what} it`);
      write();
      settled = true;
      if (this.#held.get(row.seq) === claim) this.#held.delete(row.seq);
    };
    const message: InboundMessage = {
      id: row.id,
      topic: this.topic,
      data: row.data,
      contentType: row.contentType,
      metadata: row.metadata,
      attempt: row.attempt,
      ack: async () => settle("ack", () => this.#queue.ack(row.seq, claim, Date.now())),
      retry: async (delayMs) => {
        const delay = Math.max(0, delayMs);
        settle("retry", () => this.#queue.retry(row.seq, claim, Date.now() + delay));
        // Our own retries need not wait for a poll; +1 ms because a timer may fire a hair early.
        this.#after(delay + 1);
      },
    };
    // Started on a microtask so that handler code never runs inside `wake`.
    const delivery: Promise<void> = Promise.resolve()
      .then(() => this.#request.deliver(message))
      .catch(() => {
        // `deliver` must not reject; if it does, the row counts as unsettled.
      })
      .finally(() => {
        this.#inFlight.delete(delivery);
        // An unsettled row stays leased until its deadline rather than coming straight back,
        // so a settle that keeps failing cannot become a busy loop.
        this.wakeSoon();
      });
    this.#inFlight.add(delivery);
  }

  /** A wake-up after `ms`, cancelled by close; never keeps the process alive on its own. */
  #after(ms: number): ReturnType<typeof setTimeout> | undefined {
    if (this.#closing) return undefined;
    const timer = setTimeout(() => {
      this.#timers.delete(timer);
      this.wake();
    }, ms);
    timer.unref?.();
    this.#timers.add(timer);
    return timer;
  }
}

function readSettings({ metadata, baseDir }: ComponentOptions): Settings {
  const connection = metadata.requiredString("connectionString");
  // Accept Dapr-style `file:` URIs; their query options (pragmas) are set by this component.
  const path = connection.replace(/^file:/, "").replace(/\?.*$/, "");
  if (!path) throw metadata.error("connectionString", "must be a file path or :memory:");
  const positive = (field: string, fallback: number) => {
    const ms = metadata.durationMs(field, fallback);
    if (ms <= 0) throw metadata.error(field, "must be greater than zero");
    return ms;
  };
  return {
    file: path === ":memory:" ? path : resolve(baseDir, path),
    pollIntervalMs: positive("pollInterval", 100),
    ackDeadlineMs: positive("ackDeadline", 30_000),
    retentionMs: positive("retention", 24 * 3_600_000),
    busyTimeoutMs: metadata.durationMs("busyTimeout", 5_000),
  };
}
