/**
 * Dapr's state API (v1.0): get, save, delete, bulk get and transactions, with Dapr's status codes
 * — 204 for a save, a delete and a missing key; 409 for an etag mismatch; 400 for a malformed body
 * or a key with `||`.
 */
import type { Context as HonoContext, Hono } from "hono";
import type { BulkSetItem, Concurrency, StateClient, StateSetOptions, TransactionOperation } from "../blocks/state.ts";
import { answerFailureAs, type ApiDeps } from "./context.ts";
import { DaprApiError, DaprErrorCodes, malformed } from "./errors.ts";
import { asObject, asStringMap, optionalString, queryMetadata, readJson } from "./request.ts";

export function mountStateRoutes(api: Hono, deps: ApiDeps): void {
  const store = (name: string): Promise<StateClient> => {
    deps.components.require("state", name);
    return answerFailureAs(DaprErrorCodes.stateGet, deps.runtime.state(name));
  };

  api.get("/v1.0/state/:store/:key", async (c) => {
    const client = await store(c.req.param("store"));
    const key = c.req.param("key");
    const entry = await answerFailureAs(DaprErrorCodes.stateGet, () => client.get(key));
    if (!entry) return c.body(null, 204);
    c.header("ETag", entry.etag);
    return valueResponse(c, entry.value);
  });

  api.on(["POST", "PUT"], "/v1.0/state/:store/bulk", async (c) => {
    const client = await store(c.req.param("store"));
    const body = asObject(await readJson(c), "the bulk get request");
    const keys = body["keys"];
    if (!Array.isArray(keys) || !keys.every((k) => typeof k === "string")) throw malformed("keys must be an array of strings");
    if (keys.length === 0) return c.json([]);
    const entries = await answerFailureAs(DaprErrorCodes.stateBulkGet, () => client.getBulk(keys as string[]));
    return c.json(entries.map((e) => (e.value === undefined ? { key: e.key } : { key: e.key, data: jsonData(e.value), etag: e.etag })));
  });

  api.on(["POST", "PUT"], "/v1.0/state/:store/transaction", async (c) => {
    const client = await store(c.req.param("store"));
    const body = asObject(await readJson(c), "the transaction request");
    if (body["operations"] === undefined || body["operations"] === null) return c.body(null, 204);
    if (!Array.isArray(body["operations"])) throw malformed("operations must be an array");
    const shared = { ...asStringMap(body["metadata"], "metadata"), ...queryMetadata(c) };
    const operations = body["operations"].map((raw, i) => transactionOperation(raw, i, shared));
    if (operations.length === 0) return c.body(null, 204);
    const { features } = await answerFailureAs(DaprErrorCodes.stateTransaction, deps.runtime.capabilities(c.req.param("store")));
    if (!features.includes("transactional")) {
      // Dapr's answer for a store without transactions.
      throw new DaprApiError(500, DaprErrorCodes.stateStoreNotSupported, `state store ${c.req.param("store")} doesn't support transactions`);
    }
    await answerFailureAs(DaprErrorCodes.stateTransaction, () => client.transaction(operations));
    return c.body(null, 204);
  });

  api.on(["POST", "PUT"], "/v1.0/state/:store", async (c) => {
    const client = await store(c.req.param("store"));
    const body = await readJson(c);
    if (!Array.isArray(body)) throw malformed("the request body must be a JSON array of state items");
    const shared = queryMetadata(c);
    const items = body.map((raw, i) => saveItem(raw, `item ${i}`, shared));
    if (items.length === 1) {
      const [item] = items as [BulkSetItem];
      await answerFailureAs(DaprErrorCodes.stateSave, () => client.set(item.key, item.value, item));
    } else if (items.length > 1) {
      await answerFailureAs(DaprErrorCodes.stateSave, () => client.setBulk(items));
    }
    return c.body(null, 204);
  });

  api.delete("/v1.0/state/:store/:key", async (c) => {
    const client = await store(c.req.param("store"));
    const key = c.req.param("key");
    const etag = c.req.header("if-match");
    const concurrency = concurrencyOf(c.req.query("concurrency") || undefined, "concurrency");
    await answerFailureAs(DaprErrorCodes.stateDelete, () => client.delete(key, { etag, concurrency }));
    return c.body(null, 204);
  });
}

/** A stored value as Dapr answers it: JSON as stored, bytes as they are. */
function valueResponse(c: HonoContext, value: unknown): Response {
  if (value instanceof Uint8Array) return c.body(value as Uint8Array<ArrayBuffer>, 200, { "content-type": "application/octet-stream" });
  return c.body(JSON.stringify(value), 200, { "content-type": "application/json" });
}

/** Bulk answers embed each value as JSON; bytes (which JSON cannot hold) as base64 text. */
function jsonData(value: unknown): unknown {
  return value instanceof Uint8Array ? Buffer.from(value).toString("base64") : value;
}

/** One `{ key, value, etag?, metadata?, options? }` of a save (or a transaction's upsert). */
function saveItem(raw: unknown, what: string, shared: Record<string, string>): BulkSetItem {
  const item = asObject(raw, what);
  const key = item["key"];
  if (typeof key !== "string" || key === "") throw malformed(`"key" is a required field (${what})`);
  if (!("value" in item)) throw malformed(`"value" is a required field (${what}, key "${key}")`);
  return { key, value: item["value"], ...writeOptions(item, what, shared) };
}

function writeOptions(item: Record<string, unknown>, what: string, shared: Record<string, string>): StateSetOptions {
  const etag = optionalString(item["etag"], `${what}: etag`);
  const metadata = { ...asStringMap(item["metadata"], `${what}: metadata`), ...shared };
  const options = item["options"] === undefined || item["options"] === null ? {} : asObject(item["options"], `${what}: options`);
  const concurrency = concurrencyOf(options["concurrency"], `${what}: options.concurrency`);
  return {
    ...(etag !== undefined ? { etag } : {}),
    ...(concurrency ? { concurrency } : {}),
    ...(Object.keys(metadata).length ? { metadata } : {}),
  };
}

function transactionOperation(raw: unknown, i: number, shared: Record<string, string>): TransactionOperation {
  const what = `operations[${i}]`;
  const entry = asObject(raw, what);
  const request = asObject(entry["request"], `${what}.request`);
  switch (entry["operation"]) {
    case "upsert":
      return { operation: "upsert", ...saveItem(request, `${what}.request`, shared) };
    case "delete": {
      const key = request["key"];
      if (typeof key !== "string" || key === "") throw malformed(`"key" is a required field (${what}.request)`);
      const { etag, concurrency } = writeOptions(request, `${what}.request`, shared);
      return { operation: "delete", key, ...(etag !== undefined ? { etag } : {}), ...(concurrency ? { concurrency } : {}) };
    }
    default:
      throw new DaprApiError(
        400,
        DaprErrorCodes.notSupportedStateOperation,
        `operation type ${JSON.stringify(entry["operation"] ?? "")} not supported (${what}); use "upsert" or "delete"`,
      );
  }
}

function concurrencyOf(value: unknown, what: string): Concurrency | undefined {
  if (value === undefined || value === null || value === "") return undefined;
  if (value === "first-write" || value === "last-write") return value;
  throw malformed(`${what} must be "first-write" or "last-write"`);
}
