import { mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import { afterAll, describe, expect, it } from "vitest";
import { createStateClient, type StateStoreComponent } from "../../src/blocks/state.ts";
import { create } from "../../src/components/state/cloudflare-durableobjects.ts";
import { ComponentMetadata } from "../../src/config/metadata.ts";
import { ComponentConfigError, ErrorCodes, EtagMismatchError } from "../../src/errors.ts";
import { startMiniflareBridge, type MiniflareBridge } from "../support/miniflare-bridge.ts";
import { freshName, waitFor } from "../support/wait.ts";
import { describeStateConformance } from "./state-suite.ts";
import { rejectionOf } from "../support/rejection.ts";

const type = "state.cloudflare.durableobjects";

/** One Miniflare for the file, started by whichever test needs it first. */
let bridge: Promise<MiniflareBridge> | undefined;
const shared = () => (bridge ??= startMiniflareBridge());
afterAll(async () => {
  await (await bridge)?.dispose();
});

/** A store on its own object, so that runs and tests never share keys. */
const freshStore = async (metadata: Record<string, string> = {}) =>
  (await shared()).store({ type, metadata: { objectName: freshName("conformance"), ...metadata } });

const client = (store: StateStoreComponent) => createStateClient({ name: "orders", appId: "app", store });

describeStateConformance(type, async () => ({ store: await freshStore() }));

describe(`${type} on workerd`, () => {
  it("fails the first call with a ComponentConfigError naming a binding missing from env", async () => {
    const store = await freshStore({ binding: "NO_SUCH_STATE" });
    const error = await rejectionOf(client(store).get("k"));
    expect(error).toBeInstanceOf(ComponentConfigError);
    expect(error).toMatchObject({ code: ErrorCodes.componentConfig, field: "binding" });
    expect(error.message).toContain('"NO_SUCH_STATE"');
    expect(error.message).toContain("[[durable_objects.bindings]]");
  });

  it("keeps every store with the same objectName in one object: keys and etags are shared", async () => {
    const objectName = freshName("shared-object");
    const [a, b] = [client(await freshStore({ objectName })), client(await freshStore({ objectName }))];
    const { etag } = await a.set("k", "from a");
    expect(await b.get("k")).toEqual({ value: "from a", etag });
    await expect(b.set("k", "stale", { etag: "not-the-etag" })).rejects.toBeInstanceOf(EtagMismatchError);
  });

  it("keeps stores with different objectNames apart", async () => {
    const [a, b] = [client(await freshStore()), client(await freshStore())];
    await a.set("k", "from a");
    expect(await b.get("k")).toBeUndefined();
  });

  it("lets exactly one of many concurrent first-writes of a key win", async () => {
    const state = client(await freshStore());
    const outcomes = await Promise.allSettled(
      Array.from({ length: 10 }, (_, i) => state.set("race", i, { concurrency: "first-write" })),
    );
    expect(outcomes.filter((o) => o.status === "fulfilled")).toHaveLength(1);
    for (const lost of outcomes.filter((o) => o.status === "rejected")) {
      expect((lost as PromiseRejectedResult).reason).toBeInstanceOf(EtagMismatchError);
    }
  });
});

describe(`${type} storage`, () => {
  /** The object's SQLite file in a durableObjectsPersist dir (Miniflare keeps one per object). */
  const objectDatabase = async (dir: string): Promise<string> => {
    const files = await readdir(dir, { recursive: true });
    const file = files.find((f) => f.endsWith(".sqlite") && !f.endsWith("metadata.sqlite"));
    if (!file) throw new Error(`no object database under ${dir}: ${files.join(", ")}`);
    return join(dir, file);
  };

  it("deletes expired rows from storage with an alarm, not only hides them from reads", async () => {
    const dir = await mkdtemp(join(tmpdir(), "mecha-do-sweep-"));
    const persisted = await startMiniflareBridge({ durableObjectsPersist: dir });
    try {
      const state = client(await persisted.store({ type, metadata: { objectName: freshName("sweep") } }));
      await state.set("short", "v", { ttlInSeconds: 1 });
      await state.set("kept", "v");
      const db = new Database(await objectDatabase(dir), { readonly: true, fileMustExist: true });
      try {
        const keys = () => (db.prepare("SELECT key FROM mecha_state ORDER BY key").all() as Array<{ key: string }>).map((r) => r.key);
        expect(keys()).toEqual(["app||kept", "app||short"]);
        await waitFor(() => keys().length === 1, { timeoutMs: 5_000, intervalMs: 50, what: "the alarm to delete the expired row" });
        expect(keys()).toEqual(["app||kept"]);
      } finally {
        db.close();
      }
    } finally {
      await persisted.dispose();
      await rm(dir, { recursive: true, force: true });
    }
  });

  it("keeps a value and its etag across two Miniflare instances sharing durableObjectsPersist", async () => {
    const dir = await mkdtemp(join(tmpdir(), "mecha-do-persist-"));
    const objectName = freshName("persisted");
    try {
      const first = await startMiniflareBridge({ durableObjectsPersist: dir });
      const { etag } = await client(await first.store({ type, metadata: { objectName } })).set("durable", { n: 1 }, { ttlInSeconds: 3600 });
      await first.dispose();

      const second = await startMiniflareBridge({ durableObjectsPersist: dir });
      try {
        expect(await client(await second.store({ type, metadata: { objectName } })).get("durable")).toEqual({ value: { n: 1 }, etag });
      } finally {
        await second.dispose();
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe(`${type} metadata`, () => {
  const open = (metadata: Record<string, string>, bindings?: Record<string, unknown>) =>
    create({ name: "orders", appId: "app", baseDir: "/", metadata: new ComponentMetadata(metadata, "orders"), bindings });

  it("loads on Node and does no I/O in create: the binding is read on first use", async () => {
    const store = open({});
    expect(store).toMatchObject({ type, features: ["etag", "transactional", "ttl"] });
    await expect(store.get("k")).rejects.toThrow(/"MECHA_STATE" is missing .*needs Cloudflare Workers/);
  });

  it("rejects a binding name that wrangler.toml cannot declare", () => {
    expect(() => open({ binding: "my-state" })).toThrow(expect.objectContaining({ code: ErrorCodes.componentConfig, field: "binding" }));
  });

  it("says so when the binding is not a Durable Object namespace", async () => {
    await expect(open({}, { MECHA_STATE: { get: async () => null } }).get("k")).rejects.toThrow(/not a Durable Object namespace/);
  });
});
