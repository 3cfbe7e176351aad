/**
 * The Redis connection settings Dapr's Redis components share (`redisHost`, `redisPassword`,
 * `redisUsername`, `redisDB`, `enableTLS`, the retry and timeout fields …), read and checked one
 * way, and one lazily made ioredis client per component whose failures leave as errors that are
 * safe to put in a message: no password, sentinel password or client key ever appears in one.
 *
 * What a dropped connection does to a command:
 * - a command issued while the client is not connected waits in ioredis's offline queue, is sent
 *   after the reconnect, and fails only when `redisMaxRetries` reconnect attempts in a row fail;
 * - a command already sent when the connection drops is never sent again (a resent etag write
 *   could apply twice, or report a mismatch for its own write): it fails after `readTimeout`
 *   with ETIMEDOUT, its outcome unknown.
 */
import type { Redis, RedisOptions } from "ioredis";
import type { ComponentMetadata } from "../config/metadata.ts";
import type { Logger } from "../core/logger.ts";
import { MechaError } from "../errors.ts";

/** What {@link redisOptions} reads from a component's metadata. */
export interface RedisSettings {
  /** The options for `new Redis(options)`. */
  options: RedisOptions;
  /** Where the client goes, for messages: `Redis at 127.0.0.1:6379`. */
  label: string;
  /** Values that must never appear in a message: the passwords and the TLS client key. */
  secrets: readonly string[];
  /** How many reconnect attempts a queued command waits through (`redisMaxRetries`). */
  maxRetries: number;
  /** How long a sent command waits for its reply (`readTimeout`). */
  readTimeoutMs: number;
}

const defaultPort = 6379;
/** The reconnect delay when backoff is disabled (-1). */
const noBackoffMs = 8;

/**
 * Reads Dapr's Redis connection metadata into ioredis options. Throws a ComponentConfigError
 * naming the field for a missing or malformed `redisHost`, a bad number or duration, half a TLS
 * key pair, or something mecha does not do (`redisType: cluster`, Entra ID or OIDC sign-in).
 * Pool settings (`poolSize`, `minIdleConns`, `poolTimeout`, `maxConnAge`, `idleTimeout`,
 * `idleCheckFrequency`) and `writeTimeout` are accepted and ignored: ioredis sends every command
 * over one connection.
 *
 * @example
 * const { options, label } = redisOptions(new ComponentMetadata({ redisHost: "localhost:6379" }, "cache"));
 * // options.host === "localhost", options.port === 6379, label === "Redis at localhost:6379"
 */
export function redisOptions(metadata: ComponentMetadata): RedisSettings {
  const redisType = metadata.string("redisType", "node").toLowerCase();
  if (redisType !== "node") {
    throw metadata.error("redisType", `"${redisType}" is not supported: mecha connects to a single Redis node (or a Sentinel-managed master with failover: true); use "node"`);
  }
  for (const field of ["useEntraID", "useAzureAD", "useOIDC"]) {
    if (metadata.boolean(field, false)) throw metadata.error(field, "is not supported by mecha: sign in with redisUsername and redisPassword");
  }

  const failover = metadata.boolean("failover", false);
  const port = metadata.integer("redisPort", 0, { min: 0, max: 65535 });
  const hosts = metadata.requiredString("redisHost").split(",").map((address) => parseAddress(metadata, address.trim(), port));
  if (hosts.length > 1 && !failover) {
    throw metadata.error("redisHost", "takes one host:port; a list of addresses is for Sentinels (failover: true), and Redis Cluster is not supported");
  }

  const password = metadata.string("redisPassword");
  const sentinelPassword = metadata.string("sentinelPassword");
  const clientKey = metadata.string("clientKey");
  const clientCert = metadata.string("clientCert");
  if ((clientKey === undefined) !== (clientCert === undefined)) {
    throw metadata.error(clientKey === undefined ? "clientKey" : "clientCert", "clientCert and clientKey must be given together");
  }
  const tls = metadata.boolean("enableTLS", false)
    ? {
        rejectUnauthorized: !metadata.boolean("insecureSkipTLSVerify", false),
        ...(clientCert && clientKey ? { cert: clientCert, key: clientKey } : {}),
      }
    : undefined;

  // Dapr: redisMaxRetries (alias maxRetries), -1 disables retries, 0 means the default of 3.
  const retries = metadata.integer("redisMaxRetries", metadata.integer("maxRetries", 3, { min: -1 }), { min: -1 });
  const maxRetries = retries === -1 ? 0 : retries === 0 ? 3 : retries;
  const minRetryMs = retryInterval(metadata, "redisMinRetryInterval", 8);
  const maxRetryMs = metadata.has("redisMaxRetryInterval")
    ? retryInterval(metadata, "redisMaxRetryInterval", 512)
    : retryInterval(metadata, "maxRetryBackoff", 512);
  if (metadata.string("readTimeout")?.trim() === "-1") {
    throw metadata.error("readTimeout", "cannot be -1 in mecha: a command whose connection drops fails after readTimeout instead of waiting forever; give a duration such as \"30s\"");
  }
  const readTimeoutMs = metadata.durationMs("readTimeout", 0) || 3000;

  const options: RedisOptions = {
    username: metadata.string("redisUsername"),
    password,
    db: metadata.integer("redisDB", 0, { min: 0 }),
    connectTimeout: metadata.durationMs("dialTimeout", 0) || 5000,
    commandTimeout: readTimeoutMs,
    maxRetriesPerRequest: maxRetries,
    retryStrategy: (attempt) =>
      minRetryMs === undefined || maxRetryMs === undefined
        ? noBackoffMs
        : Math.max(1, Math.min(minRetryMs * 2 ** Math.min(attempt - 1, 20), Math.max(maxRetryMs, minRetryMs))),
    autoResendUnfulfilledCommands: false,
    ...(tls ? { tls } : {}),
  };
  const first = hosts[0]!;
  if (failover) {
    Object.assign(options, {
      sentinels: hosts,
      name: metadata.requiredString("sentinelMasterName"),
      sentinelUsername: metadata.string("sentinelUsername"),
      sentinelPassword,
      ...(tls ? { enableTLSForSentinelMode: true, sentinelTLS: tls } : {}),
    });
  } else {
    Object.assign(options, first);
  }
  const where = hosts.map(({ host, port }) => `${host.includes(":") ? `[${host}]` : host}:${port}`).join(",");
  return {
    options,
    label: failover ? `Redis master "${String(options.name)}" via Sentinel ${where}` : `Redis at ${where}`,
    secrets: [password, sentinelPassword, clientKey].filter((value): value is string => !!value),
    maxRetries,
    readTimeoutMs,
  };
}

/** `host:port`, `[ipv6]:port` or a bare host (then `redisPort`, else 6379). */
function parseAddress(metadata: ComponentMetadata, address: string, port: number): { host: string; port: number } {
  const match = /^(?:\[([^\]]+)\]|([^:\s]+))(?::(\d+))?$/.exec(address);
  if (!match) throw metadata.error("redisHost", `must be host:port, such as "localhost:6379"; got "${address}"`);
  const host = match[1] ?? match[2]!;
  const given = match[3] === undefined ? undefined : Number(match[3]);
  if (given !== undefined && (given < 1 || given > 65535)) throw metadata.error("redisHost", `has port ${given}, which is not a TCP port`);
  if (given !== undefined && port && given !== port) {
    throw metadata.error("redisPort", `is ${port} but redisHost "${address}" names port ${given}: remove one of them`);
  }
  return { host, port: given ?? (port || defaultPort) };
}

/**
 * A Dapr retry interval: a duration or a number of milliseconds; `undefined` for -1 ("no
 * backoff"), which reconnects every {@link noBackoffMs} rather than in a busy loop.
 */
function retryInterval(metadata: ComponentMetadata, field: string, fallback: number): number | undefined {
  return metadata.string(field)?.trim() === "-1" ? undefined : metadata.durationMs(field, fallback);
}

/** A Redis failure as an Error that is safe to log and to keep as a cause. */
export interface RedisFailure extends Error {
  /** The socket error code (ECONNREFUSED), ETIMEDOUT, or Redis's error prefix (WRONGTYPE, NOAUTH). */
  code: string;
}

/** One lazily made client, shared by a component's calls. */
export interface RedisConnection {
  /** Where the client goes, for messages. */
  readonly label: string;
  /**
   * Runs `run` with the client, made (and ioredis loaded) on the first call. Any failure leaves
   * as a {@link RedisFailure}, except a MechaError thrown by `run`, which passes through.
   */
  use<T>(run: (client: Redis) => Promise<T>): Promise<T>;
  /** Lets go of the client; the next `use` makes a new one. */
  close(): Promise<void>;
}

export interface ConnectRedisOptions {
  /** Where a lost and regained connection is reported. */
  logger?: Logger;
  /** Lua scripts to define as commands (ioredis sends them by SHA, loading them as needed). */
  scripts?: RedisOptions["scripts"];
  /** Options that replace those read from the metadata (e.g. no commandTimeout for blocking reads). */
  overrides?: RedisOptions;
}

/**
 * The connection of component `name`: validates the metadata now (see {@link redisOptions}) and
 * connects on first use. The client names itself `mecha:<name>` (CLIENT SETNAME), so it can be
 * found in `CLIENT LIST`.
 *
 * @example
 * const redis = connectRedis(metadata, "orders", { logger });
 * const value = await redis.use((client) => client.get("k"));
 */
export function connectRedis(metadata: ComponentMetadata, name: string, extra: ConnectRedisOptions = {}): RedisConnection {
  const settings = redisOptions(metadata);
  const { label, secrets, maxRetries, readTimeoutMs } = settings;
  const options: RedisOptions = {
    ...settings.options,
    connectionName: `mecha:${name.replace(/[^\w.:-]/g, "_")}`,
    ...(extra.scripts ? { scripts: extra.scripts } : {}),
    ...extra.overrides,
  };
  const redact = (text: string): string => secrets.reduce((safe, secret) => safe.split(secret).join("<redacted>"), text);
  const failure = (code: string, message: string): RedisFailure => Object.assign(new Error(redact(message)), { name: "RedisError", code });
  let client: Promise<Redis> | undefined;
  /** The client once made: later calls skip the await. */
  let ready: Redis | undefined;
  /** Clients being closed on purpose: their "close" is not a lost connection. */
  const closing = new WeakSet<Redis>();
  /** The last socket or handshake error, which says why a queued command gave up. */
  let lastError: Error | undefined;

  const connect = (): Promise<Redis> =>
    (client ??= import("ioredis").then(
      ({ Redis }) => {
        const redis = new Redis(options);
        // Only a connection that was up can be lost; failures to connect reach the callers.
        let connection: "connecting" | "ready" | "lost" = "connecting";
        redis.on("error", (error: Error) => (lastError = error));
        redis.on("close", () => {
          if (connection !== "ready" || closing.has(redis)) return;
          connection = "lost";
          extra.logger?.warn(`lost the connection to ${label}; reconnecting`, { reason: lastError && redact(lastError.message) });
        });
        redis.on("ready", () => {
          if (connection === "lost") extra.logger?.info(`reconnected to ${label}`);
          connection = "ready";
          lastError = undefined;
        });
        return redis;
      },
      (error: unknown) => {
        client = undefined;
        throw Object.assign(failure("ERR_MODULE_NOT_FOUND", `could not load ioredis for ${label}: install it with "npm install ioredis"`), { cause: error });
      },
    ));

  /** An ioredis error in words that say what happened, with no secret in them. */
  const translate = (error: unknown): RedisFailure | MechaError => {
    if (error instanceof MechaError) return error;
    const { name: kind, message = String(error), code } = (error ?? {}) as { name?: string; message?: string; code?: unknown };
    if (kind === "RedisError" && typeof code === "string") return error as RedisFailure;
    if (kind === "MaxRetriesPerRequestError") {
      const why = lastError as (Error & { code?: unknown }) | undefined;
      const reason = typeof why?.code === "string" ? why.code : (/^[A-Z]+/.exec(why?.message ?? "")?.[0] ?? "ECONNREFUSED");
      return failure(reason, `could not reach ${label}${why ? `: ${why.message}` : ""} (gave up after ${maxRetries} reconnect attempts)`);
    }
    if (message === "Command timed out") {
      return failure("ETIMEDOUT", `${label} did not reply within ${readTimeoutMs} ms (readTimeout): the connection may have dropped, so the outcome of a write is unknown`);
    }
    if (message === "Connection is closed.") return failure("ECONNCLOSED", `the connection to ${label} is closed`);
    if (kind === "ReplyError") return failure(/^[A-Z]+/.exec(message)?.[0] ?? "ERR", `${label} replied: ${message}`);
    return failure(typeof code === "string" ? code : (kind ?? "Error"), message);
  };

  return {
    label,
    use(run) {
      // Once connected, no extra await: a command costs one promise, not three.
      if (ready) {
        try {
          return run(ready).catch((error: unknown) => Promise.reject(translate(error)));
        } catch (error) {
          return Promise.reject(translate(error));
        }
      }
      return connect().then(
        (redis) => {
          ready = redis;
          return run(redis).catch((error: unknown) => Promise.reject(translate(error)));
        },
        (error: unknown) => Promise.reject(translate(error)),
      );
    },
    async close() {
      const opened = client;
      client = undefined;
      ready = undefined;
      const redis = await opened?.catch(() => undefined);
      if (!redis) return;
      closing.add(redis);
      if (redis.status === "ready") await redis.quit().catch(() => redis.disconnect());
      else redis.disconnect();
    },
  };
}
