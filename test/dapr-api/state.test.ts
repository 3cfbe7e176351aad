/**
 * Dapr's state API on the Node host, against real stores (SQLite; in-memory without transactions
 * off): the answers Dapr's runtime gives — bodies, ETag headers, status codes and error codes.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { componentYaml } from "../support/app-fixture.ts";
import { json, startDaprApiHost, type DaprApiHost } from "../support/dapr-api-host.ts";
import { freshName, waitFor } from "../support/wait.ts";

let app: DaprApiHost;
const store = "/v1.0/state/store";

beforeAll(async () => {
  app = await startDaprApiHost({
    files: {
      "components/store.yaml": componentYaml("store", "state.sqlite", { connectionString: ".mecha/state.db" }),
      "components/bus.yaml": componentYaml("bus", "pubsub.in-memory"),
    },
  });
});
afterAll(() => app?.close());

const save = (items: unknown, query = "") => app.api(`${store}${query}`, json(items));
const errorOf = async (response: Response) => ({ status: response.status, body: (await response.json()) as { errorCode: string; message: string } });

describe("GET /v1.0/state/{store}/{key}", () => {
  it("answers the saved value as JSON with its ETag header", async () => {
    const key = freshName("order");
    expect((await save([{ key, value: { id: 1, items: ["a"] } }])).status).toBe(204);
    const response = await app.api(`${store}/${key}`);
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toContain("application/json");
    expect(response.headers.get("etag")).toMatch(/.+/);
    expect(await response.json()).toEqual({ id: 1, items: ["a"] });
  });

  it("answers 204 with no body for a key that does not exist", async () => {
    const response = await app.api(`${store}/${freshName("missing")}`);
    expect(response.status).toBe(204);
    expect(await response.text()).toBe("");
  });

  it("keeps strings, numbers and null as the JSON they were saved as", async () => {
    const values = ["text", 42, null, true, [1, "two"]];
    const keys = values.map(() => freshName("scalar"));
    await save(values.map((value, i) => ({ key: keys[i], value })));
    for (const [i, value] of values.entries()) expect(await (await app.api(`${store}/${keys[i]}`)).json()).toEqual(value);
  });

  it("answers 400 ERR_MALFORMED_REQUEST for a key with ||", async () => {
    expect(await errorOf(await app.api(`${store}/a%7C%7Cb`))).toMatchObject({ status: 400, body: { errorCode: "ERR_MALFORMED_REQUEST" } });
  });

  it("answers 400 ERR_STATE_STORE_NOT_FOUND for an unknown store, and names it", async () => {
    const { status, body } = await errorOf(await app.api("/v1.0/state/nowhere/k"));
    expect(status).toBe(400);
    expect(body).toEqual({ errorCode: "ERR_STATE_STORE_NOT_FOUND", message: "state store nowhere is not found" });
  });

  it("answers 400 ERR_STATE_STORE_NOT_FOUND for a component of another block", async () => {
    expect((await errorOf(await app.api("/v1.0/state/bus/k"))).body.errorCode).toBe("ERR_STATE_STORE_NOT_FOUND");
  });
});

describe("POST /v1.0/state/{store}", () => {
  it("saves several items at once and answers 204", async () => {
    const [a, b] = [freshName("a"), freshName("b")];
    const response = await save([{ key: a, value: "one" }, { key: b, value: "two" }]);
    expect(response.status).toBe(204);
    expect(await (await app.api(`${store}/${a}`)).json()).toBe("one");
    expect(await (await app.api(`${store}/${b}`)).json()).toBe("two");
  });

  it("saves with the current etag and refuses a stale one with 409 ERR_STATE_SAVE", async () => {
    const key = freshName("etag");
    await save([{ key, value: 1 }]);
    const etag = (await app.api(`${store}/${key}`)).headers.get("etag")!;
    expect((await save([{ key, value: 2, etag }])).status).toBe(204);
    const { status, body } = await errorOf(await save([{ key, value: 3, etag }]));
    expect(status).toBe(409);
    expect(body.errorCode).toBe("ERR_STATE_SAVE");
    expect(body.message).toContain(key);
    expect(await (await app.api(`${store}/${key}`)).json()).toBe(2);
  });

  it("applies the good items of a batch and answers 409 naming only the stale key", async () => {
    const [good, stale] = [freshName("good"), freshName("stale")];
    await save([{ key: stale, value: "old" }]);
    const { status, body } = await errorOf(await save([{ key: good, value: "new" }, { key: stale, value: "x", etag: "999999" }]));
    expect(status).toBe(409);
    expect(body.message).toContain(stale);
    expect(body.message).not.toContain(good);
    expect(await (await app.api(`${store}/${good}`)).json()).toBe("new");
  });

  it("with first-write concurrency, inserts only when the key is absent", async () => {
    const key = freshName("first");
    const first = { key, value: "first", options: { concurrency: "first-write" } };
    expect((await save([first])).status).toBe(204);
    expect((await save([{ ...first, value: "second" }])).status).toBe(409);
    expect(await (await app.api(`${store}/${key}`)).json()).toBe("first");
  });

  it("expires a value saved with metadata.ttlInSeconds, given in the item or the query", async () => {
    const [inItem, inQuery] = [freshName("ttl"), freshName("ttl")];
    await save([{ key: inItem, value: 1, metadata: { ttlInSeconds: "1" } }]);
    await save([{ key: inQuery, value: 1 }], "?metadata.ttlInSeconds=1");
    expect((await app.api(`${store}/${inItem}`)).status).toBe(200);
    const statuses = () => Promise.all([inItem, inQuery].map(async (k) => (await app.api(`${store}/${k}`)).status));
    await waitFor(async () => (await statuses()).every((s) => s === 204), { timeoutMs: 5000, intervalMs: 100, what: "both keys to expire" });
    expect(await statuses()).toEqual([204, 204]);
  });

  it("answers 204 for an empty array", async () => {
    expect((await save([])).status).toBe(204);
  });

  it.each([
    ["malformed JSON", "[{", "ERR_MALFORMED_REQUEST"],
    ["an object instead of an array", JSON.stringify({ key: "k", value: 1 }), "ERR_MALFORMED_REQUEST"],
    ["an item without a key", JSON.stringify([{ value: 1 }]), "ERR_MALFORMED_REQUEST"],
    ["an item without a value", JSON.stringify([{ key: "k" }]), "ERR_MALFORMED_REQUEST"],
    ["a key with ||", JSON.stringify([{ key: "a||b", value: 1 }]), "ERR_MALFORMED_REQUEST"],
    ["a numeric etag", JSON.stringify([{ key: "k", value: 1, etag: 5 }]), "ERR_MALFORMED_REQUEST"],
    ["an unknown concurrency", JSON.stringify([{ key: "k", value: 1, options: { concurrency: "sometimes" } }]), "ERR_MALFORMED_REQUEST"],
    ["a bad TTL", JSON.stringify([{ key: "k", value: 1, metadata: { ttlInSeconds: "soon" } }]), "ERR_STATE_SAVE"],
  ])("answers 400 for %s, writing nothing", async (_case, body, errorCode) => {
    const response = await app.api(store, { method: "POST", headers: { "content-type": "application/json" }, body });
    expect(await errorOf(response)).toMatchObject({ status: 400, body: { errorCode } });
    expect((await app.api(`${store}/k`)).status).toBe(204);
  });
});

describe("DELETE /v1.0/state/{store}/{key}", () => {
  it("deletes a key and answers 204; the key then reads as missing", async () => {
    const key = freshName("delete");
    await save([{ key, value: 1 }]);
    expect((await app.api(`${store}/${key}`, { method: "DELETE" })).status).toBe(204);
    expect((await app.api(`${store}/${key}`)).status).toBe(204);
  });

  it("checks If-Match against the etag: 409 ERR_STATE_DELETE when stale, 204 when current", async () => {
    const key = freshName("delete-etag");
    await save([{ key, value: 1 }]);
    const etag = (await app.api(`${store}/${key}`)).headers.get("etag")!;
    await save([{ key, value: 2 }]);
    const stale = await app.api(`${store}/${key}`, { method: "DELETE", headers: { "if-match": etag } });
    expect(await errorOf(stale)).toMatchObject({ status: 409, body: { errorCode: "ERR_STATE_DELETE" } });
    const current = (await app.api(`${store}/${key}`)).headers.get("etag")!;
    expect((await app.api(`${store}/${key}`, { method: "DELETE", headers: { "if-match": current } })).status).toBe(204);
  });

  it("answers 204 for a key that does not exist", async () => {
    expect((await app.api(`${store}/${freshName("never")}`, { method: "DELETE" })).status).toBe(204);
  });
});

describe("POST /v1.0/state/{store}/bulk", () => {
  it("answers each key with its data and etag, and a missing key with its key only", async () => {
    const [a, missing] = [freshName("bulk"), freshName("bulk-missing")];
    await save([{ key: a, value: { n: 1 } }]);
    const response = await app.api(`${store}/bulk`, json({ keys: [a, missing], parallelism: 2 }));
    expect(response.status).toBe(200);
    const entries = await response.json();
    expect(entries).toEqual([{ key: a, data: { n: 1 }, etag: expect.any(String) }, { key: missing }]);
  });

  it("answers [] for no keys, and 400 when keys is not an array of strings", async () => {
    expect(await (await app.api(`${store}/bulk`, json({ keys: [] }))).json()).toEqual([]);
    expect((await errorOf(await app.api(`${store}/bulk`, json({ keys: "a" })))).status).toBe(400);
    expect((await errorOf(await app.api(`${store}/bulk`, json({ keys: [1] })))).status).toBe(400);
  });
});

describe("POST /v1.0/state/{store}/transaction", () => {
  it("applies upserts and deletes in order, atomically, and answers 204", async () => {
    const [a, b] = [freshName("tx"), freshName("tx")];
    await save([{ key: b, value: "to delete" }]);
    const response = await app.api(
      `${store}/transaction`,
      json({ operations: [{ operation: "upsert", request: { key: a, value: { v: 1 } } }, { operation: "delete", request: { key: b } }] }),
    );
    expect(response.status).toBe(204);
    expect(await (await app.api(`${store}/${a}`)).json()).toEqual({ v: 1 });
    expect((await app.api(`${store}/${b}`)).status).toBe(204);
  });

  it("applies nothing when one operation's etag is stale, and answers 409 ERR_STATE_TRANSACTION", async () => {
    const [a, b] = [freshName("tx-a"), freshName("tx-b")];
    await save([{ key: b, value: "kept" }]);
    const response = await app.api(
      `${store}/transaction`,
      json({ operations: [{ operation: "upsert", request: { key: a, value: 1 } }, { operation: "upsert", request: { key: b, value: "lost", etag: "999999" } }] }),
    );
    expect(await errorOf(response)).toMatchObject({ status: 409, body: { errorCode: "ERR_STATE_TRANSACTION" } });
    expect((await app.api(`${store}/${a}`)).status).toBe(204);
    expect(await (await app.api(`${store}/${b}`)).json()).toBe("kept");
  });

  it("answers 400 ERR_NOT_SUPPORTED_STATE_OPERATION for an unknown operation", async () => {
    const response = await app.api(`${store}/transaction`, json({ operations: [{ operation: "merge", request: { key: "k", value: 1 } }] }));
    expect(await errorOf(response)).toMatchObject({ status: 400, body: { errorCode: "ERR_NOT_SUPPORTED_STATE_OPERATION" } });
  });

  it("answers 400 for a malformed body and 204 for no operations", async () => {
    expect((await errorOf(await app.api(`${store}/transaction`, { method: "POST", body: "{" }))).status).toBe(400);
    expect((await errorOf(await app.api(`${store}/transaction`, json({ operations: {} })))).status).toBe(400);
    expect((await app.api(`${store}/transaction`, json({ operations: [] }))).status).toBe(204);
  });
});
