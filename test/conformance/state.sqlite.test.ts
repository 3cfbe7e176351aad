import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import Database from "better-sqlite3";
import { afterEach, describe, expect, it } from "vitest";
import { createStateClient, type StateStoreComponent } from "../../src/blocks/state.ts";
import { create } from "../../src/components/state/sqlite.ts";
import { ComponentMetadata } from "../../src/config/metadata.ts";
import { ErrorCodes, EtagMismatchError } from "../../src/errors.ts";
import { waitFor } from "../support/wait.ts";
import { describeStateConformance } from "./state-suite.ts";
import { configErrorFrom } from "../support/config-error.ts";

const sqliteStore = (baseDir: string, metadata: Record<string, string> = {}): StateStoreComponent =>
  create({
    name: "sqlite",
    appId: "conformance",
    baseDir,
    metadata: new ComponentMetadata({ connectionString: "data/state.db", ...metadata }, "sqlite"),
  });

const client = (store: StateStoreComponent) => createStateClient({ name: "sqlite", appId: "conformance", store });

describeStateConformance("state.sqlite", async () => {
  const baseDir = await mkdtemp(join(tmpdir(), "mecha-state-sqlite-"));
  return { store: sqliteStore(baseDir), cleanup: () => rm(baseDir, { recursive: true, force: true }) };
});

describe("state.sqlite on a shared file", () => {
  let baseDir: string;
  const opened: StateStoreComponent[] = [];
  const open = (metadata?: Record<string, string>) => {
    const store = sqliteStore(baseDir, metadata);
    opened.push(store);
    return store;
  };

  afterEach(async () => {
    await Promise.all(opened.splice(0).map((store) => store.close()));
    await rm(baseDir, { recursive: true, force: true });
  });

  const freshDir = async () => {
    baseDir = await mkdtemp(join(tmpdir(), "mecha-state-sqlite-"));
  };

  it("keeps a value and its etag across a close and a new store instance", async () => {
    await freshDir();
    const first = open();
    const { etag } = await client(first).set("durable", { n: 1 });
    await first.close();

    expect(await client(open()).get("durable")).toEqual({ value: { n: 1 }, etag });
  });

  it("lets exactly one of two instances win a concurrent first-write of the same key", async () => {
    await freshDir();
    const [a, b] = [client(open()), client(open())];
    const outcomes = await Promise.allSettled([
      a.set("race", "a", { concurrency: "first-write" }),
      b.set("race", "b", { concurrency: "first-write" }),
    ]);

    const won = outcomes.filter((o) => o.status === "fulfilled");
    const lost = outcomes.filter((o) => o.status === "rejected");
    expect(won).toHaveLength(1);
    expect(lost).toHaveLength(1);
    expect((lost[0] as PromiseRejectedResult).reason).toBeInstanceOf(EtagMismatchError);
    const stored = await a.get("race");
    expect(stored?.etag).toBe((won[0] as PromiseFulfilledResult<{ etag: string }>).value.etag);
    expect(["a", "b"]).toContain(stored?.value);
  });

  it("lets exactly one of two processes win each concurrent first-write of the same key", async () => {
    await freshDir();
    const keys = 1000;
    const racers = [raceProcess(join(baseDir, "race.db"), keys), raceProcess(join(baseDir, "race.db"), keys)];
    await Promise.all(racers.map((r) => r.ready));
    // Both have the file open before either writes, so their writes overlap.
    for (const r of racers) r.go();
    const [a, b] = await Promise.all(racers.map((r) => r.won));

    expect(a!.filter((key) => b!.includes(key))).toEqual([]);
    expect([...a!, ...b!].sort((x, y) => x - y)).toEqual(Array.from({ length: keys }, (_, i) => i));
  });

  it("does no I/O in create: the file appears on first use", async () => {
    await freshDir();
    const store = open();
    expect(existsSync(join(baseDir, "data"))).toBe(false);
    await client(store).get("anything");
    expect(existsSync(join(baseDir, "data", "state.db"))).toBe(true);
  });

  it("deletes expired rows in the background every cleanupInterval", async () => {
    await freshDir();
    const store = open({ cleanupInterval: "100ms", tableName: "custom_state" });
    await client(store).set("short", "v", { ttlInSeconds: 1 });
    const db = new Database(join(baseDir, "data", "state.db"), { readonly: true });
    try {
      const rows = () => db.prepare("SELECT count(*) AS n FROM custom_state").get() as { n: number };
      expect(rows().n).toBe(1);
      await waitFor(() => rows().n === 0, { timeoutMs: 5_000, intervalMs: 50, what: "the expired row to be deleted" });
    } finally {
      db.close();
    }
  });
});

const repoRoot = fileURLToPath(new URL("../..", import.meta.url));

/**
 * A separate Node process with its own store on `file`: once told to go, it first-writes keys
 * 0..keys-1 and reports the ones it won. Threads of one process cannot race here, because
 * better-sqlite3 is synchronous; processes can.
 */
function raceProcess(file: string, keys: number) {
  const module = (path: string) => JSON.stringify(new URL(path, import.meta.url).href);
  const script = `
    import { create } from ${module("../../src/components/state/sqlite.ts")};
    import { ComponentMetadata } from ${module("../../src/config/metadata.ts")};
    const store = create({ name: "race", appId: "race", baseDir: "/",
      metadata: new ComponentMetadata({ connectionString: ${JSON.stringify(file)} }, "race") });
    await store.get("warm-up");
    process.stdout.write("ready\\n");
    await new Promise((resolve) => process.stdin.once("data", resolve));
    const won = [];
    for (let i = 0; i < ${keys}; i++) {
      try {
        await store.set({ key: "k" + i, value: "1", concurrency: "first-write" });
        won.push(i);
      } catch (error) {
        if (error.code !== "ERR_STATE_ETAG_MISMATCH") throw error;
      }
    }
    await store.close();
    process.stdout.write(JSON.stringify(won) + "\\n");
  `;
  const child = spawn(process.execPath, ["--import", "tsx", "--input-type=module", "-e", script], {
    cwd: repoRoot,
    stdio: ["pipe", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (chunk) => (stdout += chunk));
  child.stderr.on("data", (chunk) => (stderr += chunk));
  const exited = new Promise<void>((resolve, reject) =>
    child.on("close", (code) => (code === 0 ? resolve() : reject(new Error(`race process exited with ${code}: ${stderr}`)))),
  );
  return {
    ready: Promise.race([waitFor(() => stdout.startsWith("ready\n"), { what: "the race process to open the store" }), exited]),
    go: () => child.stdin.end("go\n"),
    won: exited.then(() => JSON.parse(stdout.trim().split("\n").at(-1)!) as number[]),
  };
}

describe("state.sqlite metadata", () => {
  const configError = (metadata: Record<string, string>) => configErrorFrom(() => create({ name: "sqlite", appId: "app", baseDir: tmpdir(), metadata: new ComponentMetadata(metadata, "sqlite") }));;

  it("requires connectionString", () => {
    expect(configError({})).toMatchObject({ code: ErrorCodes.componentConfig, field: "connectionString" });
  });

  it("rejects a tableName that is not a plain identifier", () => {
    expect(configError({ connectionString: ":memory:", tableName: 'state"; DROP TABLE x; --' })).toMatchObject({
      code: ErrorCodes.componentConfig,
      field: "tableName",
    });
  });

  it("rejects a busyTimeout that is not a duration", () => {
    expect(configError({ connectionString: ":memory:", busyTimeout: "soon" })).toMatchObject({
      code: ErrorCodes.componentConfig,
      field: "busyTimeout",
    });
  });

  it("accepts the file: form and a negative cleanupInterval", async () => {
    const store = create({
      name: "sqlite",
      appId: "app",
      baseDir: tmpdir(),
      metadata: new ComponentMetadata({ connectionString: "file::memory:?cache=shared", cleanupInterval: "-1" }, "sqlite"),
    });
    await client(store).set("k", "v");
    expect((await client(store).get("k"))?.value).toBe("v");
    await store.close();
  });
});
