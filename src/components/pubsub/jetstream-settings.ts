/**
 * `pubsub.jetstream` metadata: Dapr's fields read and checked once, turned into the NATS
 * connection options and the durable consumer's configuration; and NATS errors reduced to what is
 * safe to show — no password, token, JWT or seed in a message.
 */
import { createHash } from "node:crypto";
import { isAbsolute, resolve } from "node:path";
import type { ConsumerConfig, DeliverPolicy, JetStreamManagerOptions } from "@nats-io/jetstream";
import type { NodeConnectionOptions } from "@nats-io/transport-node";
import { parseDurationMs, type ComponentMetadata } from "../../config/metadata.ts";
import type { ComponentOptions } from "../types.ts";

export const type = "pubsub.jetstream";

/** NATS's own default: how long a delivery may stay unsettled before it is delivered again. */
const defaultAckWaitMs = 30_000;

/** Dapr's `deliverPolicy` values, and JetStream's name for each. */
const deliverPolicies = {
  all: "all",
  last: "last",
  new: "new",
  sequence: "by_start_sequence",
  time: "by_start_time",
} as const satisfies Record<string, DeliverPolicy>;

export interface Settings {
  /** The server list, credentials removed (they go in {@link Settings.connection}). */
  servers: string[];
  /** Everything `connect()` takes besides the servers; the authenticator is built on connect. */
  connection: Omit<NodeConnectionOptions, "servers" | "authenticator">;
  /** JWT + seed (decentralized auth): `jwtAuthenticator` needs the loaded client. */
  jwt: { jwt: string; seed: string } | undefined;
  jetstream: JetStreamManagerOptions;
  /** Dapr's `streamName`: the one stream every topic of the component goes to. */
  streamName: string | undefined;
  /** The durable consumer of each subscription, without its name and filter subject. */
  consumer: Omit<ConsumerConfig, "durable_name" | "filter_subject">;
  /** Values that must never appear in an error message or a log line. */
  secrets: string[];
}

/**
 * Reads and checks Dapr's `pubsub.jetstream` metadata. Throws a ComponentConfigError naming the
 * field for anything wrong: no `natsURL`, half a credential pair, an unknown policy, a duration
 * or number that is not one.
 */
export function readSettings({ metadata, baseDir, appId }: ComponentOptions): Settings {
  const { servers, user, pass, token: urlToken } = parseNatsUrl(metadata);
  const token = metadata.string("token") ?? urlToken;
  const jwt = metadata.string("jwt");
  const seed = metadata.string("seedKey");
  if ((jwt === undefined) !== (seed === undefined)) {
    throw metadata.error(jwt === undefined ? "jwt" : "seedKey", "jwt and seedKey must be given together (decentralized JWT authentication)");
  }
  const cert = metadata.string("tls_client_cert");
  const key = metadata.string("tls_client_key");
  if ((cert === undefined) !== (key === undefined)) {
    throw metadata.error(cert === undefined ? "tls_client_cert" : "tls_client_key", "tls_client_cert and tls_client_key must be given together");
  }
  const domain = metadata.string("domain");
  const apiPrefix = metadata.string("apiPrefix");
  if (domain !== undefined && apiPrefix !== undefined) {
    throw metadata.error("apiPrefix", "give either domain or apiPrefix, not both (a domain implies its API prefix)");
  }
  // Dapr's "single" would serialise every subscription; each subscription's own concurrency rules here.
  metadata.oneOf("concurrency", ["single", "parallel"], "parallel");
  const ackPolicy = metadata.oneOf("ackPolicy", ["explicit", "all", "none"], "explicit");
  if (ackPolicy !== "explicit") {
    throw metadata.error("ackPolicy", `must be "explicit": every message is acked or retried on its own, so "${ackPolicy}" would lose or skip messages`);
  }

  const tlsScheme = servers.some((server) => server.startsWith("tls://"));
  const tls = cert && key ? { ...pem("cert", cert, baseDir), ...pem("key", key, baseDir) } : tlsScheme ? {} : undefined;
  return {
    servers,
    connection: {
      name: metadata.string("name", `mecha ${appId} - ${type}`),
      ...(user !== undefined ? { user, pass } : {}),
      ...(token !== undefined && jwt === undefined ? { token } : {}),
      ...(tls ? { tls } : {}),
      // A long-lived host keeps trying; the client buffers publishes meanwhile.
      maxReconnectAttempts: -1,
    },
    jwt: jwt && seed ? { jwt, seed } : undefined,
    jetstream: { ...(domain ? { domain } : {}), ...(apiPrefix ? { apiPrefix } : {}) },
    streamName: readStreamName(metadata),
    consumer: readConsumer(metadata),
    secrets: [pass, token, jwt, seed, key].filter((s): s is string => !!s),
  };
}

/**
 * `natsURL`: one server or a comma-separated list (`nats://`, `tls://`, or a bare host:port).
 * Credentials in a URL are taken out: `user:password@` becomes user/pass, `token@` a token.
 */
function parseNatsUrl(metadata: ComponentMetadata): { servers: string[]; user?: string; pass?: string; token?: string } {
  const raw = metadata.requiredString("natsURL");
  const servers: string[] = [];
  let credentials: { user?: string; pass?: string; token?: string } = {};
  for (const entry of raw.split(",").map((s) => s.trim()).filter(Boolean)) {
    const withScheme = /^[a-z]+:\/\//i.test(entry) ? entry : `nats://${entry}`;
    const url = URL.canParse(withScheme) ? new URL(withScheme) : undefined;
    if (!url || !["nats:", "tls:"].includes(url.protocol) || !url.hostname) {
      // Never echo the value: it may carry a password.
      throw metadata.error("natsURL", 'must be a NATS URL such as "nats://localhost:4222" (or a comma-separated list of them)');
    }
    if (url.username) {
      const user = decodeURIComponent(url.username);
      credentials = url.password ? { user, pass: decodeURIComponent(url.password) } : { token: user };
    }
    servers.push(`${url.protocol}//${url.host}`);
  }
  if (!servers.length) throw metadata.error("natsURL", "is required");
  return { servers, ...credentials };
}

/** A PEM given inline (Dapr's metadata.yaml) or a file path (Dapr's Go code), for the TLS options. */
function pem(which: "cert" | "key", value: string, baseDir: string): Record<string, string> {
  if (value.includes("-----BEGIN")) return { [which]: value };
  return { [`${which}File`]: isAbsolute(value) ? value : resolve(baseDir, value) };
}

function readStreamName(metadata: ComponentMetadata): string | undefined {
  const name = metadata.string("streamName");
  if (name !== undefined && !isValidJetStreamName(name)) {
    throw metadata.error("streamName", `must not contain whitespace, ".", "*", ">", "/" or "\\", got "${name}"`);
  }
  return name;
}

function readConsumer(metadata: ComponentMetadata): Settings["consumer"] {
  const nanos = (ms: number) => ms * 1_000_000;
  const ackWaitMs = metadata.durationMs("ackWait", defaultAckWaitMs);
  if (ackWaitMs < 1) throw metadata.error("ackWait", "must be longer than 0");
  const maxDeliver = metadata.integer("maxDeliver", -1, { min: -1 });
  const backOff = readBackOff(metadata);
  if (backOff.length && maxDeliver !== -1 && maxDeliver <= backOff.length) {
    throw metadata.error("maxDeliver", `must be more than the ${backOff.length} backOff steps (JetStream's rule), got ${maxDeliver}`);
  }
  const startSequence = metadata.integer("startSequence", 0, { min: 0 });
  const startTime = metadata.integer("startTime", -1, { min: 0 });
  const implied = startSequence > 0 ? "sequence" : startTime >= 0 ? "time" : "all";
  const policy = metadata.oneOf("deliverPolicy", ["all", "last", "new", "sequence", "time"], implied);
  if (policy === "sequence" && startSequence === 0) throw metadata.error("startSequence", 'is required (>= 1) with deliverPolicy "sequence"');
  if (policy === "time" && startTime < 0) throw metadata.error("startTime", 'is required (Unix seconds) with deliverPolicy "time"');
  if (policy !== "sequence" && startSequence > 0) throw metadata.error("startSequence", `only applies with deliverPolicy "sequence", not "${policy}"`);
  if (policy !== "time" && startTime >= 0) throw metadata.error("startTime", `only applies with deliverPolicy "time", not "${policy}"`);
  const maxAckPending = metadata.integer("maxAckPending", 0, { min: -1 });
  const replicas = metadata.integer("replicas", 0, { min: 0, max: 5 });
  return {
    ack_policy: "explicit",
    replay_policy: "instant",
    deliver_policy: deliverPolicies[policy],
    ...(policy === "sequence" ? { opt_start_seq: startSequence } : {}),
    ...(policy === "time" ? { opt_start_time: new Date(startTime * 1000).toISOString() } : {}),
    ack_wait: nanos(ackWaitMs),
    max_deliver: maxDeliver,
    ...(backOff.length ? { backoff: backOff.map(nanos) } : {}),
    ...(maxAckPending !== 0 ? { max_ack_pending: maxAckPending } : {}),
    ...(replicas > 0 ? { num_replicas: replicas } : {}),
    ...(metadata.boolean("memoryStorage", false) ? { mem_storage: true } : {}),
  };
}

/** Dapr's `backOff`: durations separated by commas (`"50ms, 1s, 10s"`), optionally in brackets. */
function readBackOff(metadata: ComponentMetadata): number[] {
  const raw = metadata.string("backOff");
  if (raw === undefined) return [];
  const steps = raw.replace(/^\s*\[|\]\s*$/g, "").split(",").map((s) => s.trim()).filter(Boolean);
  return steps.map((step) => {
    const ms = parseDurationMs(step);
    if (ms === undefined || ms < 1) throw metadata.error("backOff", `must be durations separated by commas, such as "50ms, 1s, 10s"; got "${raw}"`);
    return ms;
  });
}

/** Whether JetStream takes `name` as a stream or consumer name. */
export function isValidJetStreamName(name: string): boolean {
  return name.length > 0 && !/[\s.*>/\\]/.test(name) && !/\p{Cc}/u.test(name);
}

/**
 * The stream or consumer name of a topic or subscription: the name itself when JetStream takes
 * it, otherwise `.` and other characters outside `[A-Za-z0-9_-]` become `_` and an 8-character
 * hash of the original is appended, so two names never meet. Deterministic: every host of a
 * subscription finds the same durable consumer.
 *
 * @example
 * jetstreamName("orders") // "orders"
 * jetstreamName("billing.onOrder") // "billing_onOrder-1c9d3a7e" (the hash varies with the name)
 */
export function jetstreamName(name: string): string {
  if (/^[A-Za-z0-9_-]{1,200}$/.test(name)) return name;
  const hash = createHash("sha256").update(name).digest("hex").slice(0, 8);
  return `${name.replace(/[^A-Za-z0-9_-]/g, "_").slice(0, 200)}-${hash}`;
}

/**
 * Whether a topic can be a NATS subject one publishes to: non-empty dot-separated tokens, no
 * whitespace or control characters, no `*` or `>` wildcard token.
 */
export function isPublishableSubject(topic: string): boolean {
  if (!topic || /[\s\p{Cc}]/u.test(topic)) return false;
  return topic.split(".").every((token) => token !== "" && token !== "*" && token !== ">");
}

/** Whether a stream subject (which may hold `*` and `>` wildcards) captures `subject`. */
export function subjectCaptures(pattern: string, subject: string): boolean {
  const want = pattern.split(".");
  const have = subject.split(".");
  for (let i = 0; i < want.length; i++) {
    if (want[i] === ">") return have.length > i;
    if (i >= have.length || (want[i] !== "*" && want[i] !== have[i])) return false;
  }
  return want.length === have.length;
}

/**
 * An error from the NATS client as one that is safe to log and to keep as a `cause`: its name and
 * message with every secret of the settings blanked out. The client's own error is dropped.
 */
export function safeNatsError(error: unknown, secrets: readonly string[]): Error {
  const failure = (error ?? {}) as { name?: unknown; message?: unknown; code?: unknown };
  const name = typeof failure.name === "string" && failure.name ? failure.name : "Error";
  let message = typeof failure.message === "string" && failure.message ? failure.message : String(error);
  for (const secret of secrets) message = message.split(secret).join("<redacted>");
  const safe = new Error(message);
  safe.name = name;
  return safe;
}
