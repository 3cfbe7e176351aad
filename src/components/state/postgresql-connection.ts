/**
 * How `state.postgresql` reaches its server. Dapr hands the connection string to pgx, which takes
 * both a `postgres://` URL and libpq's `key=value` form (Dapr's own examples use the latter);
 * node-postgres parses only URLs, and lets a URL override separately given settings, where Dapr's
 * fields (`host`, `port`, `database`, `user`, `password`, `sslRootCert`) override the string. So
 * the string is parsed here, the fields laid on top, and the result given to `pg.Pool` as plain
 * settings. pg errors leave through {@link safePgError}: the password and the connection string
 * never appear in a message.
 */
import { readFile } from "node:fs/promises";
import { isAbsolute, resolve } from "node:path";
import type { PoolConfig } from "pg";
import type { ComponentMetadata } from "../../config/metadata.ts";

/** What the component needs to open a pool, read from its metadata without I/O. */
export interface PgTarget {
  /** The pool settings, less the TLS files, which are read when the pool is made. */
  settings: PoolConfig;
  tls: { mode: "require" | "verify-ca" | "verify-full"; rootCert?: string; cert?: string; key?: string } | undefined;
  /** Where the pool connects, for messages: `127.0.0.1:5432/test as postgres`. */
  where: string;
  /** Values that must never appear in a message (the password, the whole connection string). */
  secrets: readonly string[];
}

export interface PgTargetOptions {
  /** `application_name` when the connection string sets none: how pg_stat_activity shows the pool. */
  applicationName: string;
  /** Bounds connecting and every statement (`statement_timeout`). */
  timeoutMs: number;
  /** Pool size: `maxConns`, or the connection string's `pool_max_conns`. */
  maxConnections: number;
  /** `connectionMaxIdleTime`; `undefined` leaves node-postgres' default. */
  idleTimeoutMs: number | undefined;
  /** Where relative certificate paths are resolved from. */
  baseDir: string;
}

/** libpq's keywords this reader understands; any other keyword is a server setting, as in pgx. */
const clientKeywords = new Set([
  "host", "hostaddr", "port", "dbname", "database", "user", "password", "sslmode", "sslrootcert", "sslcert", "sslkey",
  "connect_timeout", "application_name", "options", "pool_max_conns",
]);
/** pgx pool keywords that node-postgres has no use for. */
const ignoredKeywords = new Set([
  "pool_min_conns", "pool_max_conn_idle_time", "pool_max_conn_lifetime", "pool_max_conn_lifetime_jitter", "pool_health_check_period",
  "target_session_attrs", "statement_cache_capacity", "default_query_exec_mode",
]);
const sslModes = ["disable", "allow", "prefer", "require", "verify-ca", "verify-full"] as const;

/**
 * Reads `connectionString` and Dapr's separate connection fields. Throws a ComponentConfigError
 * naming the field for a string that parses as neither form, a bad port or an unknown sslmode;
 * the message never quotes the string.
 */
export function readPgTarget(metadata: ComponentMetadata, options: PgTargetOptions): PgTarget {
  const raw = metadata.requiredString("connectionString");
  const parsed = parseConnectionString(raw);
  if (!parsed) {
    throw metadata.error(
      "connectionString",
      'must be a URL ("postgres://user:password@host:5432/database") or libpq key=value pairs ("host=localhost user=postgres port=5432 database=mydb"); it is neither (its text is not repeated here: it may hold a password)',
    );
  }
  const fields: Array<[field: string, keyword: string]> = [
    ["host", "host"], ["hostaddr", "hostaddr"], ["port", "port"], ["database", "dbname"], ["user", "user"], ["password", "password"], ["sslRootCert", "sslrootcert"],
  ];
  for (const [field, keyword] of fields) {
    const value = metadata.string(field);
    if (value !== undefined) parsed.set(keyword, value);
  }
  if (parsed.has("database") && !parsed.has("dbname")) parsed.set("dbname", parsed.get("database")!);

  const portText = parsed.get("port");
  const port = portText === undefined ? undefined : Number(portText);
  if (port !== undefined && !(Number.isInteger(port) && port > 0 && port < 65_536)) {
    throw metadata.error(metadata.has("port") ? "port" : "connectionString", `the port must be a whole number from 1 to 65535, got "${portText}"`);
  }
  const sslmode = parsed.get("sslmode") ?? "disable";
  if (!(sslModes as readonly string[]).includes(sslmode)) {
    throw metadata.error("connectionString", `sslmode must be one of ${sslModes.join(", ")}; got "${sslmode}"`);
  }
  const seconds = (keyword: string) => {
    const text = parsed.get(keyword);
    if (text === undefined) return undefined;
    const value = Number(text);
    if (!Number.isFinite(value) || value < 0) throw metadata.error("connectionString", `${keyword} must be a number of seconds, got "${text}"`);
    return value * 1000;
  };
  const connectTimeoutMs = seconds("connect_timeout");
  const poolMax = parsed.get("pool_max_conns");

  // libpq connects to hostaddr when both are given; host then only names the server for TLS.
  const host = parsed.get("hostaddr") ?? parsed.get("host");
  const user = parsed.get("user");
  const password = parsed.get("password");
  const database = parsed.get("dbname");
  const serverSettings = [...parsed].filter(([keyword]) => !clientKeywords.has(keyword) && !ignoredKeywords.has(keyword));
  const startupOptions = [parsed.get("options"), ...serverSettings.map(([key, value]) => `-c ${escapeOption(key)}=${escapeOption(value)}`)]
    .filter(Boolean)
    .join(" ");

  const settings: PoolConfig = {
    ...(host !== undefined ? { host } : {}),
    ...(port !== undefined ? { port } : {}),
    ...(user !== undefined ? { user } : {}),
    ...(password !== undefined ? { password } : {}),
    ...(database !== undefined ? { database } : {}),
    ...(startupOptions ? { options: startupOptions } : {}),
    application_name: parsed.get("application_name") ?? options.applicationName.slice(0, 63),
    statement_timeout: options.timeoutMs,
    connectionTimeoutMillis: connectTimeoutMs || options.timeoutMs,
    max: Number(poolMax) > 0 ? Number(poolMax) : options.maxConnections,
    keepAlive: true,
    // Idle connections do not keep a process alive (a script, a Lambda handler that returned).
    allowExitOnIdle: true,
  };
  if (options.idleTimeoutMs !== undefined) settings.idleTimeoutMillis = options.idleTimeoutMs;

  // disable, allow and prefer connect without TLS: node-postgres cannot fall back from one to the other.
  const tlsMode = (["require", "verify-ca", "verify-full"] as const).find((mode) => mode === sslmode);
  const tls = tlsMode && {
    mode: tlsMode,
    rootCert: certPath(parsed.get("sslrootcert")),
    cert: certPath(parsed.get("sslcert")),
    key: certPath(parsed.get("sslkey")),
  };
  const where = `${host ?? "the default host"}:${port ?? 5432}${database ? `/${database}` : ""}${user ? ` as ${user}` : ""}`;
  const secrets = [raw, password, password && encodeURIComponent(password)].filter((s): s is string => !!s);
  return { settings, tls, where, secrets };

  function certPath(path: string | undefined): string | undefined {
    return path === undefined ? undefined : isAbsolute(path) ? path : resolve(options.baseDir, path);
  }
}

/**
 * The connection string as libpq keywords, or `undefined` when it is neither form. A URL's user,
 * password, host, port and path become `user`, `password`, `host`, `port` and `dbname`; its query
 * parameters are keywords too, as in libpq.
 *
 * @example
 * parseConnectionString("host=localhost user='my user' port=5432") // Map { host → localhost, user → my user, port → 5432 }
 */
export function parseConnectionString(raw: string): Map<string, string> | undefined {
  const text = raw.trim();
  return /^postgres(?:ql)?:\/\//i.test(text) ? parseUrl(text) : parseKeywords(text);
}

function parseUrl(text: string): Map<string, string> | undefined {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return undefined;
  }
  const found = new Map<string, string>();
  try {
    const put = (keyword: string, value: string) => value && found.set(keyword, decodeURIComponent(value));
    put("user", url.username);
    put("password", url.password);
    put("host", url.hostname.replace(/^\[(.*)\]$/, "$1"));
    put("port", url.port);
    put("dbname", url.pathname.slice(1));
  } catch {
    return undefined; // a malformed %-escape
  }
  for (const [keyword, value] of url.searchParams) found.set(keyword, value);
  return found;
}

/** libpq's `keyword = value` pairs; a value may be single-quoted, with `\'` and `\\` inside. */
function parseKeywords(text: string): Map<string, string> | undefined {
  const found = new Map<string, string>();
  const pair = /\s*([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(?:'((?:[^'\\]|\\.)*)'|((?:[^\s'\\]|\\.)*))\s*/y;
  let at = 0;
  while (at < text.length) {
    pair.lastIndex = at;
    const match = pair.exec(text);
    if (!match || pair.lastIndex === at) return undefined;
    found.set(match[1]!, (match[2] ?? match[3] ?? "").replace(/\\(.)/g, "$1"));
    at = pair.lastIndex;
  }
  return found.size ? found : undefined;
}

/** A value inside the `options` startup parameter: spaces and backslashes are escaped. */
function escapeOption(value: string): string {
  return value.replace(/[\\\s]/g, (c) => `\\${c}`);
}

/** The pool settings with the TLS files read; called when the pool is made. */
export async function poolConfig(target: PgTarget): Promise<PoolConfig> {
  const { tls } = target;
  if (!tls) return { ...target.settings, ssl: false };
  const read = (path: string | undefined) => (path === undefined ? undefined : readFile(path, "utf8"));
  const [ca, cert, key] = await Promise.all([read(tls.rootCert), read(tls.cert), read(tls.key)]);
  const ssl = {
    ...(ca !== undefined ? { ca } : {}),
    ...(cert !== undefined ? { cert } : {}),
    ...(key !== undefined ? { key } : {}),
    // libpq: require checks nothing; verify-ca checks the chain, not the name; verify-full both.
    rejectUnauthorized: tls.mode !== "require",
    ...(tls.mode === "verify-ca" ? { checkServerIdentity: () => undefined } : {}),
  };
  return { ...target.settings, ssl };
}

/** A pg error as far as a message may carry it. */
export interface SafePgError extends Error {
  /** PostgreSQL's SQLSTATE (`23505`) or the socket's code (`ECONNREFUSED`). */
  code?: string;
}

/**
 * A pg or socket error as an Error that is safe to log and to keep as a `cause`: its name, its code
 * (SQLSTATE or the socket's), where the pool connects, and its message, with the password and the
 * connection string blanked out wherever they appear. The original error is dropped.
 *
 * @example
 * safePgError(error, target).message // "ECONNREFUSED: connect ECONNREFUSED 127.0.0.1:1 (PostgreSQL at 127.0.0.1:1/test as postgres)"
 */
export function safePgError(error: unknown, target: PgTarget): SafePgError {
  const failure = (error ?? {}) as { name?: unknown; code?: unknown; message?: unknown; errors?: unknown };
  const code = typeof failure.code === "string" && failure.code ? failure.code : undefined;
  // Node's AggregateError for a host with several addresses has no message of its own.
  const nested = Array.isArray(failure.errors) ? failure.errors.map((e) => (e as Error)?.message).filter(Boolean).join("; ") : "";
  const detail = (typeof failure.message === "string" && failure.message) || nested || String(error);
  let message = `${code ? `${code}: ` : ""}${detail} (PostgreSQL at ${target.where})`;
  for (const secret of target.secrets) message = message.split(secret).join("<redacted>");
  const safe: SafePgError = new Error(message);
  safe.name = typeof failure.name === "string" && failure.name ? failure.name : "Error";
  if (code) safe.code = code;
  return safe;
}
