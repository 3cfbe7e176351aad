/**
 * `pubsub.redis`: Dapr's Redis Streams pub/sub. A topic is a stream (its key is the topic name, as
 * in Dapr); a publish is an XADD, trimmed with `MAXLEN ~ maxLenApprox` and/or `MINID ~` (now −
 * `streamTTL`) when those are set. A subscription is a consumer group named after the
 * subscription's durable name, created at `0` with MKSTREAM when the subscription is made — so a
 * subscription misses nothing published once `subscribe()` has returned (and a new one also gets
 * what its stream still holds, as Dapr's does).
 *
 * Each host reads its subscription under a consumer name of its own (`consumerID` plus a random
 * suffix), so several hosts share a group's entries. An entry is acked (XACK) when the core acks
 * it; `retry(delay)` leaves it pending and takes it back after the delay; an entry a host left
 * pending (it crashed, it closed mid-retry) is claimed by another consumer once it has been idle
 * for `processingTimeout`, checked every `redeliverInterval`. The attempt is the entry's delivery
 * count in the group, so it is right whichever host delivers. See redis-consumer.ts for the loop.
 */
import { randomUUID } from "node:crypto";
import {
  subscriptionConcurrency,
  type ActiveSubscription,
  type PubSubComponent,
  type PublishRequest,
  type SubscribeRequest,
} from "../../blocks/pubsub.ts";
import { parseDurationMs, type ComponentMetadata } from "../../config/metadata.ts";
import { ErrorCodes, MechaError } from "../../errors.ts";
import { connectRedis, redisOptions, type RedisConnection, type RedisFailure } from "../redis-connection.ts";
import type { ComponentOptions } from "../types.ts";
import { StreamConsumer } from "./redis-consumer.ts";
import { entryFields, runScript, streamScripts } from "./redis-streams.ts";

const type = "pubsub.redis";
/** How long one XREADGROUP blocks. close() and due retries cut it short (CLIENT UNBLOCK). */
const blockMs = 2_000;

interface Settings {
  consumerID: string;
  processingTimeoutMs: number;
  redeliverIntervalMs: number;
  queueDepth: number;
  /** 0: each subscription's own concurrency. */
  concurrencyLimit: number;
  /** 0: no length trimming. */
  maxLenApprox: number;
  /** 0: no age trimming. */
  streamTtlMs: number;
  /** The connection's readTimeout: a blocking read waits BLOCK plus this before it gives up. */
  readTimeoutMs: number;
}

/**
 * Creates a `pubsub.redis` component. Validates its metadata and does no I/O: ioredis is loaded
 * and the connection made on first use.
 *
 * Metadata: the connection fields of every Redis component (`redisHost`, `redisPassword`,
 * `redisUsername`, `redisDB`, `enableTLS`, … — see redis-connection.ts), and `consumerID` (this
 * host's consumer name prefix; default the app id), `processingTimeout` (default `60s`; `0` turns
 * reclaiming off), `redeliverInterval` (default `15s`; `0` turns reclaiming off), `queueDepth`
 * (most entries one read or claim asks for, default 100), `concurrency` (a cap on each
 * subscription's deliveries in flight), `maxLenApprox` and `streamTTL` (stream trimming).
 *
 * @example
 * // spec: { type: pubsub.redis, version: v1, metadata: [{ name: redisHost, value: "localhost:6379" }] }
 */
export function create(options: ComponentOptions): PubSubComponent {
  const { name: component, metadata } = options;
  const settings = readSettings(metadata, options.appId);
  const log = options.logger?.child({ component });
  const commands = connectRedis(metadata, component, { logger: log, scripts: streamScripts });
  const consumers = new Set<StreamConsumer>();
  let closed = false;

  const closedError = () => new Error(`${type} component "${component}" is closed`);
  const script = (name: Parameters<typeof runScript>[1], stream: string, ...args: Array<string | number>) =>
    commands.use((client) => runScript(client, name, stream, ...args));

  const ensureGroup = async (stream: string, group: string): Promise<void> => {
    try {
      await commands.use((client) => client.xgroup("CREATE", stream, group, "0", "MKSTREAM"));
    } catch (error) {
      if ((error as RedisFailure).code !== "BUSYGROUP") throw error;
    }
  };

  return {
    type,
    features: settings.processingTimeoutMs > 0 && settings.redeliverIntervalMs > 0 ? ["durable", "delayedRetry"] : ["delayedRetry"],

    async publish(request: PublishRequest) {
      if (closed) throw new MechaError(ErrorCodes.publish, `${type}: could not publish to topic "${request.topic}": ${closedError().message}`, { component });
      try {
        await commands.use(async (client) => {
          const add = ["XADD", request.topic, ...trimArgs(settings), "*", ...entryFields(request)] as const;
          if (settings.maxLenApprox > 0 && settings.streamTtlMs > 0) {
            // One XADD takes one trim strategy; the age limit is applied by an XTRIM in the same transaction.
            const results = await client.multi().call(...add).call("XTRIM", request.topic, ...minIdArgs(settings)).exec();
            const failed = results?.find(([error]) => error)?.[0];
            if (failed) throw failed;
          } else {
            await client.call(...add);
          }
        });
      } catch (error) {
        throw new MechaError(ErrorCodes.publish, `${type}: could not publish to topic "${request.topic}": ${(error as Error).message}`, {
          component,
          cause: error,
        });
      }
    },

    async subscribe(request: SubscribeRequest): Promise<ActiveSubscription> {
      if (closed) throw closedError();
      let concurrency = subscriptionConcurrency(request, type);
      if (settings.concurrencyLimit > 0) concurrency = Math.min(concurrency, settings.concurrencyLimit);
      const { topic: stream, subscription: group } = request;
      try {
        await ensureGroup(stream, group);
      } catch (error) {
        throw Object.assign(new Error(`${type}: could not subscribe "${group}" to topic "${stream}": ${(error as Error).message}`, { cause: error }), {
          code: (error as RedisFailure).code,
        });
      }
      const consumer = `${settings.consumerID}-${randomUUID().slice(0, 8)}`;
      const reader = readerConnection(metadata, component, consumer, settings);
      const active = new StreamConsumer({
        commands,
        reader,
        script,
        ensureGroup: () => ensureGroup(stream, group),
        request,
        group,
        consumer,
        concurrency,
        queueDepth: settings.queueDepth,
        processingTimeoutMs: settings.processingTimeoutMs,
        redeliverIntervalMs: settings.redeliverIntervalMs,
        blockMs,
        log: log?.child({ subscription: group, topic: stream, consumer }),
      });
      consumers.add(active);
      return { close: () => active.close().finally(() => consumers.delete(active)) };
    },

    async close() {
      if (closed) return;
      closed = true;
      await Promise.all([...consumers].map((c) => c.close()));
      await commands.close();
    },
  };
}

/**
 * A consumer's own connection for its blocking reads, named `mecha:<component>:read:<consumer>`
 * (CLIENT SETNAME). A read waits through reconnects rather than failing (close() ends it), a read
 * cut off by a lost connection is sent again on the new one (a read is safe to repeat: entries a
 * lost reply carried stay pending and are reclaimed), and a silent connection is given up after
 * BLOCK plus readTimeout.
 */
function readerConnection(metadata: ComponentMetadata, component: string, consumer: string, settings: Settings): RedisConnection {
  return connectRedis(metadata, `${component}:read:${consumer}`, {
    overrides: { commandTimeout: blockMs + settings.readTimeoutMs, maxRetriesPerRequest: null, autoResendUnfulfilledCommands: true },
  });
}

/** XADD's trim arguments: `MAXLEN ~ n` when maxLenApprox is set, else `MINID ~ id` when streamTTL is. */
function trimArgs(settings: Settings): Array<string | number> {
  if (settings.maxLenApprox > 0) return ["MAXLEN", "~", settings.maxLenApprox];
  return settings.streamTtlMs > 0 ? minIdArgs(settings) : [];
}

/** `MINID ~ <ms>-0`: entries older than streamTTL (by this host's clock, as in Dapr) go. */
function minIdArgs(settings: Settings): Array<string | number> {
  return ["MINID", "~", `${Math.max(0, Date.now() - settings.streamTtlMs)}-0`];
}

function readSettings(metadata: ComponentMetadata, appId: string): Settings {
  const { readTimeoutMs } = redisOptions(metadata);
  return {
    consumerID: metadata.string("consumerID", appId),
    processingTimeoutMs: metadata.durationMs("processingTimeout", 60_000),
    redeliverIntervalMs: metadata.durationMs("redeliverInterval", 15_000),
    queueDepth: metadata.integer("queueDepth", 100, { min: 1 }),
    concurrencyLimit: metadata.integer("concurrency", 0, { min: 0 }),
    maxLenApprox: metadata.integer("maxLenApprox", 0, { min: 0 }),
    streamTtlMs: streamTtl(metadata),
    readTimeoutMs,
  };
}

/** `streamTTL`: a duration; Dapr's examples also write whole days (`30d`), which are accepted. */
function streamTtl(metadata: ComponentMetadata): number {
  const raw = metadata.string("streamTTL")?.trim();
  if (raw === undefined) return 0;
  const days = /^(\d+)d$/.exec(raw);
  const ms = days ? Number(days[1]) * 86_400_000 : parseDurationMs(raw);
  if (ms === undefined) throw metadata.error("streamTTL", `must be a duration like "1h", "24h" or "30d", got "${raw}"`);
  return ms;
}
