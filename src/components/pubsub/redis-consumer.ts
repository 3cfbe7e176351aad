/**
 * One subscription of `pubsub.redis` in one host: a consumer of the subscription's consumer group,
 * under a name no other host uses, so that the hosts of a group share its entries.
 *
 * A single loop hands out work, so the subscription's concurrency bounds everything in flight:
 * first the entries whose retry delay is over, then entries reclaimed from the group's pending
 * list (XAUTOCLAIM, idle for processingTimeout: a dead consumer's, or a retried entry no one took
 * back), then new entries (a blocking XREADGROUP on this consumer's own connection). When there is
 * work that cannot wait for the read's BLOCK to run out — a retry falls due, the reclaim timer
 * ticks, close() — the read is cut short with CLIENT UNBLOCK from the command connection, which
 * ends it as if it had timed out: no entry is read and then dropped.
 */
import type { InboundMessage, SubscribeRequest } from "../../blocks/pubsub.ts";
import type { Logger } from "../../core/logger.ts";
import type { RedisConnection } from "../redis-connection.ts";
import { decodeEntry, readEntries, type StreamEntry, type StreamScript } from "./redis-streams.ts";

/** How long a failed read or reclaim waits before the loop tries again. */
const errorPauseMs = 1_000;
/** A consumer with nothing pending that has not read for this long belonged to a host that is gone. */
const staleConsumerMs = 3_600_000;

export interface ConsumerOptions {
  /** The component's shared connection: XACK, the scripts, CLIENT UNBLOCK. */
  commands: RedisConnection;
  /** This consumer's own connection, for the blocking XREADGROUP; the consumer closes it. */
  reader: RedisConnection;
  /** Runs one of the stream scripts on the command connection. */
  script: (name: StreamScript, stream: string, ...args: Array<string | number>) => Promise<unknown>;
  /** Creates the group again when Redis lost it (the stream was deleted; a restart without persistence). */
  ensureGroup: () => Promise<void>;
  request: SubscribeRequest;
  /** The consumer group: the subscription's durable name. */
  group: string;
  /** This host's name in the group. */
  consumer: string;
  concurrency: number;
  /** Most entries one XREADGROUP or XAUTOCLAIM asks for (Dapr's queueDepth). */
  queueDepth: number;
  /** How long an entry stays pending before any consumer may claim it; 0: never. */
  processingTimeoutMs: number;
  /** How often the group's pending list is checked for such entries; 0: never. */
  redeliverIntervalMs: number;
  /** How long one XREADGROUP waits for new entries. */
  blockMs: number;
  log: Logger | undefined;
}

/** An entry this consumer holds: being handled, or waiting out its retry delay. */
interface Held {
  /** The delivery count it is held at; a different count means someone claimed it since. */
  attempt: number;
  phase: "delivering" | "waiting";
  timer?: ReturnType<typeof setTimeout>;
}

export class StreamConsumer {
  readonly #o: ConsumerOptions;
  readonly #stream: string;
  readonly #inFlight = new Map<string, Promise<void>>();
  readonly #held = new Map<string, Held>();
  /** Ids whose retry delay is over, waiting for room. */
  #due: string[] = [];
  #reclaimDue: boolean;
  #reclaimCursor = "0-0";
  readonly #reclaimTimer: ReturnType<typeof setInterval> | undefined;
  #readerId: number | undefined;
  #reading = false;
  #unblocking = false;
  #wakeUp: (() => void) | undefined;
  /** Failed turns in a row: an outage is reported once, not every second. */
  #failures = 0;
  #stopping = false;
  #closing: Promise<void> | undefined;
  readonly #loop: Promise<void>;

  constructor(options: ConsumerOptions) {
    this.#o = options;
    this.#stream = options.request.topic;
    const reclaims = options.processingTimeoutMs > 0 && options.redeliverIntervalMs > 0;
    this.#reclaimDue = reclaims;
    if (reclaims) {
      this.#reclaimTimer = setInterval(() => {
        this.#reclaimDue = true;
        this.#wake(true);
      }, options.redeliverIntervalMs);
    }
    this.#loop = this.#run();
  }

  /**
   * Stops reading, waits for in-flight deliveries, and leaves every unsettled entry pending: an
   * entry waiting out a retry delay turns reclaimable when its delay ends, the others after
   * processingTimeout — another host (or this one, subscribed again) redelivers them.
   */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      this.#stopping = true;
      clearInterval(this.#reclaimTimer);
      this.#wake(true);
      await this.#loop;
      await Promise.all(this.#inFlight.values());
      for (const held of this.#held.values()) clearTimeout(held.timer);
      this.#held.clear();
      this.#due = [];
      try {
        await this.#o.script("mechaStreamLeave", this.#stream, this.#o.group, this.#o.consumer);
      } catch {
        // Only tidiness: an empty consumer left in the group costs nothing.
      }
      await this.#o.reader.close();
    })();
    return this.#closing;
  }

  async #run(): Promise<void> {
    while (!this.#stopping) {
      const room = this.#o.concurrency - this.#inFlight.size;
      if (room <= 0) {
        await new Promise<void>((resolve) => (this.#wakeUp = resolve));
        continue;
      }
      try {
        if (this.#due.length > 0) await this.#takeDue(room);
        else if (this.#reclaimDue) await this.#reclaim(room);
        else await this.#read(room);
        if (this.#failures > 0) this.#o.log?.info("reading from the stream again");
        this.#failures = 0;
      } catch (error) {
        if (this.#stopping) break;
        const { message } = error as Error;
        if (/\bNOGROUP\b/.test(message)) {
          this.#o.log?.warn("the consumer group is gone (the stream was deleted, or Redis lost its data); creating it again");
          if (await this.#o.ensureGroup().then(() => true, () => false)) continue;
        } else if (++this.#failures === 1) {
          this.#o.log?.warn("reading from the stream failed; trying again every second", { error: message });
        }
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, errorPauseMs);
          this.#wakeUp = () => (clearTimeout(timer), resolve());
        });
      }
    }
  }

  async #read(room: number): Promise<void> {
    const { reader, group, consumer, queueDepth, blockMs } = this.#o;
    this.#readerId ??= await reader.use(async (client) => {
      // A new connection (after a CLIENT KILL, a network blip) has a new client id.
      client.once("close", () => (this.#readerId = undefined));
      return Number(await client.client("ID"));
    });
    if (this.#stopping || this.#due.length > 0 || this.#reclaimDue) return;
    this.#reading = true;
    let reply: unknown;
    try {
      const count = Math.min(room, queueDepth);
      reply = await reader.use((client) => client.xreadgroupBuffer("GROUP", group, consumer, "COUNT", count, "BLOCK", blockMs, "STREAMS", this.#stream, ">"));
    } finally {
      this.#reading = false;
    }
    for (const raw of readEntries(reply)) {
      const entry = decodeEntry(raw, 1);
      if (entry) this.#dispatch(entry);
    }
  }

  async #takeDue(room: number): Promise<void> {
    const batch = this.#due.splice(0, room);
    const taken = await Promise.allSettled(
      batch.map(async (id) => {
        const held = this.#held.get(id);
        if (held?.phase !== "waiting") return;
        const reply = await this.#o.script("mechaStreamTake", this.#stream, this.#o.group, this.#o.consumer, id, held.attempt);
        // Nil: acked, trimmed, or claimed by another consumer since; nothing to deliver here.
        const [raw, count] = Array.isArray(reply) ? (reply as [unknown, number]) : [];
        const entry = raw === undefined ? undefined : decodeEntry(raw, Number(count));
        this.#held.delete(id);
        if (entry) this.#dispatch(entry);
      }),
    );
    const failed = taken.findIndex((t) => t.status === "rejected");
    if (failed >= 0) {
      // Still pending with this consumer: try those again (or the reclaim takes them).
      this.#due.push(...batch.filter((id, i) => taken[i]!.status === "rejected" && this.#held.get(id)?.phase === "waiting"));
      throw (taken[failed] as PromiseRejectedResult).reason;
    }
  }

  async #reclaim(room: number): Promise<void> {
    const { group, consumer, processingTimeoutMs, queueDepth } = this.#o;
    const reply = (await this.#o.script(
      "mechaStreamReclaim",
      this.#stream,
      group,
      consumer,
      processingTimeoutMs,
      this.#reclaimCursor,
      Math.min(room, queueDepth),
      Math.max(staleConsumerMs, processingTimeoutMs),
    )) as [Buffer, unknown[], number[]];
    const [next, entries, counts] = reply;
    this.#reclaimCursor = next.toString();
    // The scan goes on (before new entries are read) until it has been round the pending list.
    this.#reclaimDue = this.#reclaimCursor !== "0-0";
    entries.forEach((raw, i) => {
      const entry = decodeEntry(raw, Number(counts[i]));
      if (!entry) return;
      const held = this.#held.get(entry.id);
      if (held?.phase === "delivering") {
        // Our own handler has run past processingTimeout; it settles the entry. Not run twice here.
        held.attempt = entry.attempt;
        return;
      }
      if (held) {
        clearTimeout(held.timer);
        this.#due = this.#due.filter((id) => id !== entry.id);
      }
      this.#dispatch(entry);
    });
  }

  #dispatch(entry: StreamEntry): void {
    const held: Held = { attempt: entry.attempt, phase: "delivering" };
    this.#held.set(entry.id, held);
    const message = new StreamMessage(this, this.#stream, entry, held);
    const delivery = this.#deliver(message, held);
    this.#inFlight.set(entry.id, delivery);
  }

  async #deliver(message: StreamMessage, held: Held): Promise<void> {
    await undefined;
    try {
      await this.#o.request.deliver(message);
    } catch {
      // `deliver` must not reject; if it does, the entry stays pending and is reclaimed later.
    }
    this.#inFlight.delete(message.id);
    if (held.phase === "delivering" && this.#held.get(message.id) === held) this.#held.delete(message.id);
    this.#wake(false);
  }

  /** @internal XACK of one entry. */
  async ackEntry(id: string): Promise<void> {
    await this.#o.commands.use((client) => client.xack(this.#stream, this.#o.group, id));
  }

  /** @internal */
  retryEntry(id: string, held: Held, delayMs: number): Promise<void> {
    return this.#retryLater(id, held, delayMs);
  }

  /** Keeps the entry pending with this consumer and takes it back when the delay is over. */
  async #retryLater(id: string, held: Held, delayMs: number): Promise<void> {
    const { group, consumer, processingTimeoutMs } = this.#o;
    const delay = Math.max(0, Math.round(delayMs));
    const idle = processingTimeoutMs > 0 ? Math.max(0, processingTimeoutMs - delay) : -1;
    const kept = await this.#o.script("mechaStreamHold", this.#stream, group, consumer, id, held.attempt, idle);
    if (kept === null) return; // another consumer claimed it meanwhile: it is theirs to deliver
    held.phase = "waiting";
    // +2 ms: a timer may fire a hair early, and Redis measures the idle time from its own clock.
    held.timer = setTimeout(() => {
      if (this.#stopping) return;
      this.#due.push(id);
      this.#wake(true);
    }, delay + 2);
  }

  /** Wakes a loop waiting for room or pausing; with `unblock`, cuts a blocked read short too. */
  #wake(unblock: boolean): void {
    const wakeUp = this.#wakeUp;
    this.#wakeUp = undefined;
    wakeUp?.();
    if (unblock && this.#reading) void this.#unblock();
  }

  /**
   * CLIENT UNBLOCK on the reader's connection, from the command connection. The read may not have
   * reached Redis yet (it answers 0 then), so it is asked again until the read returns — at worst
   * the read runs out its BLOCK.
   */
  async #unblock(): Promise<void> {
    if (this.#unblocking) return;
    this.#unblocking = true;
    const deadline = Date.now() + this.#o.blockMs;
    try {
      while (this.#reading && this.#readerId !== undefined && Date.now() < deadline) {
        const readerId = this.#readerId;
        if (Number(await this.#o.commands.use((client) => client.client("UNBLOCK", readerId))) === 1) break;
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
    } catch {
      // The command connection is down too: the read ends with its BLOCK.
    } finally {
      this.#unblocking = false;
    }
  }
}

/** One delivery of an entry: a class, so a message costs one object and no closures. */
class StreamMessage implements InboundMessage {
  readonly id: string;
  readonly data: Uint8Array;
  readonly contentType: string | undefined;
  readonly metadata: Readonly<Record<string, string>>;
  readonly attempt: number;
  #settled = false;
  constructor(
    private readonly consumer: StreamConsumer,
    readonly topic: string,
    entry: StreamEntry,
    private readonly held: Held,
  ) {
    this.id = entry.id;
    this.data = entry.data;
    this.contentType = entry.contentType;
    this.metadata = entry.metadata;
    this.attempt = entry.attempt;
  }
  async ack(): Promise<void> {
    this.#check("ack");
    await this.consumer.ackEntry(this.id);
    this.#settled = true;
  }
  async retry(delayMs: number): Promise<void> {
    this.#check("retry");
    await this.consumer.retryEntry(this.id, this.held, delayMs);
    this.#settled = true;
  }
  #check(what: string): void {
    if (this.#settled) throw new Error(`pubsub.redis: message ${this.id} was already settled; cannot ${what} it`);
  }
}
