import { GetItemCommand, PutItemCommand } from "@aws-sdk/client-dynamodb";
import { afterAll, describe, expect, it } from "vitest";
import { createStateClient, type StateStoreComponent } from "../../src/blocks/state.ts";
import { create } from "../../src/components/state/aws-dynamodb.ts";
import { ComponentMetadata } from "../../src/config/metadata.ts";
import { ComponentConfigError, ErrorCodes, EtagMismatchError, InvalidRequestError, MechaError } from "../../src/errors.ts";
import { startDynalite, type Dynalite } from "../support/dynalite.ts";
import { incrementWithEtags } from "../support/etag-increments.ts";
import { freshName } from "../support/wait.ts";
import { describeStateConformance } from "./state-suite.ts";
import { badAwsClientMetadata, configErrorFrom } from "../support/config-error.ts";
import { rejectionOf } from "../support/rejection.ts";

const type = "state.aws.dynamodb";

/**
 * dynalite is an npm package, so it should always start. Where it cannot, the file skips with the
 * reason, except on CI, where a backend that does not start fails the run.
 */
async function startOrSkip(): Promise<Dynalite | undefined> {
  try {
    return await startDynalite();
  } catch (error) {
    if (process.env["CI"]) throw error;
    console.warn(`skipping the ${type} tests: dynalite could not start: ${(error as Error).message}`);
    return undefined;
  }
}

const dynalite = await startOrSkip();
const opened: StateStoreComponent[] = [];
afterAll(async () => {
  await Promise.all(opened.splice(0).map((store) => store.close()));
  await dynalite?.stop();
});

const open = (metadata: Record<string, string>): StateStoreComponent => {
  const store = create({ name: "orders", appId: "app", baseDir: "/", metadata: new ComponentMetadata(metadata, "orders") });
  opened.push(store);
  return store;
};

/** A client with a fresh app id: its keys are its own in the shared table. */
const client = (store: StateStoreComponent, appId = freshName("app")) => createStateClient({ name: "orders", appId, store });

if (!dynalite) {
  describe.skip(`${type} on dynalite (dynalite could not start)`, () => {
    it("runs the conformance suite against dynalite", () => {});
  });
} else {
  const server = dynalite;
  const ttlAttributeName = "expiresAt";
  const withTtl = () => open(server.metadata({ ttlAttributeName }));

  describeStateConformance(type, async () => ({ store: create({ name: "orders", appId: "app", baseDir: "/", metadata: new ComponentMetadata(server.metadata({ ttlAttributeName }), "orders") }) }));

  describe(`${type} on dynalite`, () => {
    it("fails with a ComponentConfigError naming the table and the component when the table does not exist", async () => {
      const state = client(open(server.metadata({ table: "mecha-no-such-table" })));
      for (const call of [state.get("k"), state.set("k", 1), state.getBulk(["k"]), state.transaction([{ operation: "delete", key: "k" }])]) {
        const error = await rejectionOf(call);
        expect(error).toBeInstanceOf(ComponentConfigError);
        expect(error).toBeInstanceOf(MechaError);
        expect(error).toMatchObject({ code: ErrorCodes.componentConfig, component: "orders", field: "table" });
        expect(error.message).toContain('"mecha-no-such-table"');
        expect(error.message).toContain('component "orders"');
      }
    });

    it("rejects a transaction of 101 operations with DynamoDB's limit of 100, and applies nothing", async () => {
      const state = client(withTtl());
      const error = await rejectionOf(
        state.transaction(Array.from({ length: 101 }, (_, i) => ({ operation: "upsert" as const, key: `k${i}`, value: i }))),
      );
      expect(error).toBeInstanceOf(InvalidRequestError);
      expect(error.message).toContain("DynamoDB transactions take at most 100 operations");
      expect(await state.get("k0")).toBeUndefined();
    });

    it("applies a transaction of exactly 100 operations", async () => {
      const state = client(withTtl());
      await state.transaction(Array.from({ length: 100 }, (_, i) => ({ operation: "upsert" as const, key: `k${i}`, value: i })));
      expect((await state.get("k99"))?.value).toBe(99);
    });

    it("names the key whose etag failed inside a transaction", async () => {
      const state = client(withTtl());
      const { etag: stale } = await state.set("b", "b0");
      await state.set("b", "b1");
      const error = await rejectionOf(
        state.transaction([
          { operation: "upsert", key: "a", value: "a1" },
          { operation: "upsert", key: "b", value: "b2", etag: stale },
        ]),
      );
      expect(error).toBeInstanceOf(EtagMismatchError);
      expect((error as EtagMismatchError).key).toBe("b");
    });

    it("loses no increment with 10 store instances racing 20 etag-guarded increments each", async () => {
      const appId = freshName("race");
      const writers = Array.from({ length: 10 }, () => client(open(server.metadata()), appId));
      await writers[0]!.set("counter", 0);
      const conflicts = await incrementWithEtags(writers, "counter", 20);
      expect((await writers[0]!.get("counter"))?.value).toBe(200);
      expect(conflicts).toBeGreaterThan(0);
    });

    it("reads more than 100 keys, and repeated keys, through getBulk", async () => {
      const state = client(withTtl());
      const keys = Array.from({ length: 150 }, (_, i) => `k${i}`);
      await state.setBulk(keys.map((key, i) => ({ key, value: i })));
      const entries = await state.getBulk([...keys, "k7", "missing"]);
      expect(entries.map((e) => e.value)).toEqual([...keys.map((_, i) => i), 7, undefined]);
    });

    it("stores Dapr's item layout: JSON text as S, bytes as B, a string etag and the expiry in epoch seconds", async () => {
      const appId = freshName("app");
      const state = client(withTtl(), appId);
      const before = Math.floor(Date.now() / 1000);
      const { etag } = await state.set("json", { n: 1 }, { ttlInSeconds: 60 });
      await state.set("bytes", new Uint8Array([1, 2]));
      const raw = async (key: string) =>
        (await server.client.send(new GetItemCommand({ TableName: server.table, Key: { key: { S: `${appId}||${key}` } } }))).Item;
      const json = await raw("json");
      expect(json?.["value"]).toEqual({ S: '{"n":1}' });
      expect(json?.["etag"]).toEqual({ S: etag });
      expect(Number(json?.[ttlAttributeName]?.N)).toBeGreaterThanOrEqual(before + 60);
      expect(Number(json?.[ttlAttributeName]?.N)).toBeLessThanOrEqual(before + 62);
      expect((await raw("bytes"))?.["value"]).toEqual({ B: new Uint8Array([1, 2]) });
      expect((await raw("bytes"))?.[ttlAttributeName]).toBeUndefined();
    });

    it("hides an item whose TTL has passed that DynamoDB has not deleted yet, and lets first-write replace it", async () => {
      const appId = freshName("app");
      const state = client(withTtl(), appId);
      const past = String(Math.floor(Date.now() / 1000) - 60);
      const Item = { key: { S: `${appId}||k` }, value: { S: '"old"' }, etag: { S: "old-etag" }, [ttlAttributeName]: { N: past } };
      await server.client.send(new PutItemCommand({ TableName: server.table, Item }));
      expect(await state.get("k")).toBeUndefined();
      expect((await state.getBulk(["k"]))[0]?.value).toBeUndefined();
      await expect(rejectionOf(state.set("k", "stale", { etag: "old-etag" }))).resolves.toBeInstanceOf(EtagMismatchError);
      await state.set("k", "new", { concurrency: "first-write" });
      expect((await state.get("k"))?.value).toBe("new");
    });

    it("uses the partitionKey attribute of a table keyed by another name", async () => {
      const table = await server.createTable({ partitionKey: "ContractID" });
      const state = client(open(server.metadata({ table, partitionKey: "ContractID" })));
      const { etag } = await state.set("A12345", { total: 3 });
      expect(await state.get("A12345")).toEqual({ value: { total: 3 }, etag });
    });

    it("fails with a ComponentConfigError naming partitionKey when the table is keyed by another name", async () => {
      const table = await server.createTable({ partitionKey: "ContractID" });
      const error = await rejectionOf(client(open(server.metadata({ table }))).set("k", 1));
      expect(error).toBeInstanceOf(ComponentConfigError);
      expect(error).toMatchObject({ code: ErrorCodes.componentConfig, field: "partitionKey" });
    });
  });
}

describe(`${type} metadata`, () => {
  const configError = (metadata: Record<string, string>) => configErrorFrom(() => create({ name: "orders", appId: "app", baseDir: "/", metadata: new ComponentMetadata(metadata, "orders") }));

  it("requires table", () => {
    expect(configError({})).toMatchObject({ code: ErrorCodes.componentConfig, field: "table" });
  });

  it("declares ttl only when ttlAttributeName is set", () => {
    expect(open({ table: "orders" }).features).toEqual(["etag", "transactional"]);
    expect(open({ table: "orders", ttlAttributeName: "expiresAt" }).features).toEqual(["etag", "transactional", "ttl"]);
  });

  it.each(badAwsClientMetadata)("rejects the AWS client metadata %j, naming the field", (metadata, field) => {
    expect(configError({ table: "orders", ...metadata })).toMatchObject({ field });
  });

  it("rejects attribute names that clash with the store's own attributes", () => {
    expect(configError({ table: "orders", partitionKey: "etag" })).toMatchObject({ field: "partitionKey" });
    expect(configError({ table: "orders", ttlAttributeName: "value" })).toMatchObject({ field: "ttlAttributeName" });
    expect(configError({ table: "orders", ttlAttributeName: "key" })).toMatchObject({ field: "ttlAttributeName" });
  });

  it("connects on first use: create and close touch no network", async () => {
    const store = create({ name: "orders", appId: "app", baseDir: "/", metadata: new ComponentMetadata({ table: "orders", endpoint: "http://127.0.0.1:9" }, "orders") });
    await expect(store.close()).resolves.toBeUndefined();
  });
});
