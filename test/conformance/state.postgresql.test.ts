import { randomUUID } from "node:crypto";
import { inspect } from "node:util";
import pg from "pg";
import { afterAll, afterEach, describe, expect, it } from "vitest";
import { createStateClient, type StateStoreComponent } from "../../src/blocks/state.ts";
import { create } from "../../src/components/state/postgresql.ts";
import { ComponentMetadata } from "../../src/config/metadata.ts";
import { ComponentConfigError, ErrorCodes, EtagMismatchError } from "../../src/errors.ts";
import { serviceOrSkip } from "../support/services.ts";
import { freshName, waitFor } from "../support/wait.ts";
import { describeStateConformance } from "./state-suite.ts";
import { configErrorFrom } from "../support/config-error.ts";
import { rejectionOf } from "../support/rejection.ts";

const type = "state.postgresql";
const connectionString = process.env["MECHA_TEST_POSTGRES_URL"] ?? "postgres://postgres@127.0.0.1:5432/test";
const up = await serviceOrSkip("postgresql", `the ${type} tests`);

/** A PostgreSQL identifier no other run uses. */
const identifier = (prefix: string) => freshName(prefix).replace(/-/g, "_");

/** Direct SQL, for what the component's own API cannot show (the rows, the tables, the sessions). */
const admin = new pg.Pool({ connectionString, max: 3 });
const tablesToDrop: string[] = [];
const schemasToDrop: string[] = [];
const opened: StateStoreComponent[] = [];

/** A state table and a metadata table of this run, dropped after the file. */
function freshTables(): { tableName: string; metadataTableName: string } {
  const tables = { tableName: identifier("mecha_state"), metadataTableName: identifier("mecha_meta") };
  tablesToDrop.push(tables.tableName, tables.metadataTableName);
  return tables;
}

const storeOf = (metadata: Record<string, string>, name = "pgstate"): StateStoreComponent =>
  create({ name, appId: "app", baseDir: "/", metadata: new ComponentMetadata({ connectionString, ...metadata }, name) });

/** A store on fresh tables (unless `metadata` names them), closed after the file. */
function open(metadata: Record<string, string> = {}, name?: string): StateStoreComponent {
  const store = storeOf({ ...freshTables(), ...metadata }, name);
  opened.push(store);
  return store;
}

const client = (store: StateStoreComponent, appId = freshName("app")) => createStateClient({ name: "pgstate", appId, store });

/** Closes the stores a test opened: their pools would otherwise hold PostgreSQL's connection slots. */
const closeOpened = () => Promise.all(opened.splice(0).map((store) => store.close()));

afterAll(async () => {
  await closeOpened();
  if (up) {
    for (const table of tablesToDrop) await admin.query(`DROP TABLE IF EXISTS "${table}"`);
    for (const schema of schemasToDrop) await admin.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
  }
  await admin.end();
});

if (up) {
  describeStateConformance(type, async () => {
    const tables = freshTables();
    return { store: storeOf(tables) };
  });
}

describe.skipIf(!up)(`${type} on PostgreSQL`, () => {
  afterEach(closeOpened);

  describe("tables", () => {
    const columnsOf = async (table: string) =>
      (
        await admin.query<{ name: string; type: string }>(
          `SELECT attname AS name, format_type(atttypid, atttypmod) AS type FROM pg_attribute
            WHERE attrelid = to_regclass($1) AND attnum > 0 AND NOT attisdropped ORDER BY attnum`,
          [table],
        )
      ).rows;
    const exists = async (table: string) => (await admin.query("SELECT to_regclass($1) IS NOT NULL AS found", [table])).rows[0].found as boolean;

    it("makes no table in create, and Dapr v1's tables on first use, with Dapr's migration level", async () => {
      const tables = freshTables();
      const store = open(tables);
      expect(await exists(tables.tableName)).toBe(false);

      await client(store).get("anything");
      expect(await columnsOf(tables.tableName)).toEqual([
        { name: "key", type: "text" },
        { name: "value", type: "jsonb" },
        { name: "isbinary", type: "boolean" },
        { name: "insertdate", type: "timestamp with time zone" },
        { name: "updatedate", type: "timestamp with time zone" },
        { name: "expiredate", type: "timestamp with time zone" },
      ]);
      const meta = await admin.query(`SELECT key, value FROM "${tables.metadataTableName}" ORDER BY key`);
      expect(meta.rows).toEqual([
        { key: "lock", value: "lock" },
        { key: "migrations", value: "2" },
      ]);
    });

    it("stores Dapr v1's rows: JSON as jsonb, bytes as base64 with isbinary, the row's xmin as etag, the expiry in expiredate", async () => {
      const tables = freshTables();
      const appId = freshName("app");
      const state = client(open(tables), appId);
      const { etag } = await state.set("json", { n: 1 }, { ttlInSeconds: 60 });
      await state.set("bytes", new Uint8Array([0, 1, 255]));
      const { rows } = await admin.query(
        `SELECT key, value, isbinary, xmin::text AS xmin, extract(epoch FROM expiredate - now()) AS ttl FROM "${tables.tableName}" ORDER BY key`,
      );
      expect(rows).toMatchObject([
        { key: `${appId}||bytes`, value: "AAH/", isbinary: true, ttl: null },
        { key: `${appId}||json`, value: { n: 1 }, isbinary: false, xmin: etag },
      ]);
      expect(Number(rows[1].ttl)).toBeGreaterThan(58);
      expect(Number(rows[1].ttl)).toBeLessThanOrEqual(60);
    });

    it("reads and writes a table Dapr made before TTLs existed: adds expiredate, raises the migration level, takes Dapr's etags", async () => {
      const tables = freshTables();
      await admin.query(`CREATE TABLE "${tables.tableName}" (key text NOT NULL PRIMARY KEY, value jsonb NOT NULL, isbinary boolean NOT NULL,
        insertdate TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT NOW(), updatedate TIMESTAMP WITH TIME ZONE NULL)`);
      await admin.query(`CREATE TABLE "${tables.metadataTableName}" (key text NOT NULL PRIMARY KEY, value text NOT NULL)`);
      await admin.query(`INSERT INTO "${tables.metadataTableName}" VALUES ('migrations', '1')`);
      const written = await admin.query(
        `INSERT INTO "${tables.tableName}" (key, value, isbinary) VALUES ('dapr-app||order', '{"id": 7}', false), ('dapr-app||blob', '"AAH/"', true) RETURNING xmin::text AS xmin`,
      );
      const daprEtag = written.rows[0].xmin as string;

      const state = client(open(tables), "dapr-app");
      expect(await state.get("order")).toEqual({ value: { id: 7 }, etag: daprEtag });
      expect((await state.get("blob"))?.value).toStrictEqual(new Uint8Array([0, 1, 255]));
      await state.set("order", { id: 8 }, { etag: daprEtag });
      expect((await state.get("order"))?.value).toEqual({ id: 8 });
      expect((await columnsOf(tables.tableName)).map((c) => c.name)).toContain("expiredate");
      expect((await admin.query(`SELECT value FROM "${tables.metadataTableName}" WHERE key = 'migrations'`)).rows[0].value).toBe("2");
    });

    it("refuses a table that is not in v1's layout (a Dapr v2 table) with a ComponentConfigError naming tableName", async () => {
      const tables = freshTables();
      await admin.query(`CREATE TABLE "${tables.tableName}" (key text PRIMARY KEY, value bytea NOT NULL, etag uuid NOT NULL, expires_at timestamptz)`);
      const error = await rejectionOf(client(open(tables)).get("k"));
      expect(error).toBeInstanceOf(ComponentConfigError);
      expect(error).toMatchObject({ code: ErrorCodes.componentConfig, field: "tableName" });
      expect(error.message).toContain("state.postgresql v1");
      expect((await columnsOf(tables.tableName)).map((c) => c.name)).toEqual(["key", "value", "etag", "expires_at"]);
    });

    it("takes a schema-qualified tableName and folds it to lower case, as PostgreSQL does for Dapr's unquoted names", async () => {
      const schema = identifier("mecha_schema");
      schemasToDrop.push(schema);
      await admin.query(`CREATE SCHEMA "${schema}"`);
      const state = client(open({ tableName: `${schema.toUpperCase()}.MyState` }));
      await state.set("k", "v");
      expect(await exists(`"${schema}"."mystate"`)).toBe(true);
      expect((await state.get("k"))?.value).toBe("v");
    });

    it("lets several processes' first use race: each store makes or finds the same tables", async () => {
      const tables = freshTables();
      const stores = Array.from({ length: 6 }, () => open(tables));
      await Promise.all(stores.map((store, i) => client(store, "race").set(`k${i}`, i)));
      expect((await client(stores[0]!, "race").getBulk(["k0", "k5"])).map((e) => e.value)).toEqual([0, 5]);
    });
  });

  describe("concurrency", () => {
    it("lets exactly one of 20 concurrent first-writes of a key win", async () => {
      const appId = freshName("first");
      const tables = freshTables();
      const stores = Array.from({ length: 4 }, () => open(tables));
      const outcomes = await Promise.allSettled(
        Array.from({ length: 20 }, (_, i) => client(stores[i % 4]!, appId).set("once", i, { concurrency: "first-write" })),
      );
      const won = outcomes.filter((o) => o.status === "fulfilled");
      expect(won).toHaveLength(1);
      for (const lost of outcomes.filter((o): o is PromiseRejectedResult => o.status === "rejected")) expect(lost.reason).toBeInstanceOf(EtagMismatchError);
      expect((await client(stores[0]!, appId).get("once"))?.etag).toBe((won[0] as PromiseFulfilledResult<{ etag: string }>).value.etag);
    });

    it("treats an etag that is not a transaction id as a mismatch, never as SQL", async () => {
      const state = client(open());
      await state.set("k", "v");
      for (const etag of ["abc", "-1", "4294967296", "1.5", "1; DROP TABLE x; --", "0x10"]) {
        expect(await rejectionOf(state.set("k", "w", { etag }))).toBeInstanceOf(EtagMismatchError);
        expect(await rejectionOf(state.delete("k", { etag }))).toBeInstanceOf(EtagMismatchError);
      }
      expect((await state.get("k"))?.value).toBe("v");
    });

    it("fails a write held up by another transaction's lock after `timeout`, with PostgreSQL's statement timeout", async () => {
      const tables = freshTables();
      const appId = freshName("app");
      const state = client(open({ ...tables, timeout: "1s" }), appId);
      await state.set("locked", "v");
      const blocker = await admin.connect();
      try {
        await blocker.query("BEGIN");
        await blocker.query(`SELECT * FROM "${tables.tableName}" WHERE key = $1 FOR UPDATE`, [`${appId}||locked`]);
        const started = Date.now();
        const error = await rejectionOf(state.set("locked", "w"));
        expect(Date.now() - started).toBeLessThan(5_000);
        expect(error).toMatchObject({ code: ErrorCodes.stateSave });
        expect(error.message).toContain("57014");
      } finally {
        await blocker.query("ROLLBACK");
        blocker.release();
      }
      expect((await state.get("locked"))?.value).toBe("v");
    });
  });

  describe("expiry", () => {
    it("never returns an expired row, also before any cleanup removed it", async () => {
      const tables = freshTables();
      const appId = freshName("app");
      const state = client(open({ ...tables, cleanupInterval: "0" }), appId);
      await state.set("short", "v", { ttlInSeconds: 1 });
      await waitFor(async () => (await state.get("short")) === undefined, { timeoutMs: 5_000, intervalMs: 50, what: "the key to expire" });
      const row = await admin.query(`SELECT count(*)::int AS n FROM "${tables.tableName}" WHERE key = $1`, [`${appId}||short`]);
      expect(row.rows[0].n).toBe(1);
      expect((await state.getBulk(["short"]))[0]?.value).toBeUndefined();
      await state.set("short", "again", { concurrency: "first-write" });
      expect((await state.get("short"))?.value).toBe("again");
    });

    it("deletes expired rows every cleanupInterval, and records the run in the metadata table", async () => {
      const tables = freshTables();
      const appId = freshName("app");
      const state = client(open({ ...tables, cleanupInterval: "100ms" }), appId);
      await state.set("short", "v", { ttlInSeconds: 1 });
      await state.set("kept", "v");
      const count = async () => (await admin.query(`SELECT count(*)::int AS n FROM "${tables.tableName}"`)).rows[0].n as number;
      expect(await count()).toBe(2);
      await waitFor(async () => (await count()) === 1, { timeoutMs: 5_000, intervalMs: 50, what: "the expired row to be deleted" });
      expect((await state.get("kept"))?.value).toBe("v");
      const meta = await admin.query(`SELECT value FROM "${tables.metadataTableName}" WHERE key = $1`, [`last-cleanup-${tables.tableName}`]);
      expect(meta.rows).toHaveLength(1);
    });

    it("stops its cleanup timer and ends its connections on close()", async () => {
      const name = identifier("closing");
      const store = storeOf({ ...freshTables(), cleanupInterval: "50ms" }, name);
      await client(store).set("k", "v", { ttlInSeconds: 1 });
      const sessions = async () =>
        (await admin.query("SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = $1", [`mecha:${name}`])).rows[0].n as number;
      expect(await sessions()).toBeGreaterThan(0);
      await store.close();
      await waitFor(async () => (await sessions()) === 0, { what: "the pool's sessions to end" });
      // Absence over time can only be shown by letting time pass: several cleanup intervals.
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(await sessions()).toBe(0);
    });
  });

  describe("connection loss", () => {
    const terminate = async (name: string) =>
      (await admin.query("SELECT pg_terminate_backend(pid) AS ended FROM pg_stat_activity WHERE application_name = $1", [`mecha:${name}`])).rows;

    it("names its sessions mecha:<component> and reads again at once after its sessions are terminated", async () => {
      const name = identifier("lossy");
      const state = client(open({}, name));
      await state.set("k", 1);
      await Promise.all([state.get("k"), state.get("k"), state.get("k")]);
      const ended = await terminate(name);
      expect(ended.length).toBeGreaterThan(0);
      expect(ended.every((row) => row.ended === true)).toBe(true);
      expect((await state.get("k"))?.value).toBe(1);
    });

    it("writes again at once after its sessions are terminated: PostgreSQL said the statement was not applied, so it runs on a new connection", async () => {
      const name = identifier("lossy");
      const state = client(open({}, name));
      const { etag } = await state.set("k", 1);
      await Promise.all([state.get("k"), state.get("k"), state.get("k")]);
      expect((await terminate(name)).length).toBeGreaterThan(0);
      const next = await state.set("k", 2, { etag });
      expect(await state.get("k")).toEqual({ value: 2, etag: next.etag });

      expect((await terminate(name)).length).toBeGreaterThan(0);
      await state.transaction([
        { operation: "upsert", key: "k", value: 3, etag: next.etag },
        { operation: "upsert", key: "other", value: 1 },
      ]);
      expect((await state.getBulk(["k", "other"])).map((e) => e.value)).toEqual([3, 1]);
    });
  });

  describe("odd input", () => {
    it("stores keys with quotes, %, _, backslashes and SQL as keys, each apart from the others, changing nothing else", async () => {
      const victim = identifier("victim");
      tablesToDrop.push(victim);
      await admin.query(`CREATE TABLE "${victim}" (id int)`);
      const keys = [`'; DROP TABLE ${victim}; --`, `"; DROP TABLE ${victim}; --`, "it's \"quoted\"", "%", "_", "a%", "a_b", "back\\slash\\", "\\x00", "$1", "{a,b}", "日本語 🚀", " spaced "];
      const state = client(open());
      await state.setBulk(keys.map((key) => ({ key, value: { key } })));
      expect((await state.getBulk(keys)).map((e) => e.value)).toEqual(keys.map((key) => ({ key })));
      for (const key of keys) expect((await state.get(key))?.value).toEqual({ key });
      await state.transaction(keys.map((key) => ({ operation: "delete" as const, key })));
      expect((await state.getBulk(keys)).every((e) => e.value === undefined)).toBe(true);
      expect((await admin.query("SELECT to_regclass($1) IS NOT NULL AS found", [victim])).rows[0].found).toBe(true);
    });

    it("rejects a key with a NUL character or an unpaired surrogate with ERR_STATE_INVALID_KEY and writes nothing", async () => {
      const state = client(open());
      for (const key of ["nul\u0000key", "half \ud800 pair", "\udc00"]) {
        const calls = [
          () => state.set(key, 1),
          () => state.get(key),
          () => state.delete(key),
          () => state.getBulk(["fine", key]),
          () => state.transaction([{ operation: "upsert", key: "fine", value: 1 }, { operation: "upsert", key, value: 1 }]),
        ];
        for (const call of calls) expect((await rejectionOf(call())).code).toBe(ErrorCodes.invalidKey);
      }
      expect(await state.get("fine")).toBeUndefined();
    });

    const oddValues: ReadonlyArray<[string, unknown]> = [
      ["a string with NUL characters", "a\u0000b\u0000"],
      ["an object with NULs in a key and a value", { "nul\u0000key": "v\u0000", list: ["\u0000"] }],
      ["a string with an unpaired surrogate", "half \ud800 pair \udfff"],
      ["quotes, backslashes, % and _", `it's "quoted" \\ back\\slash 100% a_b \\u0000 as text`],
      ['an object shaped like the NUL form, {"jsonText": ...}', { jsonText: '"\\u0000"' }],
      ["SQL", "'; DROP TABLE state; --"],
      ["unicode", "héllo wörld — 日本語 🚀 \u2028 \u2029 \ufeff"],
      ["big and precise numbers", [Number.MAX_SAFE_INTEGER, 1e-7, 123456.789, -0.5, 1e300]],
    ];

    it.each(oddValues)("round-trips %s verbatim", async (_kind, value) => {
      const state = client(open());
      const { etag } = await state.set("odd", value);
      expect(await state.get("odd")).toStrictEqual({ value, etag });
      await state.transaction([{ operation: "upsert", key: "odd2", value }, { operation: "upsert", key: "odd3", value: 1 }]);
      expect((await state.getBulk(["odd2"]))[0]?.value).toStrictEqual(value);
    });

    it("keeps a value jsonb cannot hold as {\"jsonText\": <the JSON>} with isbinary, and etag checks work on it", async () => {
      const tables = freshTables();
      const appId = freshName("app");
      const state = client(open(tables), appId);
      const { etag } = await state.set("nul", "a\u0000b");
      const row = await admin.query(`SELECT value->>'jsonText' AS text, isbinary FROM "${tables.tableName}" WHERE key = $1`, [`${appId}||nul`]);
      expect(row.rows[0]).toEqual({ text: '"a\\u0000b"', isbinary: true });
      await state.set("nul", "c\u0000", { etag });
      expect((await state.get("nul"))?.value).toBe("c\u0000");
    });

    it("stores and reads back 1 MB values verbatim: JSON text, text with NULs, and bytes", { timeout: 60_000 }, async () => {
      const state = client(open());
      const pattern = "abc'\"\\%_ é日🚀 ";
      const text = pattern.repeat(Math.ceil(1_048_576 / pattern.length)).slice(0, 1_048_576);
      const withNuls = text.replace(/ /g, "\u0000");
      const bytes = new Uint8Array(1_048_576).map((_, i) => (i * 7919) % 256);
      await state.setBulk([
        { key: "text", value: text },
        { key: "nuls", value: withNuls },
        { key: "bytes", value: bytes },
      ]);
      const [readText, readNuls, readBytes] = await state.getBulk(["text", "nuls", "bytes"]);
      expect(readText?.value).toBe(text);
      expect(readNuls?.value).toBe(withNuls);
      expect(readBytes?.value).toStrictEqual(bytes);
    });

    it("reads many keys, repeated keys and missing keys in one getBulk", async () => {
      const state = client(open());
      const keys = Array.from({ length: 300 }, (_, i) => `k${i}`);
      await state.setBulk(keys.map((key, i) => ({ key, value: i })));
      const entries = await state.getBulk([...keys, "k7", "missing"]);
      expect(entries.map((e) => e.value)).toEqual([...keys.map((_, i) => i), 7, undefined]);
    });
  });

  describe("errors never show the password", () => {
    const expectNoSecret = (error: unknown, secret: string) => {
      const seen = [inspect(error, { depth: 10 }), JSON.stringify(error), String((error as Error).stack)].join("\n");
      expect(seen).not.toContain(secret);
      expect(seen).not.toContain(encodeURIComponent(secret));
    };

    it("leaves the password of a URL connection string out of a connection failure", async () => {
      const password = `Pw-${randomUUID()}-s3cr3t`;
      const state = client(open({ connectionString: `postgres://postgres:${encodeURIComponent(password)}@127.0.0.1:1/test`, timeout: "2s" }));
      const error = await rejectionOf(state.get("k"));
      expect(error).toMatchObject({ code: ErrorCodes.stateGet });
      expect(error.message).toContain("ECONNREFUSED");
      expect(String((error.cause as Error).message)).toContain("127.0.0.1:1");
      expectNoSecret(error, password);
      expectNoSecret(await rejectionOf(state.set("k", 1)), password);
    });

    it("leaves out a password given in key=value form or in the password field", async () => {
      const password = `Pw ${randomUUID()} 'quoted'`;
      const quoted = password.replace(/['\\]/g, "\\$&");
      for (const metadata of [
        { connectionString: `host=127.0.0.1 port=1 user=postgres password='${quoted}' dbname=test` },
        { connectionString: "host=127.0.0.1 user=postgres dbname=test", port: "1", password },
      ] as Array<Record<string, string>>) {
        const error = await rejectionOf(client(open({ ...metadata, timeout: "2s" })).get("k"));
        expect(error.message).toContain("ECONNREFUSED");
        expectNoSecret(error, password);
      }
    });

    it("does not quote a connection string it cannot parse", () => {
      const password = `Pw-${randomUUID()}`;
      const error = configError({ connectionString: `postgres://postgres:${password}@127.0.0.1:notaport/test` });
      expect(error).toMatchObject({ code: ErrorCodes.componentConfig, field: "connectionString" });
      expectNoSecret(error, password);
    });
  });

  describe("connection strings", () => {
    it("connects with libpq key=value pairs, as in Dapr's examples", async () => {
      const state = client(open({ connectionString: "host=127.0.0.1 port=5432 user=postgres dbname=test connect_timeout=10" }));
      await state.set("k", "kv");
      expect((await state.get("k"))?.value).toBe("kv");
    });

    it("lets Dapr's separate fields override the connection string", async () => {
      const state = client(open({ connectionString: "postgres://nobody@127.0.0.1:1/nothing", port: "5432", user: "postgres", database: "test" }));
      await state.set("k", "fields");
      expect((await state.get("k"))?.value).toBe("fields");
    });

    it("works with unnamed statements too (queryExecMode exec, for a pooler in transaction mode)", async () => {
      const state = client(open({ queryExecMode: "exec" }));
      const { etag } = await state.set("k", 1);
      await state.transaction([{ operation: "upsert", key: "k", value: 2, etag }, { operation: "delete", key: "gone" }]);
      expect((await state.getBulk(["k"]))[0]?.value).toBe(2);
    });

    it("passes other keywords to the server as settings (search_path puts unqualified tables in a schema)", async () => {
      const schema = identifier("mecha_path");
      schemasToDrop.push(schema);
      await admin.query(`CREATE SCHEMA "${schema}"`);
      const tables = freshTables();
      const state = client(open({ ...tables, connectionString: `${connectionString}?search_path=${schema}` }));
      await state.set("k", "v");
      expect((await admin.query("SELECT to_regclass($1) IS NOT NULL AS found", [`"${schema}"."${tables.tableName}"`])).rows[0].found).toBe(true);
    });
  });
});

function configError(metadata: Record<string, string>): ComponentConfigError {
  return configErrorFrom(() => create({ name: "pgstate", appId: "app", baseDir: "/", metadata: new ComponentMetadata(metadata, "pgstate") }));
}

describe(`${type} metadata`, () => {
  const base = { connectionString: "postgres://postgres@127.0.0.1:5432/test" };
  const cases: ReadonlyArray<[string, Record<string, string>, string]> = [
    ["a missing connectionString", {}, "connectionString"],
    ["a connectionString of neither form", { connectionString: "just some words" }, "connectionString"],
    ["a tableName that is not an identifier", { ...base, tableName: 'state"; DROP TABLE x; --' }, "tableName"],
    ["a tableName with three parts", { ...base, tableName: "db.public.state" }, "tableName"],
    ["a metadataTableName equal to tableName", { ...base, tableName: "same", metadataTableName: "SAME" }, "metadataTableName"],
    ["a timeout under 1s", { ...base, timeout: "500ms" }, "timeout"],
    ["a timeout that is not a duration", { ...base, timeout: "soon" }, "timeout"],
    ["a cleanupInterval that is not a duration", { ...base, cleanupInterval: "hourly" }, "cleanupInterval"],
    ["a cleanupIntervalInSeconds that is not a number", { ...base, cleanupIntervalInSeconds: "x" }, "cleanupIntervalInSeconds"],
    ["a port that is not a number", { ...base, port: "fifty" }, "port"],
    ["an unknown sslmode", { connectionString: "host=localhost sslmode=sometimes" }, "connectionString"],
    ["an unknown queryExecMode", { ...base, queryExecMode: "fast" }, "queryExecMode"],
    ["maxConns that is not a number", { ...base, maxConns: "many" }, "maxConns"],
    ["v2's tablePrefix", { ...base, tablePrefix: "app_" }, "tablePrefix"],
    ["useAzureAD", { ...base, useAzureAD: "true" }, "useAzureAD"],
    ["useAWSIAM", { ...base, useAWSIAM: "true" }, "useAWSIAM"],
  ];

  it.each(cases)("rejects %s with a ComponentConfigError naming the field", (_label, metadata, field) => {
    const error = configError(metadata);
    expect(error).toBeInstanceOf(ComponentConfigError);
    expect(error).toMatchObject({ code: ErrorCodes.componentConfig, field });
  });

  it("accepts Dapr's forms: durations as Go durations or seconds, a negative cleanupInterval, and the accepted-but-unused fields", () => {
    for (const metadata of [
      { timeout: "20", cleanupInterval: "-1" },
      { timeoutInSeconds: "30", cleanupIntervalInSeconds: "3600" },
      { timeout: "1m30s", cleanupInterval: "10m", connectionMaxIdleTime: "5m", maxConns: "0" },
      { actorStateStore: "true", queryExecMode: "simple_protocol", tableName: "public.state", sslRootCert: "ca.pem" },
    ] as Array<Record<string, string>>) {
      expect(() => create({ name: "pgstate", appId: "app", baseDir: "/", metadata: new ComponentMetadata({ ...base, ...metadata }, "pgstate") })).not.toThrow();
    }
  });
});
