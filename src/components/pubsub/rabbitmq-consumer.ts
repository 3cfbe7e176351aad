/**
 * One `subscribe` of `pubsub.rabbitmq`: a consumer on the subscription's queue, on a channel of
 * its own, with manual acks and at most `concurrency` deliveries in flight.
 *
 * Retries. `retry(delayMs)` publishes a copy of the message — with the publisher confirm awaited —
 * and only then acks the original, so a crash in between means a duplicate, never a loss. The
 * copy carries the next attempt number in the `x-mecha-attempt` header and goes to a delay queue
 * of the subscription's queue, `<queue>.retry-<ms>ms`, whose messages all expire after the same
 * `x-message-ttl` and are dead-lettered straight back to the subscription's queue (not through
 * the topic's exchange, so no other subscription sees them again). One queue per delay keeps the
 * broker's expiry exact: RabbitMQ expires messages only at the head of a queue, so mixed delays
 * in one queue would hold short ones behind long ones. Delays are rounded up to one of four steps
 * per doubling (at most 25 % longer); delay queues delete themselves a minute after their last use.
 *
 * Attempts. The attempt is the header's number (1 when absent) plus the redeliveries the broker
 * counted: a quorum queue's `x-delivery-count` (or `x-acquired-count` on RabbitMQ 4), else 1 when
 * the message is marked `redelivered` — a classic queue cannot tell one redelivery from several.
 *
 * Reconnection. When the channel closes under it (a lost connection, a deleted queue), the
 * consumer waits `reconnectWait` and attaches again, as often as it takes; the broker has put
 * back every message the lost channel held unacked, and delivers them again.
 */
import { createHash } from "node:crypto";
import type { ConfirmChannel, ConsumeMessage, Options } from "amqplib";
import type { InboundMessage, SubscribeRequest } from "../../blocks/pubsub.ts";
import type { Logger } from "../../core/logger.ts";
import { type } from "./rabbitmq-settings.ts";

/** The header that carries a retried copy's attempt number. */
export const attemptHeader = "x-mecha-attempt";

/** Headers set by the broker or by this component: not part of a message's metadata. */
const internalHeader = /^x-(death|delivery-count|acquired-count|first-death-.*|last-death-.*|mecha-.*)$/;

/** How long a delay queue lives after it was last declared, beyond its delay. */
const delayQueueIdleMs = 60_000;
/** A delay queue is declared again (restarting its expiry) when its last declaration is older. */
const redeclareAfterMs = delayQueueIdleMs / 2;
/** The shortest wait between attempts to attach again, whatever `reconnectWait` says: no busy loop against a broker that is down. */
const minReattachWaitMs = 100;
/** The longest retry delay (7 days); longer ones are cut to it. */
const maxDelayMs = 7 * 24 * 3_600_000;

export interface ConsumerOptions {
  request: SubscribeRequest;
  queue: string;
  concurrency: number;
  /** Opens a confirm channel with the subscription's exchange, queue and binding declared and its prefetch set. */
  open(): Promise<ConfirmChannel>;
  reconnectWaitMs: number;
  /** Whether retried copies are written to disk (deliveryMode 2). */
  persistent: boolean;
  safeError(error: unknown): Error;
  log: Logger | undefined;
}

export class Consumer {
  readonly #options: ConsumerOptions;
  readonly #inFlight = new Set<Promise<void>>();
  /** Deliveries received while `concurrency` were in flight (the prefetch can exceed it after a reconnect). */
  #waiting: Array<{ channel: ConfirmChannel; raw: ConsumeMessage }> = [];
  /** When each delay queue (by its delay) was last declared. */
  readonly #delayQueues = new Map<number, number>();
  #channel: ConfirmChannel | undefined;
  #consumerTag: string | undefined;
  #attaching: Promise<void> | undefined;
  #reattachTimer: NodeJS.Timeout | undefined;
  /** Set once the first attach worked: from then on, a lost channel is replaced. */
  #live = false;
  #closing: Promise<void> | undefined;

  constructor(options: ConsumerOptions) {
    this.#options = options;
  }

  /** Attaches for the first time; a subscription that cannot work fails here, in its subscribe call. */
  async start(): Promise<void> {
    await this.#attach();
    this.#live = true;
  }

  /**
   * Stops taking messages (the consumer is cancelled), waits for the deliveries in flight to be
   * handled, then closes the channel: whatever is still unacked goes back to the queue.
   */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      clearTimeout(this.#reattachTimer);
      await this.#attaching?.catch(() => {});
      const channel = this.#channel;
      this.#waiting = [];
      if (channel && this.#consumerTag) await channel.cancel(this.#consumerTag).catch(() => {});
      await Promise.all(this.#inFlight);
      this.#channel = undefined;
      await channel?.close().catch(() => {});
    })();
    return this.#closing;
  }

  #attach(): Promise<void> {
    this.#attaching = (async () => {
      const channel = await this.#options.open();
      if (this.#closing) {
        await channel.close().catch(() => {});
        return;
      }
      channel.once("close", () => this.#lost(channel));
      this.#channel = channel;
      try {
        const { consumerTag } = await channel.consume(this.#options.queue, (raw) =>
          raw ? this.#receive(channel, raw) : this.#cancelledByBroker(channel),
        );
        this.#consumerTag = consumerTag;
      } catch (error) {
        this.#channel = undefined;
        await channel.close().catch(() => {});
        throw error;
      }
    })().finally(() => (this.#attaching = undefined));
    return this.#attaching;
  }

  #lost(channel: ConfirmChannel): void {
    if (channel !== this.#channel) return;
    this.#channel = undefined;
    this.#consumerTag = undefined;
    // The broker requeues what the lost channel held; deliveries not started yet start nowhere.
    this.#waiting = [];
    if (!this.#live || this.#closing) return;
    this.#options.log?.warn(`lost its channel to RabbitMQ; subscribing again in ${Math.max(minReattachWaitMs, this.#options.reconnectWaitMs)} ms`);
    this.#scheduleReattach();
  }

  /** The broker cancelled the consumer (its queue was deleted): start over on a new channel. */
  #cancelledByBroker(channel: ConfirmChannel): void {
    void channel.close().catch(() => {});
  }

  #scheduleReattach(): void {
    if (this.#closing || this.#reattachTimer || this.#attaching) return;
    const waitMs = Math.max(minReattachWaitMs, this.#options.reconnectWaitMs);
    this.#reattachTimer = setTimeout(() => {
      this.#reattachTimer = undefined;
      this.#attach().then(
        () => this.#options.log?.info("consuming again after a lost channel"),
        (error: unknown) => {
          this.#options.log?.warn(`could not subscribe again; trying again in ${waitMs} ms`, {
            error: this.#options.safeError(error),
          });
          this.#scheduleReattach();
        },
      );
    }, waitMs);
  }

  #receive(channel: ConfirmChannel, raw: ConsumeMessage): void {
    // Not acked: the message goes back to the queue when the channel closes.
    if (this.#closing || channel !== this.#channel) return;
    if (this.#inFlight.size < this.#options.concurrency) this.#run(channel, raw);
    else this.#waiting.push({ channel, raw });
  }

  #run(channel: ConfirmChannel, raw: ConsumeMessage): void {
    const message = this.#message(channel, raw);
    const delivery: Promise<void> = Promise.resolve()
      .then(() => this.#options.request.deliver(message))
      .catch(() => {
        // `deliver` must not reject; if it does, the message is unsettled and comes back later.
      })
      .finally(() => {
        this.#inFlight.delete(delivery);
        this.#next();
      });
    this.#inFlight.add(delivery);
  }

  #next(): void {
    while (!this.#closing && this.#inFlight.size < this.#options.concurrency && this.#waiting.length) {
      const { channel, raw } = this.#waiting.shift()!;
      if (channel === this.#channel) this.#run(channel, raw);
    }
  }

  #message(channel: ConfirmChannel, raw: ConsumeMessage): InboundMessage {
    const id = messageIdOf(raw);
    const attempt = attemptOf(raw);
    let settled = false;
    const settle = async (what: string, action: () => void | Promise<void>) => {
      if (settled) throw new Error(`${type}: message ${id} was already settled; cannot ${what} it`);
      await action();
      settled = true;
    };
    return {
      id,
      topic: this.#options.request.topic,
      data: new Uint8Array(raw.content),
      contentType: typeof raw.properties.contentType === "string" ? raw.properties.contentType : undefined,
      metadata: metadataOf(raw),
      attempt,
      ack: () => settle("ack", () => channel.ack(raw)),
      retry: (delayMs) => settle("retry", () => this.#retry(channel, raw, attempt + 1, delayMs)),
    };
  }

  /** A copy with the next attempt goes to the delay queue (confirmed); then the original is acked. */
  async #retry(channel: ConfirmChannel, raw: ConsumeMessage, attempt: number, delayMs: number): Promise<void> {
    const level = delayLevelMs(delayMs);
    const target = level === 0 ? this.#options.queue : await this.#delayQueue(channel, level);
    await publishConfirmed(channel, "", target, raw.content, retryProperties(raw, attempt, this.#options.persistent));
    channel.ack(raw);
  }

  async #delayQueue(channel: ConfirmChannel, level: number): Promise<string> {
    const { queue } = this.#options;
    const name = delayQueueName(queue, level);
    const declaredAt = this.#delayQueues.get(level);
    const now = Date.now();
    if (declaredAt === undefined || now - declaredAt > redeclareAfterMs) {
      await channel.assertQueue(name, {
        durable: true,
        arguments: {
          "x-message-ttl": level,
          "x-dead-letter-exchange": "",
          "x-dead-letter-routing-key": queue,
          // Longer than a message can wait in it after any declaration within redeclareAfterMs.
          "x-expires": level + delayQueueIdleMs,
        },
      });
      this.#delayQueues.set(level, now);
    }
    return name;
  }
}

/** Publishes and resolves once the broker confirms it has the message (rejects on a nack or a closed channel). */
export function publishConfirmed(channel: ConfirmChannel, exchange: string, routingKey: string, content: Buffer, options: Options.Publish): Promise<void> {
  return new Promise((resolve, reject) => {
    try {
      channel.publish(exchange, routingKey, content, options, (error: unknown) => (error ? reject(error) : resolve()));
    } catch (error) {
      reject(error);
    }
  });
}

/**
 * The delay a retry really waits: 0 stays 0 (straight back to the queue); anything else is
 * rounded up to m·2^e with m in 4..7 — four steps per doubling, at most 25 % longer — so a few
 * delay queues serve every backoff. Capped at 7 days.
 *
 * @example delayLevelMs(300) // 320
 */
export function delayLevelMs(delayMs: number): number {
  const ms = Math.min(maxDelayMs, Math.ceil(delayMs));
  if (!(ms >= 1)) return 0;
  const step = 2 ** Math.max(0, Math.floor(Math.log2(ms)) - 2);
  return Math.ceil(ms / step) * step;
}

/** The delay queue of a subscription's queue for one (rounded) delay. */
export const delayQueueName = (queue: string, levelMs: number) => `${queue}.retry-${levelMs}ms`;

/** The attempt a delivery is: the copy's own number plus the redeliveries the broker counted. */
export function attemptOf(raw: ConsumeMessage): number {
  const headers = raw.properties.headers ?? {};
  const count = (value: unknown) => {
    const n = Number(value);
    return Number.isInteger(n) && n >= 0 ? n : 0;
  };
  const base = Math.max(1, count(headers[attemptHeader]));
  const counted = Math.max(count(headers["x-delivery-count"]), count(headers["x-acquired-count"]));
  return base + Math.max(counted, raw.fields.redelivered ? 1 : 0);
}

/** The message's id, as published; for a message published without one, a hash of its body (stable across redeliveries). */
function messageIdOf(raw: ConsumeMessage): string {
  const id: unknown = raw.properties.messageId;
  return typeof id === "string" && id ? id : createHash("sha256").update(raw.content).digest("hex").slice(0, 32);
}

/** The metadata a publish carried as headers: string, number and boolean values, none of the internal ones. */
function metadataOf(raw: ConsumeMessage): Record<string, string> {
  const metadata: Record<string, string> = {};
  for (const [key, value] of Object.entries(raw.properties.headers ?? {})) {
    if (internalHeader.test(key)) continue;
    if (typeof value === "string") metadata[key] = value;
    else if (typeof value === "number" || typeof value === "boolean" || typeof value === "bigint") metadata[key] = String(value);
    else if (Buffer.isBuffer(value)) metadata[key] = value.toString("utf8");
  }
  return metadata;
}

/** A retried copy's properties: the original's, without its expiration and the broker's headers, with the next attempt. */
function retryProperties(raw: ConsumeMessage, attempt: number, persistent: boolean): Options.Publish {
  const { headers = {}, contentType, contentEncoding, correlationId, timestamp, type: messageType, appId, priority, replyTo } = raw.properties;
  const kept = Object.fromEntries(Object.entries(headers).filter(([key]) => !internalHeader.test(key)));
  return {
    contentType,
    contentEncoding,
    correlationId,
    timestamp,
    type: messageType,
    appId,
    priority,
    replyTo,
    messageId: messageIdOf(raw),
    deliveryMode: persistent ? 2 : 1,
    headers: { ...kept, [attemptHeader]: attempt },
  };
}
