import { afterAll, describe, expect, it } from "vitest";
import type { OutputBindingComponent } from "../../src/blocks/bindings.ts";
import { ComponentConfigError, ErrorCodes, InvalidRequestError, MechaError } from "../../src/errors.ts";
import { startQueuesBridge, type QueuesBridge } from "../support/queues-bridge.ts";
import { freshName } from "../support/wait.ts";

const type = "bindings.cloudflare.r2";

/** One Miniflare (with a local R2 bucket) for the file, started by the first test. */
let bridge: Promise<QueuesBridge> | undefined;
const shared = () => (bridge ??= startQueuesBridge({ poolSize: 0 }));
afterAll(async () => {
  await (await bridge)?.dispose();
});

/** The real component inside workerd, on the bridge's bucket. */
const r2 = async (metadata: Record<string, string> = {}): Promise<OutputBindingComponent> =>
  (await shared()).outputBinding({ type, name: "receipts", metadata });

/** The error a call failed with; fails the test if the call succeeded. */
const failure = (call: Promise<unknown>): Promise<Error & { code?: string; field?: string }> =>
  call.then(
    () => Promise.reject(new Error("expected the call to fail, but it succeeded")),
    (error: unknown) => error as Error,
  );

const text = (data: unknown): string => new TextDecoder().decode(data as Uint8Array);

describe(`${type} on workerd`, () => {
  it("lists the object-store operations", async () => {
    expect((await r2()).operations).toEqual(["create", "get", "list", "delete"]);
  });

  it("stores an object as JSON and gets it back as bytes", async () => {
    const b = await r2();
    const key = freshName("receipt");
    expect(await b.invoke({ operation: "create", data: { id: 7, items: ["a"] }, metadata: { key } })).toEqual({
      data: { key },
      metadata: { key },
    });
    const { data, metadata } = await b.invoke({ operation: "get", metadata: { key } });
    expect(data).toBeInstanceOf(Uint8Array);
    expect(JSON.parse(text(data))).toEqual({ id: 7, items: ["a"] });
    expect(metadata).toEqual({ key });
  });

  it("stores a string as text", async () => {
    const b = await r2();
    const key = freshName("hello");
    await b.invoke({ operation: "create", data: "Hello World", metadata: { key } });
    expect(text((await b.invoke({ operation: "get", metadata: { key } })).data)).toBe("Hello World");
  });

  it("stores bytes as they are", async () => {
    const b = await r2();
    const key = freshName("blob");
    const bytes = new Uint8Array([0, 1, 2, 127, 128, 254, 255]);
    await b.invoke({ operation: "create", data: bytes, metadata: { key } });
    expect([...((await b.invoke({ operation: "get", metadata: { key } })).data as Uint8Array)]).toEqual([...bytes]);
  });

  it("accepts fileName as an alias of key, as the other object-store bindings do", async () => {
    const b = await r2();
    const fileName = `${freshName("dir")}/r1.json`;
    await b.invoke({ operation: "create", data: "x", metadata: { fileName } });
    expect(text((await b.invoke({ operation: "get", metadata: { key: fileName } })).data)).toBe("x");
  });

  it("lists the keys under a prefix, sorted, and at most maxResults of them", async () => {
    const b = await r2();
    const prefix = `${freshName("list")}/`;
    for (const name of ["b.txt", "a/2.txt", "a/1.txt", "c.txt"]) {
      await b.invoke({ operation: "create", data: "x", metadata: { key: prefix + name } });
    }
    const list = async (data: unknown) => (await b.invoke({ operation: "list", data })).data;
    expect(await list({ prefix })).toEqual(["a/1.txt", "a/2.txt", "b.txt", "c.txt"].map((n) => prefix + n));
    expect(await list({ prefix: `${prefix}a/` })).toEqual([`${prefix}a/1.txt`, `${prefix}a/2.txt`]);
    expect(await list({ prefix, maxResults: 3 })).toEqual(["a/1.txt", "a/2.txt", "b.txt"].map((n) => prefix + n));
    expect(await list({ prefix: `${freshName("empty")}/` })).toEqual([]);
  });

  it("lists past R2's 1,000-key page, following the cursor", async () => {
    const b = await r2();
    const prefix = `${freshName("paged")}/`;
    const keys = Array.from({ length: 1005 }, (_, i) => `${prefix}${String(i).padStart(4, "0")}`);
    for (let i = 0; i < keys.length; i += 100) {
      await Promise.all(keys.slice(i, i + 100).map((key) => b.invoke({ operation: "create", data: "", metadata: { key } })));
    }
    expect(await b.invoke({ operation: "list", data: { prefix } })).toEqual({ data: keys, metadata: {} });
    expect((await b.invoke({ operation: "list", data: { prefix, maxResults: 1002 } })).data).toEqual(keys.slice(0, 1002));
  });

  it("deletes an object", async () => {
    const b = await r2();
    const prefix = `${freshName("gone")}/`;
    await b.invoke({ operation: "create", data: "x", metadata: { key: `${prefix}k` } });
    expect(await b.invoke({ operation: "delete", metadata: { key: `${prefix}k` } })).toEqual({ data: undefined, metadata: { key: `${prefix}k` } });
    expect((await b.invoke({ operation: "list", data: { prefix } })).data).toEqual([]);
  });

  it("deletes a missing key without error, as R2 does", async () => {
    const key = freshName("never");
    expect(await (await r2()).invoke({ operation: "delete", metadata: { key } })).toEqual({ data: undefined, metadata: { key } });
  });

  it("fails to get a missing key with ERR_INVOKE_OUTPUT_BINDING, naming the key", async () => {
    const key = freshName("missing");
    const error = await failure((await r2()).invoke({ operation: "get", metadata: { key } }));
    expect(error).toBeInstanceOf(MechaError);
    expect(error).toMatchObject({ code: ErrorCodes.bindingInvoke, component: "receipts" });
    expect(error.message).toContain(`"${key}" not found`);
  });

  it("requires the object key for create, get and delete", async () => {
    const b = await r2();
    for (const operation of ["create", "get", "delete"]) {
      const error = await failure(b.invoke({ operation, data: "x" }));
      expect(error).toBeInstanceOf(InvalidRequestError);
      expect(error.code).toBe(ErrorCodes.invalidRequest);
    }
  });

  it("rejects malformed list options", async () => {
    const error = await failure((await r2()).invoke({ operation: "list", data: { maxResults: -1 } }));
    expect(error.code).toBe(ErrorCodes.invalidRequest);
  });

  it("fails the first call with a ComponentConfigError naming a binding missing from env", async () => {
    const b = await r2({ binding: "NO_SUCH_R2" });
    const error = await failure(b.invoke({ operation: "get", metadata: { key: "k" } }));
    expect(error).toBeInstanceOf(ComponentConfigError);
    expect(error).toMatchObject({ code: ErrorCodes.componentConfig, field: "binding" });
    expect(error.message).toContain('"NO_SUCH_R2"');
    expect(error.message).toContain("[[r2_buckets]]");
  });

  it("rejects an unknown operation with ERR_BINDING_OPERATION, naming it", async () => {
    const error = await failure((await r2()).invoke({ operation: "rename", metadata: { key: "k" } }));
    expect(error).toBeInstanceOf(InvalidRequestError);
    expect(error.code).toBe(ErrorCodes.bindingOperation);
    expect(error.message).toContain('"rename"');
  });
});
