/**
 * `MechaStateObject`: the Durable Object behind `state.cloudflare.durableobjects`. One object
 * holds every key of a store in a table of its SQLite-backed storage; the component
 * (./cloudflare-durableobjects.ts) calls the RPC methods below through a stub.
 *
 * Why the SQL API rather than the KV storage API: TTL needs "give me the value unless it has
 * expired" and "delete everything that has expired", which are one indexed query each in SQL
 * and a full scan with KV storage; the table is also the same shape as state.sqlite's, so the two
 * stores behave alike. An etag check and its write run in one `transactionSync`, so a
 * transaction is all-or-nothing even when one of its operations fails half-way. (A Durable
 * Object also runs one request's synchronous code at a time, so no other request can slip
 * between the check and the write.)
 *
 * The Worker's entry module must export this class, and wrangler.toml must declare it as a
 * SQLite-backed class:
 *
 * ```toml
 * [[durable_objects.bindings]]
 * name = "MECHA_STATE"
 * class_name = "MechaStateObject"
 *
 * [[migrations]]
 * tag = "v1"
 * new_sqlite_classes = ["MechaStateObject"]
 * ```
 */
import type { DurableObjectState, SqlStorage, SqlStorageValue } from "@cloudflare/workers-types/index.ts";
import { DurableObject } from "cloudflare:workers";
import { checkEtag, type EncodedValue, type StoredItem, type StoreTransactionOperation } from "../../blocks/state.ts";
import { EtagMismatchError } from "../../errors.ts";
import type { StateObjectApplyResult, StateObjectRpc } from "./cloudflare-durableobjects.ts";

const table = "mecha_state";

interface Row extends Record<string, SqlStorageValue> {
  key: string;
  /** TEXT for JSON, BLOB (an ArrayBuffer here) for bytes: the column has no type affinity. */
  value: string | ArrayBuffer;
  etag: string;
}

/** The Durable Object class that stores one state store's keys. See the module comment. */
export class MechaStateObject extends DurableObject<unknown> implements StateObjectRpc {
  readonly #sql: SqlStorage;

  constructor(ctx: DurableObjectState, env: unknown) {
    super(ctx, env);
    this.#sql = ctx.storage.sql;
    // `value` is declared BLOB, which gives no type affinity: TEXT stays TEXT and bytes stay bytes.
    this.#sql.exec(`CREATE TABLE IF NOT EXISTS ${table} (
      key TEXT NOT NULL PRIMARY KEY,
      value BLOB NOT NULL,
      etag TEXT NOT NULL,
      expires_at INTEGER NULL
    )`);
    this.#sql.exec(`CREATE INDEX IF NOT EXISTS ${table}_expires_at ON ${table} (expires_at) WHERE expires_at IS NOT NULL`);
  }

  async get(key: string): Promise<StoredItem | null> {
    return this.#read(key, Date.now()) ?? null;
  }

  async getBulk(keys: string[]): Promise<Array<StoredItem | null>> {
    // Local SQLite: one indexed lookup per key costs microseconds and no round trip.
    const now = Date.now();
    return keys.map((key) => this.#read(key, now) ?? null);
  }

  async apply(operations: StoreTransactionOperation[]): Promise<StateObjectApplyResult> {
    const now = Date.now();
    let firstExpiry: number | undefined;
    let etags: Array<string | null>;
    try {
      etags = this.ctx.storage.transactionSync(() =>
        operations.map((op) => {
          // An expired row reads as absent, so etag checks and first-write treat it as gone.
          const current = this.#read(op.key, now);
          if (op.operation === "delete") {
            checkEtag(op.key, current, { etag: op.etag, concurrency: "last-write" });
            this.#sql.exec(`DELETE FROM ${table} WHERE key = ?`, op.key);
            return null;
          }
          checkEtag(op.key, current, op);
          const etag = crypto.randomUUID();
          const expiresAt = op.ttlInSeconds === undefined ? null : now + op.ttlInSeconds * 1000;
          if (expiresAt !== null && (firstExpiry === undefined || expiresAt < firstExpiry)) firstExpiry = expiresAt;
          this.#sql.exec(
            `INSERT INTO ${table} (key, value, etag, expires_at) VALUES (?, ?, ?, ?)
             ON CONFLICT (key) DO UPDATE SET value = excluded.value, etag = excluded.etag, expires_at = excluded.expires_at`,
            op.key,
            toSqlValue(op.value),
            etag,
            expiresAt,
          );
          return etag;
        }),
      );
    } catch (error) {
      // transactionSync has rolled back every operation before this one.
      if (error instanceof EtagMismatchError) return { applied: false, etagMismatch: error.key };
      throw error;
    }
    if (firstExpiry !== undefined) await this.#sweepAt(firstExpiry);
    return { applied: true, etags };
  }

  /** Deletes the rows that have expired, and wakes again for the next one to expire. */
  override async alarm(): Promise<void> {
    this.#sql.exec(`DELETE FROM ${table} WHERE expires_at IS NOT NULL AND expires_at <= ?`, Date.now());
    const [next] = this.#sql.exec<{ next: number | null }>(`SELECT min(expires_at) AS next FROM ${table}`).toArray();
    if (next?.next != null) await this.ctx.storage.setAlarm(next.next);
  }

  /**
   * Reads skip expired rows whenever they are deleted; the alarm only keeps storage from filling
   * up with them. Two writers racing here can leave the later time set, which only delays the sweep.
   */
  async #sweepAt(time: number): Promise<void> {
    const scheduled = await this.ctx.storage.getAlarm();
    if (scheduled === null || scheduled > time) await this.ctx.storage.setAlarm(time);
  }

  #read(key: string, now: number): StoredItem | undefined {
    const [row] = this.#sql
      .exec<Row>(`SELECT key, value, etag FROM ${table} WHERE key = ? AND (expires_at IS NULL OR expires_at > ?)`, key, now)
      .toArray();
    if (!row) return undefined;
    return { value: typeof row.value === "string" ? row.value : new Uint8Array(row.value), etag: row.etag };
  }
}

/** SQL binds bytes as an ArrayBuffer; a copy, so a view's neighbouring bytes are not stored too. */
function toSqlValue(value: EncodedValue): string | ArrayBuffer {
  return typeof value === "string" ? value : (value.slice().buffer as ArrayBuffer);
}
