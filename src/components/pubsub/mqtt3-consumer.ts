/**
 * One `pubsub.mqtt3` subscription: its own MQTT connection, with a client id derived from the
 * subscription's name and (by default) a persistent session, so the broker keeps what is
 * published while the host is away.
 *
 * At-least-once with respect to the handler: MQTT.js sends a message's PUBACK only when
 * `handleMessage`'s callback is called, and this consumer calls it only once the pipeline has
 * acked the message. Until then the broker counts the message as in flight and sends it again on
 * the next connection of the session (with DUP set) — after a crash, a close or a lost
 * connection. MQTT.js handles a connection's packets one at a time, so a held callback also holds
 * the next message back: a subscription handles one message at a time, in order.
 *
 * `retry(delayMs)` (MQTT has no nak) waits `delayMs` with the PUBACK still withheld and delivers
 * again from memory, counting attempts per message. A crash or close during the wait loses only
 * the wait and the count: the broker sends the message again, counted from 2 when DUP is set.
 */
import { createHash, randomUUID } from "node:crypto";
import type { MqttClient } from "mqtt";
import type { ActiveSubscription, InboundMessage, SubscribeRequest } from "../../blocks/pubsub.ts";
import type { Logger } from "../../core/logger.ts";
import { brokerWaitMs, connectClient, safeMqttError, componentType, type BrokerSettings } from "./mqtt3-client.ts";

type PublishPacket = Parameters<MqttClient["handleMessage"]>[0];

/** How soon a delivery the pipeline left unsettled (it could not ack) is delivered again. */
const unsettledRedeliveryMs = 1_000;

/** How one delivery ended: acked, to be delivered again after a wait, or never settled. */
type Settlement = { kind: "ack" } | { kind: "retry"; delayMs: number } | { kind: "unsettled" };
/** What to tell the broker: PUBACK now, or nothing (the broker sends the message again later). */
type Outcome = "ack" | "keep";

export interface ConsumerOptions {
  request: SubscribeRequest;
  settings: BrokerSettings;
  clientId: string;
  /** The QoS to subscribe with: 1 for at-least-once, 0 for at-most-once. */
  qos: 0 | 1;
  /** MQTT's clean session: true forgets the subscription and its messages when the host leaves. */
  clean: boolean;
  log: Logger | undefined;
}

/** Connects, subscribes, and returns the running subscription. */
export async function startConsumer(options: ConsumerOptions): Promise<ActiveSubscription> {
  const consumer = new Consumer(options);
  await consumer.start();
  return { close: () => consumer.close() };
}

class Consumer {
  readonly #options: ConsumerOptions;
  readonly #log: Logger | undefined;
  readonly #abort = new AbortController();
  /** Deliveries whose `deliver` call has not returned: `close` waits for them. */
  readonly #inFlight = new Set<Promise<void>>();
  /** Messages from the broker not yet answered or given up on: `close` waits for them too. */
  readonly #receiving = new Set<Promise<void>>();
  /** Attempts so far per message, until it is acked. */
  readonly #attempts = new Map<string, number>();
  /** A message still with its handler, by key: a resend after a reconnect waits for it. */
  readonly #running = new Map<string, Promise<Outcome>>();
  /** Messages acked after the connection they came on was lost: their resend is acked unseen. */
  readonly #ackOnResend = new Set<string>();
  #client: MqttClient | undefined;
  /** Counts connections: a PUBACK only goes back on the connection its message came on. */
  #connection = 0;
  /** The connection whose packet pump a delivery is holding, if any. */
  #holding: number | undefined;
  #pinger: ReturnType<typeof setInterval> | undefined;
  #started: (() => void) | undefined;
  #closing: Promise<void> | undefined;

  constructor(options: ConsumerOptions) {
    this.#options = options;
    this.#log = options.log?.child({ subscription: options.request.subscription, topic: options.request.topic, clientId: options.clientId });
  }

  async start(): Promise<void> {
    const { settings, request } = this.#options;
    try {
      await this.#subscribe();
    } catch (error) {
      await this.close();
      const reason = safeMqttError(error, settings).message;
      throw new Error(`${componentType}: could not subscribe to topic "${request.topic}" at ${settings.address}: ${reason}`);
    }
  }

  async #subscribe(): Promise<void> {
    const { settings, clientId, clean, qos, request } = this.#options;
    const firstDelivery = new Promise<void>((resolve) => (this.#started = resolve));
    const client = await connectClient(settings, {
      clientId,
      clean,
      prepare: (c) => {
        c.handleMessage = (packet, callback) => this.#track(this.#receive(packet, () => callback()));
        c.on("close", () => this.#connection++);
        // Until the first connection is up, a failure is `subscribe`'s error, not a log line.
        c.on("error", (error) => {
          if (this.#client) this.#log?.warn("MQTT connection error; reconnecting", { error: safeMqttError(error, settings) });
        });
        c.on("connect", (connack) => {
          if (this.#client) this.#log?.info("MQTT connection re-established", { sessionPresent: connack.sessionPresent });
        });
      },
    });
    this.#client = client;
    this.#pinger = setInterval(() => this.#keepAlive(), (settings.keepAliveSeconds * 1000) / 2);
    this.#pinger.unref?.();
    const subscribed = new Promise<void>((resolve, reject) => {
      client.subscribe(request.topic, { qos }, (error, granted) => {
        const refused = granted?.some((g) => (g.qos as number) === 0x80);
        if (error || refused) reject(error ?? new Error("the broker refused the subscription (may this client read the topic?)"));
        else resolve();
      });
    });
    let started = false;
    subscribed.catch((error: unknown) => {
      if (started) this.#log?.error("the broker refused the subscription", { error: safeMqttError(error, settings) });
    });
    // A resumed session delivers what it kept before the SUBACK, and MQTT.js reads the SUBACK
    // only after those messages are handled: a first delivery shows the session is live.
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`the broker did not answer SUBSCRIBE within ${brokerWaitMs} ms`)), brokerWaitMs);
    });
    try {
      await Promise.race([subscribed, firstDelivery, timeout]);
      started = true;
    } finally {
      clearTimeout(timer);
    }
  }

  /** Stops taking messages, waits for deliveries in flight, then disconnects without unsubscribing. */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      this.#abort.abort();
      clearInterval(this.#pinger);
      await Promise.all(this.#inFlight);
      await Promise.all(this.#receiving);
      // No UNSUBSCRIBE: the broker keeps the session and queues for it until the host is back.
      const client = this.#client;
      if (client) await new Promise<void>((resolve) => client.end(false, () => resolve()));
    })();
    return this.#closing;
  }

  #track(work: Promise<void>): void {
    this.#receiving.add(work);
    void work.finally(() => this.#receiving.delete(work));
  }

  /**
   * One PUBLISH from the broker. `release` lets MQTT.js send the PUBACK and read the next packet;
   * it is never called for a message that must come again (close, lost connection).
   */
  async #receive(packet: PublishPacket, release: () => void): Promise<void> {
    const connection = this.#connection;
    const { topic } = this.#options.request;
    if (packet.topic !== topic) {
      // The session still subscribes to a topic an earlier run of this subscription used.
      this.#log?.warn(`dropping a message on topic "${packet.topic}": this subscription is for "${topic}"; unsubscribing it`);
      release();
      this.#client?.unsubscribe(packet.topic);
      return;
    }
    this.#holding = connection;
    this.#started?.();
    try {
      const key = messageKey(packet);
      if ((await this.#handle(packet, key, connection)) === "ack" && connection === this.#connection) release();
    } finally {
      if (this.#holding === connection) this.#holding = undefined;
    }
  }

  async #handle(packet: PublishPacket, key: string, connection: number): Promise<Outcome> {
    const earlier = this.#running.get(key);
    if (earlier) await earlier;
    if (this.#ackOnResend.delete(key)) return "ack";
    const run = this.#deliverUntilAcked(packet, key, connection);
    this.#running.set(key, run);
    try {
      return await run;
    } finally {
      if (this.#running.get(key) === run) this.#running.delete(key);
    }
  }

  async #deliverUntilAcked(packet: PublishPacket, key: string, connection: number): Promise<Outcome> {
    const data = new Uint8Array(packet.payload as Buffer);
    for (;;) {
      if (this.#abort.signal.aborted || connection !== this.#connection) return "keep";
      const attempt = (this.#attempts.get(key) ?? (packet.dup ? 1 : 0)) + 1;
      this.#attempts.set(key, attempt);
      const settlement = await this.#deliverOnce(packet, key, data, attempt);
      if (settlement.kind === "ack") {
        this.#attempts.delete(key);
        if (connection === this.#connection) return "ack";
        // The connection is gone, and with a persistent session the broker sends the message
        // again: acknowledge that copy without running the handler a second time. Decided here,
        // before a resend waiting on this run goes on.
        if (!this.#options.clean) this.#ackOnResend.add(key);
        return "keep";
      }
      if (settlement.kind === "unsettled") {
        this.#log?.warn(`message ${key} was not settled; delivering it again in ${unsettledRedeliveryMs} ms`, { attempt });
      }
      await pause(settlement.kind === "retry" ? settlement.delayMs : unsettledRedeliveryMs, this.#abort.signal);
    }
  }

  /** One call of `deliver`, and how the pipeline settled it. */
  async #deliverOnce(packet: PublishPacket, key: string, data: Uint8Array, attempt: number): Promise<Settlement> {
    let state: "open" | "settled" | "abandoned" = "open";
    let settled!: (settlement: Settlement) => void;
    const settlement = new Promise<Settlement>((resolve) => (settled = resolve));
    const settle = async (what: string, outcome: Settlement): Promise<void> => {
      if (state !== "open") throw new Error(`${componentType}: message ${key} was already ${state}; cannot ${what} it`);
      state = "settled";
      settled(outcome);
    };
    const message: InboundMessage = {
      id: key,
      topic: packet.topic,
      data,
      contentType: sniffContentType(data),
      metadata: { retained: String(packet.retain) },
      attempt,
      ack: () => settle("ack", { kind: "ack" }),
      retry: (delayMs) => settle("retry", { kind: "retry", delayMs: Math.max(0, delayMs) }),
    };
    const delivery = Promise.resolve()
      .then(() => this.#options.request.deliver(message))
      .catch(() => {
        // `deliver` must not reject; if it does, the message counts as unsettled.
      });
    this.#inFlight.add(delivery);
    void delivery.finally(() => this.#inFlight.delete(delivery));
    return Promise.race([
      settlement,
      delivery.then(() => {
        if (state !== "open") return settlement;
        state = "abandoned";
        return { kind: "unsettled" } as const;
      }),
    ]);
  }

  /**
   * While a delivery holds the packet pump, MQTT.js cannot read the broker's PINGRESP and would
   * drop a healthy connection after 1.5 × keepAlive. Ping for it and reset its timer instead.
   */
  #keepAlive(): void {
    const client = this.#client;
    if (!client?.connected || this.#holding !== this.#connection) return;
    client.sendPing();
    client.reschedulePing(true);
  }
}

/**
 * A message's id: its packet id and a hash of its bytes. Stable across the broker's resends (same
 * packet id, same bytes), and distinct from a later message that reuses the packet id. QoS 0
 * messages have no packet id and are never resent: each gets a random id.
 */
function messageKey(packet: PublishPacket): string {
  const payload = packet.payload as Buffer;
  if (packet.messageId === undefined) return randomUUID();
  return `${packet.messageId}-${createHash("sha256").update(payload).digest("base64url").slice(0, 16)}`;
}

/**
 * MQTT 3 carries no content type. A payload that is a JSON object with `specversion` is a
 * CloudEvent; anything else is left unnamed and read as JSON when it parses.
 */
function sniffContentType(data: Uint8Array): string | undefined {
  let i = 0;
  while (i < data.length && (data[i] === 0x20 || data[i] === 0x0a || data[i] === 0x0d || data[i] === 0x09)) i++;
  if (data[i] !== 0x7b /* { */) return undefined;
  try {
    const parsed: unknown = JSON.parse(new TextDecoder().decode(data));
    return typeof (parsed as { specversion?: unknown }).specversion === "string" ? "application/cloudevents+json" : undefined;
  } catch {
    return undefined;
  }
}

function pause(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener("abort", done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener("abort", done);
  });
}
