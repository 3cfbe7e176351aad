/**
 * One `subscribe` call of `pubsub.jetstream`: a loop that pulls from the subscription's durable
 * consumer exactly as many messages as it has room for (`fetch` with `max_messages` = free slots),
 * so no message waits in a client-side buffer with its ack timer running. Several loops — in this
 * process or others — may pull from the same durable consumer: JetStream hands each message to one
 * of them.
 *
 * A failed pull (the connection dropped, the consumer was deleted) is followed by a short pause
 * and a fresh `attach()`, which finds or re-creates the consumer on the connection as it is now:
 * consumption resumes by itself after a reconnect.
 */
import type { Consumer, JsMsg } from "@nats-io/jetstream";
import type { InboundMessage, SubscribeRequest } from "../../blocks/pubsub.ts";
import type { Logger } from "../../core/logger.ts";

/** How long one pull request stays open on the server when no message comes. */
const pullExpiresMs = 5_000;
/** How long the loop waits after a failed pull before it attaches again. */
const retryPauseMs = 1_000;
const contentTypeHeader = "Content-Type";

export interface PullLoopOptions {
  request: SubscribeRequest;
  concurrency: number;
  /** The durable consumer as `subscribe` found it. */
  consumer: Consumer;
  /** Finds (or makes) the durable consumer again, after a failed pull. */
  attach(): Promise<Consumer>;
  /** Waits until what was sent on the connection has reached the server. */
  flush(): Promise<void>;
  /** Redacts secrets from an error before it is logged. */
  safeError(error: unknown): Error;
  log: Logger | undefined;
}

export class PullLoop {
  readonly #options: PullLoopOptions;
  readonly #inFlight = new Map<PulledMessage, Promise<void>>();
  readonly #loop: Promise<void>;
  #stopped = false;
  #batch: { stop(): void } | undefined;
  #wake: (() => void) | undefined;
  #closing: Promise<void> | undefined;

  constructor(options: PullLoopOptions) {
    this.#options = options;
    this.#loop = this.#run();
  }

  /** Stops pulling and waits for in-flight deliveries; what they left unsettled stays unacked. */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      this.#stopped = true;
      this.#batch?.stop();
      this.#wakeUp();
      await this.#loop;
      await Promise.all(this.#inFlight.values());
    })();
    return this.#closing;
  }

  async #run(): Promise<void> {
    const { concurrency, log } = this.#options;
    let consumer: Consumer | undefined = this.#options.consumer;
    while (!this.#stopped) {
      const room = concurrency - this.#inFlight.size;
      if (room <= 0) {
        await new Promise<void>((resolve) => (this.#wake = resolve));
        continue;
      }
      try {
        consumer ??= await this.#options.attach();
        if (this.#stopped) break;
        const batch = await consumer.fetch({ max_messages: room, expires: pullExpiresMs });
        this.#batch = batch;
        if (this.#stopped) batch.stop();
        for await (const message of batch) {
          // Pulled after close was asked: give it back at once rather than after ackWait.
          if (this.#stopped) message.nak();
          else this.#dispatch(message);
        }
      } catch (error) {
        if (this.#stopped) break;
        consumer = undefined;
        log?.warn("pulling from JetStream failed; trying again shortly", { error: this.#options.safeError(error) });
        await this.#pause(retryPauseMs);
      } finally {
        this.#batch = undefined;
      }
    }
  }

  #dispatch(raw: JsMsg): void {
    const message = new PulledMessage(raw, this.#options.request.topic, this.#options.flush);
    const delivery = this.#deliver(message);
    this.#inFlight.set(message, delivery);
  }

  async #deliver(message: PulledMessage): Promise<void> {
    await undefined;
    try {
      await this.#options.request.deliver(message);
    } catch {
      // `deliver` must not reject; if it does, the message is unsettled and comes back after ackWait.
    }
    this.#inFlight.delete(message);
    this.#wakeUp();
  }

  #wakeUp(): void {
    const wake = this.#wake;
    this.#wake = undefined;
    wake?.();
  }

  #pause(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      this.#wake = done;
      function done() {
        clearTimeout(timer);
        resolve();
      }
    });
  }
}

/** The content type and the other headers of a message (the `Nats-*` ones are JetStream's own). */
function readHeaders(raw: JsMsg): { contentType: string | undefined; metadata: Record<string, string> } {
  const metadata: Record<string, string> = {};
  let contentType: string | undefined;
  for (const key of raw.headers?.keys() ?? []) {
    const value = raw.headers!.get(key);
    if (key === contentTypeHeader) contentType = value;
    else if (!key.startsWith("Nats-")) metadata[key] = value;
  }
  return { contentType, metadata };
}

/** One pulled message: a class, so a delivery costs one object and no closures. */
class PulledMessage implements InboundMessage {
  readonly id: string;
  readonly data: Uint8Array;
  readonly contentType: string | undefined;
  readonly metadata: Record<string, string>;
  readonly attempt: number;
  #settled = false;
  constructor(
    private readonly raw: JsMsg,
    readonly topic: string,
    private readonly flush: () => Promise<void>,
  ) {
    const { contentType, metadata } = readHeaders(raw);
    this.id = `${raw.info.stream}:${raw.seq}`;
    this.data = raw.data;
    this.contentType = contentType;
    this.metadata = metadata;
    this.attempt = Math.max(1, raw.info.deliveryCount);
  }
  async ack(): Promise<void> {
    this.#check("ack");
    // ackAck waits for the server to confirm: a lost ack would mean a redelivery.
    await this.raw.ackAck();
    this.#settled = true;
  }
  async retry(delayMs: number): Promise<void> {
    this.#check("retry");
    this.raw.nak(Math.max(0, Math.round(delayMs)));
    await this.flush();
    this.#settled = true;
  }
  #check(what: string): void {
    if (this.#settled) throw new Error(`pubsub.jetstream: message ${this.raw.seq} was already settled; cannot ${what} it`);
  }
}
