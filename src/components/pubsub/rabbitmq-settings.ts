/**
 * `pubsub.rabbitmq` metadata: Dapr's fields read and checked once, turned into amqplib's connect
 * options and the queue settings; the names of the exchanges and queues; and amqplib errors
 * reduced to what is safe to show — no password, connection string or client key in a message.
 */
import { createHash } from "node:crypto";
import type { Options, SocketOptions } from "amqplib";
import { parseDurationMs, type ComponentMetadata } from "../../config/metadata.ts";
import type { ComponentOptions } from "../types.ts";

export const type = "pubsub.rabbitmq";

export const exchangeKinds = ["fanout", "topic", "direct", "headers"] as const;
export type ExchangeKind = (typeof exchangeKinds)[number];
export type QueueType = "classic" | "quorum";

/** How long the component waits to connect before it gives up (amqplib has no limit of its own). */
const connectTimeoutMs = 10_000;

export interface QueueSettings {
  durable: boolean;
  /** Dapr's `deletedWhenUnused`: the queue goes when its last consumer does. */
  autoDelete: boolean;
  type: QueueType;
  /** 0: no limit. */
  maxLen: number;
  maxLenBytes: number;
  /** Dapr's `enableDeadLetter`: a `dlx-<queue>` exchange and `dlq-<queue>` queue take what the queue drops. */
  deadLetter: boolean;
}

export interface Settings {
  /** amqplib's connect options, credentials included: never logged. */
  connect: Options.Connect;
  /** TLS material, the connection name, the SASL EXTERNAL mechanism, the connect timeout. */
  socket: SocketOptions;
  /** Where the broker is, for messages: `amqp://host:port/vhost`, without credentials. */
  where: string;
  queue: QueueSettings;
  exchangeKind: ExchangeKind;
  /** Dapr's `deliveryMode` 2: messages are written to disk. */
  persistent: boolean;
  /** Dapr's `ttlInSeconds`: each published message's expiration unless the publish says otherwise. */
  defaultTtlMs: number | undefined;
  /** Dapr's `prefetchCount`; 0 leaves each subscription's concurrency as the limit. */
  prefetchCount: number;
  /** Dapr's `concurrencyMode: single`: one delivery at a time per subscription. */
  single: boolean;
  reconnectWaitMs: number;
  /** Values that must never appear in an error message or a log line. */
  secrets: string[];
}

/**
 * Reads and checks Dapr's `pubsub.rabbitmq` metadata. Throws a ComponentConfigError naming the
 * field for anything wrong: a connection string that is not an AMQP URL (never echoed: it may
 * carry a password), a connection string beside the separate fields, an unknown exchange kind,
 * a number or duration that is not one, TLS material without TLS, settings that would lose
 * messages (`autoAck: true`) or that a quorum queue cannot have.
 */
export function readSettings({ metadata, appId }: ComponentOptions): Settings {
  const { connect, secrets } = readConnection(metadata);
  // `heartBeat`, else the connection string's `heartbeat` (seconds), else Dapr's 10 s.
  const heartbeatMs = daprDurationMs(metadata, "heartBeat", (connect.heartbeat ?? 10) * 1000);
  const { protocol = "amqp", hostname = "localhost", port = protocol === "amqps" ? 5671 : 5672, vhost } = connect;
  const socket: SocketOptions = {
    timeout: connectTimeoutMs,
    clientProperties: { connection_name: metadata.string("clientName", `mecha ${appId} - ${type}`) },
    ...readTls(metadata, protocol),
  };
  if (socket.key) secrets.push(String(socket.key));
  if (metadata.boolean("autoAck", false)) {
    throw metadata.error("autoAck", "must be false: the broker would drop each message as it is sent, before the handler has run, so a failure or a crash would lose it");
  }
  const queue = readQueue(metadata);
  const deliveryMode = metadata.integer("deliveryMode", 2, { min: 0, max: 2 });
  return {
    connect: { ...connect, heartbeat: Math.round(heartbeatMs / 1000) },
    socket,
    where: `${protocol}://${hostname}:${port}/${vhost && vhost !== "/" ? vhost : ""}`,
    queue,
    exchangeKind: metadata.oneOf("exchangeKind", exchangeKinds, "fanout"),
    persistent: deliveryMode === 2,
    defaultTtlMs: metadata.has("ttlInSeconds") ? metadata.integer("ttlInSeconds", 0, { min: 1 }) * 1000 : undefined,
    prefetchCount: metadata.integer("prefetchCount", 0, { min: 0, max: 65_535 }),
    single: metadata.oneOf("concurrencyMode", ["parallel", "single"], "parallel") === "single",
    reconnectWaitMs: metadata.has("reconnectWait")
      ? daprDurationMs(metadata, "reconnectWait", 3_000)
      : metadata.integer("reconnectWaitSeconds", 3, { min: 0 }) * 1000,
    secrets,
  };
}

/**
 * `connectionString` (or Dapr's deprecated `host`), or `protocol` + `hostname` + `username` +
 * `password`: one or the other, as Dapr says. The URL's credentials, vhost and query settings
 * (`heartbeat`, `frameMax`, `channelMax`) become amqplib's connect options.
 */
function readConnection(metadata: ComponentMetadata): { connect: Options.Connect; secrets: string[] } {
  const field = metadata.has("connectionString") ? "connectionString" : "host";
  const raw = metadata.string(field);
  const given = metadata.string("protocol");
  if (raw === undefined) {
    const protocol = metadata.oneOf("protocol", ["amqp", "amqps"], "amqp");
    const hostname = metadata.string("hostname", "localhost");
    const [host, port] = splitHostPort(hostname);
    if (!host || (port !== undefined && !(Number.isInteger(port) && port > 0 && port < 65_536))) {
      throw metadata.error("hostname", `must be a host name, optionally with a port ("localhost" or "localhost:5672"), got "${hostname}"`);
    }
    const password = metadata.string("password");
    return {
      connect: { protocol, hostname: host, port, vhost: "/", username: metadata.string("username", "guest"), password: password ?? "guest" },
      secrets: password ? [password, encodeURIComponent(password)] : [],
    };
  }
  for (const other of ["hostname", "username", "password"]) {
    if (metadata.has(other)) throw metadata.error(other, `cannot be given with ${field}: give the connection string, or protocol/hostname/username/password`);
  }
  const url = URL.canParse(raw) ? new URL(raw) : undefined;
  const protocol = url?.protocol.slice(0, -1);
  if (!url || (protocol !== "amqp" && protocol !== "amqps") || !url.hostname) {
    // Never echo the value: it may carry a password.
    throw metadata.error(field, 'must be an AMQP URL such as "amqp://user:password@localhost:5672/vhost" (or amqps://)');
  }
  if (given !== undefined && given !== protocol) {
    throw metadata.error("protocol", `is "${given}" but the ${field} says "${protocol}"; leave protocol out or make them match`);
  }
  const numeric = (name: string) => {
    if (!url.searchParams.has(name)) return undefined;
    const value = Number(url.searchParams.get(name));
    if (!Number.isInteger(value) || value < 0) throw metadata.error(field, `has a "${name}" query parameter that is not a whole number >= 0`);
    return value;
  };
  const password = decodeURIComponent(url.password);
  return {
    connect: {
      protocol,
      hostname: url.hostname.replace(/^\[|\]$/g, ""),
      port: url.port ? Number(url.port) : undefined,
      // amqplib unescapes the vhost itself.
      vhost: url.pathname.slice(1),
      // As amqplib reads a URL: guest/guest only when the URL names no user at all.
      ...(url.username || url.password ? { username: decodeURIComponent(url.username), password } : { username: "guest", password: "guest" }),
      frameMax: numeric("frameMax"),
      channelMax: numeric("channelMax"),
      heartbeat: numeric("heartbeat"),
    },
    secrets: [raw, ...(password ? [password, url.password] : [])],
  };
}

function splitHostPort(hostname: string): [string, number | undefined] {
  const match = /^(\[[^\]]+\]|[^:]+)(?::(\d+))?$/.exec(hostname);
  if (!match) return ["", undefined];
  return [match[1]!.replace(/^\[|\]$/g, ""), match[2] === undefined ? undefined : Number(match[2])];
}

/** `caCert`, `clientCert`, `clientKey` (PEM text) and `saslExternal`: TLS only. */
function readTls(metadata: ComponentMetadata, protocol: string): SocketOptions {
  const ca = metadata.string("caCert");
  const cert = metadata.string("clientCert");
  const key = metadata.string("clientKey");
  const external = metadata.boolean("saslExternal", false);
  for (const [field, value] of [["caCert", ca], ["clientCert", cert], ["clientKey", key]] as const) {
    if (value === undefined) continue;
    if (protocol !== "amqps") throw metadata.error(field, 'needs TLS: use an "amqps://" connection string or protocol "amqps"');
    if (!value.includes("-----BEGIN")) throw metadata.error(field, "must be PEM text (-----BEGIN ...)");
  }
  if ((cert === undefined) !== (key === undefined)) {
    throw metadata.error(cert === undefined ? "clientCert" : "clientKey", "clientCert and clientKey must be given together");
  }
  if (external && !cert) {
    throw metadata.error("saslExternal", "needs a client certificate (clientCert and clientKey over amqps): the broker takes the user name from it");
  }
  return {
    ...(ca ? { ca: [ca] } : {}),
    ...(cert && key ? { cert, key } : {}),
    // The EXTERNAL mechanism sends no credentials; amqplib only needs its name and an empty response.
    ...(external ? { credentials: { mechanism: "EXTERNAL", response: () => Buffer.alloc(0) } } : {}),
  };
}

function readQueue(metadata: ComponentMetadata): QueueSettings {
  const durable = metadata.boolean("durable", true);
  const autoDelete = metadata.boolean("deletedWhenUnused", false);
  // A quorum queue counts every redelivery (x-delivery-count) and is replicated; it must be
  // durable and is never auto-deleted, so settings that ask otherwise get a classic queue.
  const type = metadata.oneOf("queueType", ["classic", "quorum"], durable && !autoDelete ? "quorum" : "classic");
  if (type === "quorum" && (!durable || autoDelete)) {
    throw metadata.error("queueType", 'is "quorum", which is always durable and never deleted when unused: set durable "true" and deletedWhenUnused "false", or queueType "classic"');
  }
  return {
    durable,
    autoDelete,
    type,
    maxLen: metadata.integer("maxLen", 0, { min: 0 }),
    maxLenBytes: metadata.integer("maxLenBytes", 0, { min: 0 }),
    deadLetter: metadata.boolean("enableDeadLetter", false),
  };
}

/**
 * A duration as Dapr's metadata decoder reads one: a Go duration (`500ms`, `3s`, `1m30s`) or a
 * bare number of seconds.
 */
function daprDurationMs(metadata: ComponentMetadata, field: string, fallback: number): number {
  const raw = metadata.string(field);
  if (raw === undefined) return fallback;
  const ms = /^\d+$/.test(raw.trim()) ? Number(raw.trim()) * 1000 : parseDurationMs(raw);
  if (ms === undefined) throw metadata.error(field, `must be a duration like "500ms", "3s" or "1m", or a number of seconds; got "${raw}"`);
  return ms;
}

/** AMQP's limit on exchange and queue names, in UTF-8 bytes. */
const maxNameBytes = 255;
/** Room a queue name leaves for the prefixes and suffixes of its dead-letter and retry queues. */
const queueNameBytes = 220;

/**
 * The exchange of a topic: the topic itself, as Dapr names it (so Dapr apps and mecha apps share
 * topics), unless it is longer than AMQP allows; then its head and a hash.
 */
export function exchangeName(topic: string): string {
  return amqpName(topic, maxNameBytes);
}

/**
 * The queue of a subscription: its durable name, so every host of the subscription consumes the
 * same queue; a name too long keeps its head and a hash.
 *
 * @example queueName("orders-app.billing.onOrder") // "orders-app.billing.onOrder"
 */
export function queueName(subscription: string): string {
  return amqpName(subscription, queueNameBytes);
}

/** Dapr's dead-letter exchange and queue of a queue, with `enableDeadLetter`. */
export const deadLetterNames = (queue: string) => ({ exchange: `dlx-${queue}`, queue: `dlq-${queue}` });

function amqpName(name: string, maxBytes: number): string {
  if (Buffer.byteLength(name) <= maxBytes) return name;
  const hash = createHash("sha256").update(name).digest("hex").slice(0, 8);
  let head = name.slice(0, maxBytes);
  while (Buffer.byteLength(head) > maxBytes - 9) head = head.slice(0, -1);
  return `${head}-${hash}`;
}

/**
 * An error from amqplib as one that is safe to log and to keep as a `cause`: its name, its AMQP
 * reply code where it has one, and its message with every secret of the settings blanked out.
 */
export function safeAmqpError(error: unknown, secrets: readonly string[]): Error {
  const failure = (error ?? {}) as { name?: unknown; message?: unknown; code?: unknown };
  const name = typeof failure.name === "string" && failure.name ? failure.name : "Error";
  let message = typeof failure.message === "string" && failure.message ? failure.message : String(error);
  // Longest first, so a connection string is blanked whole before the password inside it.
  for (const secret of [...secrets].sort((a, b) => b.length - a.length)) message = message.split(secret).join("<redacted>");
  const safe = new Error(message) as Error & { code?: unknown };
  safe.name = name;
  if (typeof failure.code === "number" || typeof failure.code === "string") safe.code = failure.code;
  return safe;
}
