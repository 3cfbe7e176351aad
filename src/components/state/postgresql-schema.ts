/**
 * The tables of `state.postgresql`, in the layout of Dapr's state.postgresql v1, so that a table
 * Dapr made works here and a table made here works with Dapr:
 *
 * - the state table: `key text PRIMARY KEY, value jsonb, isbinary boolean, insertdate,
 *   updatedate, expiredate` (timestamps with time zone); the row's `xmin` is its etag;
 * - the metadata table (`key text PRIMARY KEY, value text`), where Dapr keeps its migration level
 *   (`migrations` = `2` once `expiredate` exists), the row it locks while migrating (`lock`), and
 *   when the last cleanup of expired rows ran.
 *
 * Table names are Dapr's `schema.table` or `table`, checked against an identifier pattern and then
 * quoted; Dapr puts them into its SQL unquoted, so they are lower-cased first, which is what
 * PostgreSQL does to an unquoted name. Every value in a statement is a parameter.
 */
import type { Pool, PoolClient } from "pg";

/** `table` or `schema.table`: letters, digits, `_` and `$`, not starting with a digit or `$`. */
const tableNamePattern = /^(?:([A-Za-z_][A-Za-z0-9_$]{0,62})\.)?([A-Za-z_][A-Za-z0-9_$]{0,62})$/;
/** The migration level Dapr's v1 component records once the table has all of its columns. */
const daprMigrationLevel = 2;

/** A checked table name, ready to put into SQL. */
export interface TableName {
  /** Quoted, schema-qualified when given: `"public"."state"`. */
  sql: string;
  /** The name without its schema, lower-cased: for the name of the table's index. */
  bare: string;
  /** As PostgreSQL knows it: `public.state`. */
  label: string;
}

/** The table name, or `undefined` when it is not a plain (optionally schema-qualified) identifier. */
export function parseTableName(raw: string): TableName | undefined {
  const match = tableNamePattern.exec(raw.trim());
  if (!match) return undefined;
  const parts = [match[1], match[2]!].filter((p): p is string => p !== undefined).map((p) => p.toLowerCase());
  return { sql: parts.map((p) => `"${p}"`).join("."), bare: parts.at(-1)!, label: parts.join(".") };
}

/** A state table exists under the configured name but is not in v1's layout. */
export class TableLayoutError extends Error {}

/** Runs `work` in one transaction on one pooled connection; a broken connection is discarded. */
export async function inTransaction<T>(pool: Pool, work: (client: PoolClient) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  // A connection that breaks while checked out emits "error" (an unheard one ends the process);
  // the pending query fails with it anyway, and the release discards the connection.
  const ignore = () => undefined;
  client.on("error", ignore);
  let broken: Error | undefined;
  try {
    await client.query("BEGIN");
    const result = await work(client);
    await client.query("COMMIT");
    return result;
  } catch (error) {
    await client.query("ROLLBACK").catch((rollbackError: Error) => (broken = rollbackError));
    throw error;
  } finally {
    client.off("error", ignore);
    client.release(broken);
  }
}

/**
 * Whether a failed CREATE TABLE IF NOT EXISTS lost a race with another process making the same
 * table: PostgreSQL then reports the table's row type or name as taken (23505, 42710 or 42P07).
 */
const lostCreateRace = (error: unknown) => ["23505", "42710", "42P07"].includes((error as { code?: string })?.code ?? "");

/**
 * Makes both tables if they are missing, under Dapr's migration lock (a row lock on `lock` in the
 * metadata table), so that concurrent mecha processes and Dapr sidecars do not race. A state table
 * that exists already must have v1's columns; one that lacks only `expiredate` (a Dapr table from
 * before TTLs) gets it. Throws {@link TableLayoutError} for a table that is not v1's, such as a
 * state.postgresql v2 table.
 */
export async function prepareTables(pool: Pool, state: TableName, metadata: TableName): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      await pool.query(`CREATE TABLE IF NOT EXISTS ${metadata.sql} (key text NOT NULL PRIMARY KEY, value text NOT NULL)`);
      break;
    } catch (error) {
      if (attempt === 3 || !lostCreateRace(error)) throw error;
      await new Promise((resolve) => setTimeout(resolve, 50 * attempt));
    }
  }
  await pool.query(`INSERT INTO ${metadata.sql} (key, value) VALUES ($1, $1) ON CONFLICT (key) DO NOTHING`, ["lock"]);
  await inTransaction(pool, async (client) => {
    await client.query(`SELECT value FROM ${metadata.sql} WHERE key = $1 FOR UPDATE`, ["lock"]);
    await client.query(
      `CREATE TABLE IF NOT EXISTS ${state.sql} (
        key text NOT NULL PRIMARY KEY,
        value jsonb NOT NULL,
        isbinary boolean NOT NULL,
        insertdate timestamp with time zone NOT NULL DEFAULT now(),
        updatedate timestamp with time zone NULL,
        expiredate timestamp with time zone NULL
      )`,
    );
    const { rows } = await client.query<{ name: string; type: string }>(
      `SELECT attname AS name, format_type(atttypid, atttypmod) AS type FROM pg_attribute
        WHERE attrelid = to_regclass($1) AND attnum > 0 AND NOT attisdropped`,
      [state.sql],
    );
    const columns = new Map(rows.map((row) => [row.name, row.type]));
    const expected: Record<string, string> = { key: "text", value: "jsonb", isbinary: "boolean", updatedate: "timestamp with time zone" };
    const wrong = Object.entries(expected).filter(([name, type]) => columns.get(name) !== type);
    if (wrong.length) {
      const found = rows.map((row) => `${row.name} ${row.type}`).join(", ") || "no columns";
      throw new TableLayoutError(
        `table ${state.label} exists but is not in the layout of Dapr's state.postgresql v1 (it needs ${wrong.map(([n, t]) => `${n} ${t}`).join(", ")}; it has ${found}). A state.postgresql v2 table cannot be shared: give this component another tableName`,
      );
    }
    if (!columns.has("expiredate")) await client.query(`ALTER TABLE ${state.sql} ADD COLUMN expiredate timestamp with time zone NULL`);
    // Only rows with a TTL are indexed: the cleanup finds them without reading the whole table.
    await client.query(`CREATE INDEX IF NOT EXISTS "${state.bare}_expiredate_idx" ON ${state.sql} (expiredate) WHERE expiredate IS NOT NULL`);
    // Dapr, finding no level, would add expiredate again and fail; a lower level is raised likewise.
    await client.query(
      `INSERT INTO ${metadata.sql} AS m (key, value) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET value = excluded.value
        WHERE CASE WHEN m.value ~ '^[0-9]+$' THEN m.value::integer < $3 ELSE false END`,
      ["migrations", String(daprMigrationLevel), daprMigrationLevel],
    );
  });
}

/**
 * Deletes the expired rows, unless another process (sharing the metadata table) did within the
 * interval: as in Dapr, a conditional upsert of the last cleanup time in the metadata table decides,
 * atomically. Mecha keeps one such time per state table (`last-cleanup-<table>`); Dapr keeps one for
 * the whole metadata table, so two state tables sharing it would skip each other's cleanups.
 * Resolves with the number of rows deleted, or `undefined` when the cleanup was not due.
 */
export async function deleteExpired(pool: Pool, state: TableName, metadata: TableName, intervalMs: number): Promise<number | undefined> {
  const due = await pool.query(
    `INSERT INTO ${metadata.sql} AS m (key, value) VALUES ($1, now()::text) ON CONFLICT (key) DO UPDATE SET value = now()::text
      WHERE (extract(epoch FROM now() - m.value::timestamp with time zone) * 1000)::bigint > $2`,
    [`last-cleanup-${state.label}`, Math.max(0, intervalMs - 100)],
  );
  if (!due.rowCount) return undefined;
  // A large backlog may take longer than the per-statement timeout; Dapr allows ten minutes.
  return inTransaction(pool, async (client) => {
    await client.query("SELECT set_config('statement_timeout', $1, true)", ["600000"]);
    const deleted = await client.query(`DELETE FROM ${state.sql} WHERE expiredate IS NOT NULL AND expiredate <= now()`);
    return deleted.rowCount ?? 0;
  });
}
