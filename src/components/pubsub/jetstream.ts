/**
 * `pubsub.jetstream`: NATS JetStream with Dapr's metadata. A topic is a NATS subject; a
 * subscription is a durable pull consumer named after it, filtered on the topic, with explicit
 * acks — so each subscription keeps its own delivery state, and every host of one subscription
 * pulls from the same consumer and shares its messages.
 *
 * Streams: with `streamName`, every topic goes to that stream (created with the topic's subject
 * if absent; a topic it does not capture is added to its subjects). Without it, a topic goes to
 * the stream that already captures its subject, or to one this component creates for it (named
 * after the topic, interest retention: a message is kept until every subscription that existed
 * when it was published has acked it).
 *
 * A message is the published bytes with its content type in the `Content-Type` header and the
 * publish metadata in further headers. `attempt` is JetStream's delivery count; `retry(delayMs)`
 * is a NAK with that delay; a delivery left unsettled (a crash, a close) comes back after
 * `ackWait`. The client (`@nats-io/transport-node`, `@nats-io/jetstream`) is loaded on first use
 * and reconnects by itself; pulling resumes after a reconnect.
 */
import type { Consumer, ConsumerConfig, JetStreamClient, JetStreamManager } from "@nats-io/jetstream";
import type { NatsConnection } from "@nats-io/transport-node";
import {
  subscriptionConcurrency,
  type ActiveSubscription,
  type PubSubComponent,
  type PublishRequest,
  type SubscribeRequest,
} from "../../blocks/pubsub.ts";
import { ComponentConfigError, ErrorCodes, InvalidRequestError, MechaError } from "../../errors.ts";
import type { ComponentOptions } from "../types.ts";
import { PullLoop } from "./jetstream-consumer.ts";
import {
  isPublishableSubject,
  jetstreamName,
  readSettings,
  safeNatsError,
  subjectCaptures,
  type,
  type Settings,
} from "./jetstream-settings.ts";

export { jetstreamName } from "./jetstream-settings.ts";

const contentTypeHeader = "Content-Type";
const clientPackages = ["@nats-io/transport-node", "@nats-io/jetstream"] as const;
/** How long `close()` waits for the client to flush what it still holds. */
const drainTimeoutMs = 2_000;
/** JetStream's error codes this component reacts to. */
const apiErrors = { streamNameInUse: 10058, consumerExists: 10148 } as const;

interface Connection {
  nc: NatsConnection;
  js: JetStreamClient;
  jsm: JetStreamManager;
  client: typeof import("@nats-io/transport-node");
}

/**
 * Creates a `pubsub.jetstream` component. Reads Dapr's metadata — `natsURL` (required; may carry
 * `user:password@` or `token@`), `token`, `jwt` + `seedKey`, `tls_client_cert` + `tls_client_key`
 * (PEM or file paths), `name`, `streamName`, `ackWait` (default `30s`), `maxDeliver`, `backOff`,
 * `maxAckPending`, `replicas`, `memoryStorage`, `deliverPolicy` with `startSequence`/`startTime`,
 * `ackPolicy` (`explicit` only), `domain`, `apiPrefix` — and does no I/O: it connects on first use.
 * See docs/components/pubsub.jetstream.md for the fields accepted and ignored.
 *
 * @example
 * // spec: { type: pubsub.jetstream, version: v1, metadata: [{ name: natsURL, value: "nats://localhost:4222" }] }
 */
export function create(options: ComponentOptions): PubSubComponent {
  const settings = readSettings(options);
  const { name: component } = options;
  const log = options.logger?.child({ component });
  const safeError = (error: unknown) => safeNatsError(error, settings.secrets);
  const streams = new Map<string, Promise<string>>();
  const loops = new Set<PullLoop>();
  let connection: Promise<Connection> | undefined;
  let streamChanges: Promise<unknown> = Promise.resolve();
  let closed = false;

  /** The open connection; a new one if there is none yet, or the last one failed or closed for good. */
  const connect = async (): Promise<Connection> => {
    if (closed) throw new Error(`${type} component "${component}" is closed`);
    const pending = connection;
    if (pending) {
      const current = await pending.catch(() => undefined);
      if (current && !current.nc.isClosed()) return current;
      if (connection !== pending) return connect();
    }
    const next = open(settings, log);
    connection = next;
    next.catch(() => {
      if (connection === next) connection = undefined;
    });
    return next;
  };

  /** The stream that holds `topic`: found, created or widened once per topic, then cached. */
  const streamFor = (topic: string): Promise<string> => {
    let stream = streams.get(topic);
    if (!stream) {
      // One stream change at a time: two topics widening one stream must not undo each other.
      stream = streamChanges.then(async () => ensureStream((await connect()).jsm, settings, topic, component));
      streamChanges = stream.catch(() => undefined);
      stream.catch(() => streams.delete(topic));
      streams.set(topic, stream);
    }
    return stream;
  };

  const checkTopic = (topic: string) => {
    if (!isPublishableSubject(topic)) {
      throw new InvalidRequestError(
        `${type}: topic "${topic}" is not a NATS subject one can publish to (dot-separated tokens, no spaces, no "*" or ">" token)`,
        { component },
      );
    }
  };

  return {
    type,
    features: ["durable", "delayedRetry"] as const,

    async publish(request: PublishRequest) {
      checkTopic(request.topic);
      const failed = (cause: Error) =>
        new MechaError(ErrorCodes.publish, `${type}: could not publish to topic "${request.topic}": ${cause.message}`, { component, cause });
      try {
        const { js, client } = await connect();
        const headers = client.headers();
        for (const [key, value] of Object.entries(request.metadata ?? {})) if (key !== contentTypeHeader) headers.set(key, value);
        headers.set(contentTypeHeader, request.contentType);
        await streamFor(request.topic);
        try {
          await js.publish(request.topic, request.data, { headers });
        } catch (error) {
          // No stream answered: it was deleted since it was cached. Find or create it once more.
          if ((error as Error).name !== "JetStreamNotEnabled") throw error;
          streams.delete(request.topic);
          await streamFor(request.topic);
          await js.publish(request.topic, request.data, { headers });
        }
      } catch (error) {
        if (error instanceof MechaError) throw error;
        throw failed(safeError(error));
      }
    },

    async subscribe(request: SubscribeRequest): Promise<ActiveSubscription> {
      const concurrency = subscriptionConcurrency(request, type);
      checkTopic(request.topic);
      const durable = jetstreamName(request.subscription);
      const attach = async (): Promise<Consumer> => {
        const { js, jsm } = await connect();
        const stream = await streamFor(request.topic);
        try {
          await ensureConsumer(jsm, stream, { ...settings.consumer, durable_name: durable, filter_subject: request.topic });
          return await js.consumers.get(stream, durable);
        } catch (error) {
          // The stream was deleted since it was cached: the next attach finds or creates it again.
          if ((error as Error).name === "StreamNotFoundError") streams.delete(request.topic);
          throw error;
        }
      };
      let consumer: Consumer;
      try {
        // The first attach happens here, so a subscription that cannot work fails its subscribe call.
        consumer = await attach();
      } catch (error) {
        if (error instanceof MechaError) throw error;
        const cause = safeError(error);
        throw new Error(`${type}: could not subscribe "${request.subscription}" to topic "${request.topic}": ${cause.message}`, { cause });
      }
      const loop = new PullLoop({
        request,
        concurrency,
        consumer,
        attach,
        flush: async () => (await connect()).nc.flush(),
        safeError,
        log: log?.child({ subscription: request.subscription, topic: request.topic }),
      });
      loops.add(loop);
      return { close: () => loop.close().finally(() => loops.delete(loop)) };
    },

    async close() {
      if (closed) return;
      await Promise.all([...loops].map((loop) => loop.close()));
      closed = true;
      const opened = await connection?.catch(() => undefined);
      if (opened) await shutDown(opened.nc);
    },
  };
}

/** Connects and opens the JetStream contexts; logs the connection's ups and downs. */
async function open(settings: Settings, log: ComponentOptions["logger"]): Promise<Connection> {
  const [client, { jetstream, jetstreamManager }] = await Promise.all([import("@nats-io/transport-node"), import("@nats-io/jetstream")]).catch(
    (error: unknown) => {
      throw new Error(`could not load the NATS client; install it with "npm install ${clientPackages.join(" ")}"`, { cause: error });
    },
  );
  const authenticator = settings.jwt
    ? client.jwtAuthenticator(settings.jwt.jwt, new TextEncoder().encode(settings.jwt.seed))
    : undefined;
  const nc = await client.connect({ ...settings.connection, noAsyncTraces: true, servers: settings.servers, ...(authenticator ? { authenticator } : {}) });
  try {
    const jsm = await jetstreamManager(nc, settings.jetstream);
    void (async () => {
      for await (const status of nc.status()) {
        if (status.type === "disconnect") log?.warn("lost the NATS connection; reconnecting", { server: status.server });
        else if (status.type === "reconnect") log?.info("reconnected to NATS", { server: status.server });
      }
    })().catch(() => undefined);
    return { nc, js: jetstream(nc, settings.jetstream), jsm, client };
  } catch (error) {
    await nc.close().catch(() => undefined);
    throw error;
  }
}

/**
 * Closes a connection, first flushing the acks and NAKs still in the client's buffer — but a
 * server that is gone cannot answer the flush, so that wait is bounded.
 */
async function shutDown(nc: NatsConnection): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<void>((resolve) => (timer = setTimeout(resolve, drainTimeoutMs)));
  await Promise.race([nc.drain().catch(() => undefined), deadline]);
  clearTimeout(timer);
  if (!nc.isClosed()) await nc.close().catch(() => undefined);
}

/** The name of the stream that captures `topic`, creating or widening one as the header comment says. */
async function ensureStream(jsm: JetStreamManager, settings: Settings, topic: string, component: string): Promise<string> {
  const description = `created by mecha ${type}`;
  if (settings.streamName) {
    const name = settings.streamName;
    const info = await jsm.streams.info(name).catch((error: unknown) => {
      if ((error as Error).name === "StreamNotFoundError") return undefined;
      throw error;
    });
    if (!info) {
      await createStream(jsm, { name, subjects: [topic], description }, component);
      return name;
    }
    const subjects = info.config.subjects ?? [];
    if (!subjects.some((subject) => subjectCaptures(subject, topic))) await jsm.streams.update(name, { subjects: [...subjects, topic] });
    return name;
  }
  try {
    return await jsm.streams.find(topic);
  } catch (error) {
    if ((error as Error).name !== "StreamNotFoundError") throw error;
  }
  const name = jetstreamName(topic);
  await createStream(jsm, { name, subjects: [topic], description: `${description} for topic "${topic}"` }, component);
  return name;
}

async function createStream(jsm: JetStreamManager, config: { name: string; subjects: string[]; description: string }, component: string): Promise<void> {
  try {
    await jsm.streams.add({ ...config, retention: "interest", storage: "file", discard: "old" });
  } catch (error) {
    if ((error as { code?: unknown }).code !== apiErrors.streamNameInUse) throw error;
    // Another host created it a moment ago — or an unrelated stream has the name.
    const info = await jsm.streams.info(config.name);
    const [topic] = config.subjects;
    if (!(info.config.subjects ?? []).some((subject) => subjectCaptures(subject, topic!))) {
      throw new ComponentConfigError(
        `stream "${config.name}" exists and does not capture topic "${topic}": add the subject to it, or set streamName to a stream that does`,
        { component, field: "streamName" },
      );
    }
  }
}

/** Creates the durable consumer, or brings an existing one in line with the metadata. */
async function ensureConsumer(jsm: JetStreamManager, stream: string, config: ConsumerConfig): Promise<void> {
  try {
    await jsm.consumers.add(stream, config);
  } catch (error) {
    // Servers from 2.10 refuse to re-create a consumer with other settings: update what can change.
    if ((error as { code?: unknown }).code !== apiErrors.consumerExists) throw error;
    const { ack_wait, max_deliver, backoff, max_ack_pending, filter_subject } = config;
    await jsm.consumers.update(stream, config.durable_name!, { ack_wait, max_deliver, backoff, max_ack_pending, filter_subject });
  }
}
