/**
 * `state.postgresql`: state in a PostgreSQL table through node-postgres (`pg`), in the layout of
 * Dapr's state.postgresql v1 (see postgresql-schema.ts), so a Dapr app and a mecha app can share a
 * table. Strongly consistent: every etag and first-write rule is part of the one statement that
 * writes, so the check and the write are a single atomic step in PostgreSQL.
 *
 * The etag is the row's `xmin`, the id of the transaction that last wrote it, as in Dapr v1: every
 * write gives a row a new one, a delete and a re-insert give a different one, and an etag Dapr
 * handed out works here. (Dapr's v2 layout, with an `etag uuid` column and values as bytea, is a
 * different table that neither version can read.)
 *
 * Values: JSON text goes into `value jsonb`; bytes go in as Dapr stores them, a base64 JSON string
 * with `isbinary = true`. jsonb cannot hold a NUL character (`\u0000`) or an unpaired surrogate in
 * a string, which JSON text may; such a value is kept verbatim as `{"jsonText": "<the JSON>"}` with
 * `isbinary = true`, a form that Dapr (which cannot save such values at all) does not read.
 *
 * Expired rows are never read: every statement compares `expiredate` with the server's `now()`,
 * and writes treat an expired row as absent. A timer deletes them every `cleanupInterval`.
 */
import { availableParallelism } from "node:os";
import type { Pool, PoolClient, QueryResultRow } from "pg";
import {
  type EncodedValue,
  type StateFeature,
  type StateStoreComponent,
  type StoredItem,
  type StoreTransactionOperation,
} from "../../blocks/state.ts";
import { parseDurationMs, type ComponentMetadata } from "../../config/metadata.ts";
import { ComponentConfigError, ErrorCodes, EtagMismatchError, InvalidRequestError, MechaError } from "../../errors.ts";
import type { ComponentOptions } from "../types.ts";
import { poolConfig, readPgTarget, safePgError } from "./postgresql-connection.ts";
import { deleteExpired, inTransaction, parseTableName, prepareTables, TableLayoutError, type TableName } from "./postgresql-schema.ts";

const type = "state.postgresql";
const features: readonly StateFeature[] = ["etag", "transactional", "ttl"];
/** setInterval cannot wait longer than this; a longer cleanupInterval is capped to it. */
const maxTimerMs = 2_147_483_647;
/**
 * SQLSTATEs after which nothing of the statement or transaction was applied, so it can run again:
 * the server ended the session (57P01-03) or had no connection slot for a new one (53300), a
 * deadlock or serialization failure rolled it back (40P01, 40001).
 */
const notAppliedCodes = new Set(["57P01", "57P02", "57P03", "53300", "40P01", "40001"]);
/** JSON text that jsonb refuses: a `\u0000` escape or a lone surrogate's escape. */
const notForJsonb = /\\u(?:0000|d[89a-f])/i;
/** A NUL, or a UTF-16 surrogate without its pair (which UTF-8 cannot encode). */
const notForText = /\0|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

interface Row extends QueryResultRow {
  key: string;
  value: string;
  isbinary: boolean;
  etag: string;
}

/** The pool, or one connection of it inside a transaction. */
type Queryable = Pick<PoolClient, "query">;

interface Connection {
  pool: Pool;
  timer: ReturnType<typeof setInterval> | undefined;
}

/**
 * Creates a PostgreSQL state store. Reads Dapr's v1 metadata: `connectionString` (required; a
 * `postgres://` URL or libpq `key=value` pairs), the fields that override it (`host`, `hostaddr`,
 * `port`, `database`, `user`, `password`, `sslRootCert`), `tableName` (`state`; may be
 * `schema.table`), `metadataTableName` (`dapr_metadata`), `timeout` (`20s`: connecting and each
 * statement), `cleanupInterval` (`1h`; `0` or negative: no periodic cleanup), `maxConns` and
 * `connectionMaxIdleTime`. The tables are made, and the pool opened, on first use.
 *
 * @example
 * const store = create({ name: "orders", appId: "app", baseDir: process.cwd(),
 *   metadata: new ComponentMetadata({ connectionString: "postgres://postgres@127.0.0.1:5432/app" }, "orders") });
 */
export function create(options: ComponentOptions): StateStoreComponent {
  const { metadata, name: component, logger } = options;
  const settings = readSettings(metadata);
  const target = readPgTarget(metadata, {
    applicationName: `mecha:${component}`,
    timeoutMs: settings.timeoutMs,
    maxConnections: settings.maxConnections,
    idleTimeoutMs: settings.idleTimeoutMs,
    baseDir: options.baseDir,
  });
  const { table, metadataTable, cleanupMs } = settings;
  const sql = statements(table.sql);
  /**
   * Runs one of the statements. By default each connection prepares it once, by name (Dapr's
   * default too); queryExecMode exec, simple_protocol or describe_exec send it unnamed each time,
   * which a pooler such as PgBouncer in transaction mode needs.
   */
  const query = <R extends QueryResultRow>(db: Queryable, statement: StatementName, values: unknown[]) =>
    db.query<R>(settings.prepared ? { name: `mecha-state-${statement}`, text: sql[statement], values } : { text: sql[statement], values });

  /** A failure as the caller sees it: sanitized, and a config error where the config is at fault. */
  function failure(error: unknown): Error {
    if (error instanceof MechaError) return error;
    if (error instanceof TableLayoutError) return new ComponentConfigError(error.message, { component, field: "tableName" });
    const safe = safePgError(error, target);
    // Wrong credentials, or no such database or role: connecting will not work until the config changes.
    if (["28P01", "28000", "3D000"].includes(safe.code ?? "")) {
      return new ComponentConfigError(`cannot connect: ${safe.message}`, { component, field: "connectionString", cause: safe });
    }
    if (safe.code === "54000") {
      return new InvalidRequestError(`the write exceeds a PostgreSQL limit (a key longer than about 2,700 bytes does not fit the primary key index): ${safe.message}`, { component, cause: safe });
    }
    return safe;
  }

  async function open(): Promise<Connection> {
    let pg: typeof import("pg");
    try {
      pg = await import("pg");
    } catch (cause) {
      throw new MechaError(ErrorCodes.stateGet, `state store "${component}" (${type}) could not load pg; install it with "npm install pg"`, { component, cause });
    }
    const pool = new pg.Pool(await poolConfig(target).catch((error: unknown) => Promise.reject(failure(error))));
    // An idle connection that breaks (a server restart, pg_terminate_backend) leaves the pool,
    // which opens a new one on the next call; without a listener the error would end the process.
    pool.on("error", (error) => logger?.warn(`state store "${component}": an idle PostgreSQL connection failed; the next call opens a new one`, { error: safePgError(error, target).message }));
    try {
      await prepareTables(pool, table, metadataTable);
    } catch (error) {
      await pool.end().catch(() => undefined);
      throw failure(error);
    }
    let timer: Connection["timer"];
    if (cleanupMs > 0) {
      let running = false;
      timer = setInterval(() => {
        if (running) return;
        running = true;
        // Reads skip expired rows anyway, so a failed round only leaves them for the next one.
        deleteExpired(pool, table, metadataTable, cleanupMs)
          .catch((error: unknown) => {
            // A round still running when close() ended the pool has nothing to report.
            if (!pool.ending) logger?.warn(`state store "${component}": deleting expired rows failed`, { error: failure(error).message });
          })
          .finally(() => (running = false));
      }, Math.min(cleanupMs, maxTimerMs));
      timer.unref();
    }
    return { pool, timer };
  }

  let connection: Promise<Connection> | undefined;
  const connect = (): Promise<Connection> =>
    (connection ??= open().catch((error: unknown) => {
      connection = undefined;
      throw error;
    }));

  /**
   * Runs `work` on the pool. Runs it again when PostgreSQL says nothing was applied, or the query
   * never left a closed connection; a read also when the connection dropped under it, which a
   * write cannot know it survived. When the server ended every session of the pool, each pooled
   * connection may fail once before the pool has noticed, so the attempts are the pool's size and
   * two more, each after a short pause in which the pool drops the connections it saw fail.
   */
  async function run<T>(mode: "read" | "write", work: (pool: Pool) => Promise<T>): Promise<T> {
    const { pool } = await connect();
    for (let attempt = 1; ; attempt++) {
      try {
        return await work(pool);
      } catch (error) {
        if (error instanceof MechaError || attempt > settings.maxConnections + 1 || !retryable(error, mode)) throw failure(error);
        await new Promise((resolve) => setTimeout(resolve, 5 * attempt));
      }
    }
  }

  /** One upsert or delete; an etag or first-write rule that does not hold is an EtagMismatchError. */
  async function apply(db: Queryable, op: StoreTransactionOperation): Promise<string | undefined> {
    checkKey(op.key, component);
    const xid = op.etag === undefined ? undefined : etagToXid(op.etag);
    if (op.etag !== undefined && xid === undefined) throw new EtagMismatchError(op.key, component);
    if (op.operation === "delete") {
      const deleted = xid === undefined ? await query(db, "delete", [op.key]) : await query(db, "deleteIfEtag", [op.key, xid]);
      if (xid !== undefined && !deleted.rowCount) throw new EtagMismatchError(op.key, component);
      return undefined;
    }
    const { value, isBinary } = toColumns(op.value);
    const ttl = op.ttlInSeconds ?? null;
    const written =
      xid !== undefined
        ? await query<{ etag: string }>(db, "updateIfEtag", [op.key, value, isBinary, ttl, xid])
        : await query<{ etag: string }>(db, op.concurrency === "first-write" ? "insertIfAbsent" : "upsert", [op.key, value, isBinary, ttl]);
    const etag = written.rows[0]?.etag;
    if (etag === undefined) throw new EtagMismatchError(op.key, component);
    return etag;
  }

  return {
    type,
    features,

    async get(key) {
      checkKey(key, component);
      const { rows } = await run("read", (pool) => query<Row>(pool, "get", [key]));
      return rows[0] && fromRow(rows[0], component);
    },

    async getBulk(keys) {
      for (const key of keys) checkKey(key, component);
      if (!keys.length) return [];
      const { rows } = await run("read", (pool) => query<Row>(pool, "getBulk", [[...new Set(keys)]]));
      const byKey = new Map(rows.map((row) => [row.key, fromRow(row, component)]));
      return keys.map((key) => byKey.get(key));
    },

    async set(request) {
      const etag = await run("write", (pool) => apply(pool, { operation: "upsert", ...request }));
      return { etag: etag! };
    },

    async delete(request) {
      await run("write", (pool) => apply(pool, { operation: "delete", ...request }));
    },

    async transaction(operations) {
      for (const op of operations) checkKey(op.key, component);
      if (operations.length <= 1) {
        if (operations[0]) await run("write", (pool) => apply(pool, operations[0]!));
        return;
      }
      await run("write", (pool) =>
        inTransaction(pool, async (client) => {
          for (const op of operations) await apply(client, op);
        }),
      );
    },

    async close() {
      const pending = connection;
      connection = undefined;
      const closing = await pending?.catch(() => undefined);
      if (!closing) return;
      clearInterval(closing.timer);
      await closing.pool.end();
    },
  };
}

type StatementName = "get" | "getBulk" | "upsert" | "insertIfAbsent" | "updateIfEtag" | "delete" | "deleteIfEtag";

/** The statements, for one quoted table name. `$4` is the TTL in seconds (NULL: none). */
function statements(table: string): Record<StatementName, string> {
  const alive = "(expiredate IS NULL OR expiredate > now())";
  const expiry = "now() + $4::bigint * interval '1 second'";
  const upsert = `INSERT INTO ${table} AS t (key, value, isbinary, expiredate) VALUES ($1, $2::jsonb, $3, ${expiry})
    ON CONFLICT (key) DO UPDATE SET value = excluded.value, isbinary = excluded.isbinary, updatedate = now(), expiredate = excluded.expiredate`;
  return {
    get: `SELECT value::text AS value, isbinary, xmin::text AS etag FROM ${table} WHERE key = $1 AND ${alive}`,
    getBulk: `SELECT key, value::text AS value, isbinary, xmin::text AS etag FROM ${table} WHERE key = ANY($1::text[]) AND ${alive}`,
    upsert: `${upsert} RETURNING xmin::text AS etag`,
    // The row may exist but have expired (not yet cleaned up): then it is replaced.
    insertIfAbsent: `${upsert} WHERE t.expiredate IS NOT NULL AND t.expiredate <= now() RETURNING xmin::text AS etag`,
    updateIfEtag: `UPDATE ${table} SET value = $2::jsonb, isbinary = $3, updatedate = now(), expiredate = ${expiry}
      WHERE key = $1 AND xmin = $5::xid AND ${alive} RETURNING xmin::text AS etag`,
    delete: `DELETE FROM ${table} WHERE key = $1`,
    deleteIfEtag: `DELETE FROM ${table} WHERE key = $1 AND xmin = $2::xid AND ${alive}`,
  };
}

/** What the table holds for a value: see the file's comment. */
function toColumns(value: EncodedValue): { value: string; isBinary: boolean } {
  if (typeof value !== "string") return { value: JSON.stringify(Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString("base64")), isBinary: true };
  if (notForJsonb.test(value)) return { value: JSON.stringify({ jsonText: value }), isBinary: true };
  return { value, isBinary: false };
}

function fromRow(row: Row, component: string): StoredItem {
  if (!row.isbinary) return { value: row.value, etag: row.etag };
  const stored = JSON.parse(row.value) as unknown;
  if (typeof stored === "string") return { value: new Uint8Array(Buffer.from(stored, "base64")), etag: row.etag };
  const jsonText = (stored as { jsonText?: unknown } | null)?.jsonText;
  if (typeof jsonText === "string") return { value: jsonText, etag: row.etag };
  throw new MechaError(ErrorCodes.stateGet, `the row of key "${row.key ?? ""}" has isbinary = true but a value that is neither base64 text nor {"jsonText": ...}`, { component });
}

/** An etag is an xmin: a 32-bit transaction id in decimal. Anything else matches no row. */
function etagToXid(etag: string): string | undefined {
  return /^\d{1,10}$/.test(etag) && Number(etag) <= 0xffff_ffff ? etag : undefined;
}

/** PostgreSQL text holds neither a NUL nor half a surrogate pair (pg would write U+FFFD instead). */
function checkKey(key: string, component: string): void {
  if (notForText.test(key)) {
    throw new InvalidRequestError("a state key with a NUL character or an unpaired surrogate cannot be stored in PostgreSQL, whose text holds neither", {
      code: ErrorCodes.invalidKey,
      component,
    });
  }
}

function retryable(error: unknown, mode: "read" | "write"): boolean {
  const { code, message } = (error ?? {}) as { code?: string; message?: string };
  if (notAppliedCodes.has(code ?? "") || /is not queryable/.test(message ?? "")) return true;
  return mode === "read" && (code === "ECONNRESET" || code === "EPIPE" || /^Connection terminated/.test(message ?? ""));
}

interface Settings {
  table: TableName;
  metadataTable: TableName;
  timeoutMs: number;
  cleanupMs: number;
  maxConnections: number;
  idleTimeoutMs: number | undefined;
  /** Whether statements are prepared once per connection (named) or sent unnamed each time. */
  prepared: boolean;
}

function readSettings(metadata: ComponentMetadata): Settings {
  const table = readTableName(metadata, "tableName", "state");
  const metadataTable = readTableName(metadata, "metadataTableName", "dapr_metadata");
  if (metadataTable.label === table.label) throw metadata.error("metadataTableName", `must differ from tableName ("${table.label}")`);
  if (metadata.has("tablePrefix")) {
    throw metadata.error("tablePrefix", "belongs to state.postgresql v2, whose table layout mecha does not implement; mecha uses v1's layout (tableName, metadataTableName)");
  }
  for (const field of ["useAzureAD", "useAWSIAM"]) {
    if (metadata.boolean(field, false)) throw metadata.error(field, "is not supported by mecha: put a user and password in connectionString (or the password field)");
  }
  metadata.boolean("actorStateStore", false); // accepted: mecha has no actors
  const execMode = metadata.oneOf("queryExecMode", ["cache_statement", "cache_describe", "describe_exec", "exec", "simple_protocol"], "cache_statement");
  const timeoutMs = readDuration(metadata, ["timeout", "timeoutInSeconds"], 20_000);
  if (timeoutMs < 1000) throw metadata.error(metadata.has("timeout") ? "timeout" : "timeoutInSeconds", "must be at least 1s");
  const maxConns = metadata.integer("maxConns", 0);
  return {
    table,
    metadataTable,
    timeoutMs,
    cleanupMs: readDuration(metadata, ["cleanupInterval", "cleanupIntervalInSeconds"], 3_600_000),
    maxConnections: maxConns > 0 ? maxConns : Math.max(4, availableParallelism()),
    idleTimeoutMs: metadata.has("connectionMaxIdleTime") ? readDuration(metadata, ["connectionMaxIdleTime"], 0) : undefined,
    prepared: execMode === "cache_statement" || execMode === "cache_describe",
  };
}

function readTableName(metadata: ComponentMetadata, field: string, fallback: string): TableName {
  const raw = metadata.string(field, fallback);
  const name = parseTableName(raw);
  if (!name) throw metadata.error(field, `must be a table name, optionally schema-qualified ("state", "public.state"): letters, digits, _ and $, at most 63 characters a part; got ${JSON.stringify(raw)}`);
  return name;
}

/**
 * A duration as Dapr reads one: Go's form (`500ms`, `30s`, `1h30m`, negative with `-`) or a bare
 * number of seconds (where mecha's own durations read a bare number as milliseconds). The first of `fields` that is set is read (Dapr's older names are aliases).
 */
function readDuration(metadata: ComponentMetadata, fields: readonly string[], fallbackMs: number): number {
  const field = fields.find((f) => metadata.has(f));
  if (field === undefined) return fallbackMs;
  const raw = metadata.string(field)!.trim();
  const sign = raw.startsWith("-") ? -1 : 1;
  const unsigned = raw.replace(/^[-+]/, "");
  const ms = /^\d+$/.test(unsigned) ? Number(unsigned) * 1000 : /^\d/.test(unsigned) ? parseDurationMs(unsigned) : undefined;
  if (ms === undefined) throw metadata.error(field, `must be a duration like "30s", "5m" or "1h", or a number of seconds; got "${raw}"`);
  return sign * ms;
}
