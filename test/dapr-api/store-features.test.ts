/**
 * What the state API answers when a store lacks a feature a request needs: a store without
 * transactions gets daprd's ERR_STATE_STORE_NOT_SUPPORTED; any other missing feature inside a
 * transaction (a TTL on a store without TTLs) is the caller's mistake, a 400.
 */
import { describe, expect, it } from "vitest";
import type { StateStoreComponent } from "../../src/blocks/state.ts";
import { componentCatalog, type CatalogEntry } from "../../src/components/catalog.ts";
import type { ComponentModule } from "../../src/components/types.ts";
import { createApp } from "../../src/core/app.ts";
import { createDaprApi } from "../../src/dapr-api/index.ts";

/** The real in-memory store, declaring fewer features (as stores like DynamoDB without a TTL attribute do). */
const narrowed = (features: StateStoreComponent["features"]): CatalogEntry<"state"> => ({
  block: "state",
  load: async () => {
    const inMemory = (await componentCatalog["state.in-memory"]!.load()) as ComponentModule<"state">;
    return { create: (options) => Object.assign(inMemory.create(options), { features }) };
  },
});

function api() {
  const spec = (name: string, type: string) => ({ name, type, version: "v1", metadata: [], scopes: [] });
  const app = createApp({
    appId: "features",
    resources: { components: [spec("plain", "state.plain"), spec("nottl", "state.nottl")], subscriptions: [] },
    modules: [],
    catalog: { ...componentCatalog, "state.plain": narrowed(["etag"]), "state.nottl": narrowed(["etag", "transactional"]) },
    baseDir: process.cwd(),
  });
  return createDaprApi(app);
}

const transaction = (ttl?: string) =>
  JSON.stringify({ operations: [{ operation: "upsert", request: { key: "k", value: 1, ...(ttl ? { metadata: { ttlInSeconds: ttl } } : {}) } }] });
const post = (path: string, body: string) => api().request(path, { method: "POST", headers: { "content-type": "application/json" }, body });

describe("a store without a feature a request needs", () => {
  it("answers a transaction on a store without transactions with 500 ERR_STATE_STORE_NOT_SUPPORTED, as daprd", async () => {
    const response = await post("/v1.0/state/plain/transaction", transaction());
    expect(response.status).toBe(500);
    expect(await response.json()).toEqual({ errorCode: "ERR_STATE_STORE_NOT_SUPPORTED", message: "state store plain doesn't support transactions" });
  });

  it("answers a TTL inside a transaction on a store without TTLs with 400, naming the feature", async () => {
    const response = await post("/v1.0/state/nottl/transaction", transaction("60"));
    expect(response.status).toBe(400);
    expect(await response.json()).toMatchObject({ errorCode: "ERR_STATE_TRANSACTION", message: expect.stringContaining("ttlInSeconds is not supported") });
  });

  it("runs the same transaction without the TTL", async () => {
    expect((await post("/v1.0/state/nottl/transaction", transaction())).status).toBe(204);
  });
});
