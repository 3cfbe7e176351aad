/**
 * `state.sqlite`: a durable state store in one SQLite file, through `better-sqlite3`. Strongly
 * consistent, also across processes sharing the file: every write checks its etag and writes
 * inside one `BEGIN IMMEDIATE` transaction, which holds SQLite's write lock from the check on.
 */
import { randomUUID } from "node:crypto";
import { mkdir } from "node:fs/promises";
import { dirname, isAbsolute, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import type BetterSqlite3 from "better-sqlite3";
import {
  checkEtag,
  type EncodedValue,
  type StateFeature,
  type StateStoreComponent,
  type StoredItem,
  type StoreTransactionOperation,
} from "../../blocks/state.ts";
import { ComponentConfigError } from "../../errors.ts";
import type { ComponentOptions } from "../types.ts";

const type = "state.sqlite";
const features: readonly StateFeature[] = ["etag", "transactional", "ttl"];
const tableNamePattern = /^[A-Za-z_][A-Za-z0-9_]*$/;
/** setInterval cannot wait longer than this; a longer cleanupInterval is capped to it. */
const maxTimerMs = 2_147_483_647;

interface Row {
  key: string;
  value: string | Uint8Array;
  etag: string;
}

interface Connection {
  db: BetterSqlite3.Database;
  get: BetterSqlite3.Statement<[string, number], Row>;
  getBulk: BetterSqlite3.Statement<[string, number], Row>;
  /** Runs the operations in one IMMEDIATE transaction; returns each upsert's new etag. */
  write: (operations: readonly StoreTransactionOperation[]) => Array<string | undefined>;
  timer: ReturnType<typeof setInterval> | undefined;
}

/**
 * Creates a SQLite state store. Reads Dapr's metadata: `connectionString` (a file path relative
 * to the project root, `file:path`, or `:memory:`), `tableName` (default `state`), `busyTimeout`
 * (default `2s`), `cleanupInterval` (default `1h`; `0` or negative disables the periodic removal
 * of expired rows; reads skip them either way) and `timeout`, which is validated but cannot bound
 * a query, because better-sqlite3 runs each one synchronously; the wait for a lock is bounded by
 * `busyTimeout`. The file is opened on first use.
 *
 * @example
 * const store = create({ name: "statestore", appId: "app", baseDir: process.cwd(),
 *   metadata: new ComponentMetadata({ connectionString: "data/state.db" }, "statestore") });
 */
export function create(options: ComponentOptions): StateStoreComponent {
  const { metadata, name: component } = options;
  const file = resolveFile(metadata.requiredString("connectionString"), options.baseDir, metadata);
  const table = metadata.string("tableName", "state");
  if (!tableNamePattern.test(table)) {
    throw metadata.error("tableName", `must be letters, digits and underscores, not starting with a digit; got "${table}"`);
  }
  const busyTimeoutMs = metadata.durationMs("busyTimeout", 2_000);
  metadata.durationMs("timeout", 20_000); // validated only: see above
  // Dapr disables cleanup with a negative interval, which durationMs cannot parse.
  const cleanupMs = /^\s*-/.test(metadata.string("cleanupInterval", "")) ? 0 : metadata.durationMs("cleanupInterval", 3_600_000);

  async function open(): Promise<Connection> {
    const { default: Database } = await import("better-sqlite3");
    let db: BetterSqlite3.Database;
    try {
      if (file !== ":memory:") await mkdir(dirname(file), { recursive: true });
      db = new Database(file, { timeout: busyTimeoutMs });
    } catch (cause) {
      throw new ComponentConfigError(`cannot open the SQLite database: ${(cause as Error).message}`, {
        component,
        field: "connectionString",
        cause,
      });
    }
    const t = `"${table}"`;
    const unexpired = "(expires_at IS NULL OR expires_at > ?)";
    try {
      // WAL lets readers in other processes proceed while one writes.
      if (file !== ":memory:") db.pragma("journal_mode = WAL");
      // `value` is declared BLOB, which gives no type affinity: TEXT stays TEXT and bytes stay
      // bytes, so both kinds of value round-trip. (`ANY` would mean NUMERIC and turn "42" into 42.)
      db.exec(`CREATE TABLE IF NOT EXISTS ${t} (
        key TEXT NOT NULL PRIMARY KEY,
        value BLOB NOT NULL,
        etag TEXT NOT NULL,
        expires_at INTEGER NULL,
        updated_at INTEGER NOT NULL
      )`);
      db.exec(`CREATE INDEX IF NOT EXISTS "${table}_expires_at" ON ${t} (expires_at) WHERE expires_at IS NOT NULL`);
    } catch (error) {
      db.close();
      throw error;
    }
    const read = db.prepare<[string, number], Row>(`SELECT key, value, etag FROM ${t} WHERE key = ? AND ${unexpired}`);
    const upsert = db.prepare(
      `INSERT INTO ${t} (key, value, etag, expires_at, updated_at) VALUES (?, ?, ?, ?, ?)
       ON CONFLICT (key) DO UPDATE SET value = excluded.value, etag = excluded.etag,
         expires_at = excluded.expires_at, updated_at = excluded.updated_at`,
    );
    const remove = db.prepare(`DELETE FROM ${t} WHERE key = ?`);
    const cleanup = db.prepare(`DELETE FROM ${t} WHERE expires_at IS NOT NULL AND expires_at <= ?`);

    // An expired row reads as absent, so etag checks and first-write treat it as gone.
    const apply = db.transaction((operations: readonly StoreTransactionOperation[], now: number) =>
      operations.map((op) => {
        const current = toItem(read.get(op.key, now));
        if (op.operation === "delete") {
          checkEtag(op.key, current, { etag: op.etag, concurrency: "last-write" }, component);
          remove.run(op.key);
          return undefined;
        }
        checkEtag(op.key, current, op, component);
        const etag = randomUUID();
        const expiresAt = op.ttlInSeconds === undefined ? null : now + op.ttlInSeconds * 1000;
        upsert.run(op.key, op.value, etag, expiresAt, now);
        return etag;
      }),
    );

    let timer: Connection["timer"];
    if (cleanupMs > 0) {
      timer = setInterval(() => {
        // A busy database just skips this round; reads never return expired rows anyway.
        try {
          cleanup.run(Date.now());
        } catch {}
      }, Math.min(cleanupMs, maxTimerMs));
      timer.unref();
    }

    return {
      db,
      get: read,
      // One query for any number of keys: the keys travel as one JSON array parameter.
      getBulk: db.prepare<[string, number], Row>(
        `SELECT key, value, etag FROM ${t} WHERE key IN (SELECT value FROM json_each(?)) AND ${unexpired}`,
      ),
      write: (operations) => apply.immediate(operations, Date.now()),
      timer,
    };
  }

  let connection: Promise<Connection> | undefined;
  /** The open connection, once there is one: the hot path then skips a promise per call. */
  let opened: Connection | undefined;
  const connect = (): Promise<Connection> =>
    (connection ??= open().then(
      (c) => (opened = c),
      (error: unknown) => {
        connection = undefined;
        throw error;
      },
    ));

  return {
    type,
    features,

    async get(key) {
      const { get } = opened ?? (await connect());
      return toItem(get.get(key, Date.now()));
    },

    async getBulk(keys) {
      const { getBulk } = opened ?? (await connect());
      const rows = getBulk.all(JSON.stringify(keys), Date.now());
      const byKey = new Map(rows.map((row) => [row.key, row]));
      return keys.map((key) => toItem(byKey.get(key)));
    },

    async set(request) {
      const { write } = opened ?? (await connect());
      return { etag: write([{ operation: "upsert", ...request }])[0]! };
    },

    async delete(request) {
      const { write } = opened ?? (await connect());
      write([{ operation: "delete", ...request }]);
    },

    async transaction(operations) {
      const { write } = opened ?? (await connect());
      write(operations);
    },

    async close() {
      const pending = connection;
      connection = undefined;
      opened = undefined;
      const closing = await pending?.catch(() => undefined);
      if (!closing) return;
      clearInterval(closing.timer);
      closing.db.close();
    },
  };
}

/** better-sqlite3 returns BLOBs as Buffers; callers get a plain Uint8Array, as they stored it. */
function toItem(row: Row | undefined): StoredItem | undefined {
  if (!row) return undefined;
  const value: EncodedValue = typeof row.value === "string" ? row.value : new Uint8Array(row.value);
  return { value, etag: row.etag };
}

/** Accepts a path, Dapr's `file:` forms (driver options after `?` are ignored) and `:memory:`. */
function resolveFile(raw: string, baseDir: string, metadata: ComponentOptions["metadata"]): string {
  const invalid = () => metadata.error("connectionString", `must be a file path, "file:<path>" or ":memory:"; got "${raw}"`);
  let target = raw.trim();
  if (target.startsWith("file://")) {
    try {
      target = fileURLToPath(target.split("?")[0]!);
    } catch {
      throw invalid();
    }
  } else if (target.startsWith("file:")) target = target.slice("file:".length).split("?")[0]!;
  if (target === ":memory:") return target;
  if (!target) throw invalid();
  return isAbsolute(target) ? target : resolve(baseDir, target);
}
