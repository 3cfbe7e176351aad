/**
 * PostgreSQL: mecha's `state.postgresql` through the state client beside node-postgres used by
 * hand, on tables of the same shape (Dapr's v1 layout: `key text PRIMARY KEY, value jsonb,
 * isbinary boolean, insertdate, updatedate, expiredate`). Every side has a pool of the size mecha
 * picks by default (`maxConns` unset: the larger of 4 and the CPU count), and every statement is
 * prepared once per connection by name, as mecha's are by default.
 *
 * - **mecha**: `runtime.state(name)`: `get` is a SELECT of the value, its `xmin` (the etag) and
 *   a check that the row has not expired; `set` is an INSERT … ON CONFLICT DO UPDATE returning
 *   the new `xmin`.
 * - **same statements by hand** (the target's baseline): those two statements, word for word,
 *   through `pool.query` — what a careful user of this table (values that may expire, etags
 *   wanted) would write.
 * - **simplest SQL by hand**: `SELECT value … WHERE key = $1` (node-postgres parses the jsonb)
 *   and an upsert of the value alone: no expiry check, nothing returned. For context.
 */
import { availableParallelism } from "node:os";
import pg from "pg";
import { componentCatalog } from "../../src/components/catalog.ts";
import { createConsoleLogger } from "../../src/core/logger.ts";
import { Runtime } from "../../src/core/runtime.ts";
import { counterValue, type StateBackend, type StateSide } from "./load.ts";

type Counter = { n: number };
const poolSize = Math.max(4, availableParallelism());

/** The v1 table, as state.postgresql makes it. */
const createTable = (table: string) => `CREATE TABLE ${table} (
  key text NOT NULL PRIMARY KEY,
  value jsonb NOT NULL,
  isbinary boolean NOT NULL,
  insertdate timestamp with time zone NOT NULL DEFAULT now(),
  updatedate timestamp with time zone NULL,
  expiredate timestamp with time zone NULL
)`;

/** `prefix` must be a plain SQL identifier: the tables are named after it. */
export async function postgresqlStateBackend(connectionString: string, prefix: string): Promise<StateBackend> {
  const tables = { mecha: `${prefix}_mecha`, mechaMeta: `${prefix}_mecha_meta`, same: `${prefix}_same`, simplest: `${prefix}_simplest` };
  const admin = new pg.Pool({ connectionString, max: 1 });
  await admin.query(createTable(tables.same));
  await admin.query(createTable(tables.simplest));

  const runtime = new Runtime({
    appId: "mecha-bench",
    components: [
      {
        name: "bench",
        type: "state.postgresql",
        version: "v1",
        metadata: [
          { name: "connectionString", value: connectionString },
          { name: "tableName", value: tables.mecha },
          { name: "metadataTableName", value: tables.mechaMeta },
        ],
        scopes: [],
      },
    ],
    catalog: componentCatalog,
    baseDir: process.cwd(),
    logger: createConsoleLogger({ level: "warn" }),
  });
  const state = await runtime.state("bench");
  const mecha: StateSide = {
    label: "mecha (state client + state.postgresql)",
    async pair(key) {
      const current = await state.get<Counter>(key);
      await state.set(key, { n: counterValue(current?.value) + 1 });
    },
    close: () => runtime.close(),
  };

  const byHand = (label: string, pair: (pool: pg.Pool, key: string) => Promise<void>): StateSide => {
    const pool = new pg.Pool({ connectionString, max: poolSize });
    return { label, pair: (key) => pair(pool, key), close: () => pool.end() };
  };
  const same = tables.same;
  const sameStatements = byHand("same statements by hand", async (pool, key) => {
    const { rows } = await pool.query<{ value: string; etag: string }>({
      name: "bench-get",
      text: `SELECT value::text AS value, isbinary, xmin::text AS etag FROM ${same} WHERE key = $1 AND (expiredate IS NULL OR expiredate > now())`,
      values: [key],
    });
    const current = rows[0] ? (JSON.parse(rows[0].value) as Counter) : undefined;
    await pool.query({
      name: "bench-upsert",
      text: `INSERT INTO ${same} AS t (key, value, isbinary, expiredate) VALUES ($1, $2::jsonb, $3, now() + $4::bigint * interval '1 second')
    ON CONFLICT (key) DO UPDATE SET value = excluded.value, isbinary = excluded.isbinary, updatedate = now(), expiredate = excluded.expiredate RETURNING xmin::text AS etag`,
      values: [key, JSON.stringify({ n: counterValue(current) + 1 }), false, null],
    });
  });
  const simplest = tables.simplest;
  const simplestSql = byHand("simplest SQL by hand: SELECT value, upsert value", async (pool, key) => {
    const { rows } = await pool.query<{ value: Counter }>({ name: "bench-get", text: `SELECT value FROM ${simplest} WHERE key = $1`, values: [key] });
    await pool.query({
      name: "bench-upsert",
      text: `INSERT INTO ${simplest} (key, value, isbinary) VALUES ($1, $2, false) ON CONFLICT (key) DO UPDATE SET value = excluded.value, updatedate = now()`,
      values: [key, JSON.stringify({ n: counterValue(rows[0]?.value) + 1 })],
    });
  });

  return {
    name: "PostgreSQL",
    sides: [mecha, sameStatements, simplestSql],
    async close() {
      for (const table of Object.values(tables)) await admin.query(`DROP TABLE IF EXISTS ${table}`);
      await admin.end();
    },
  };
}
