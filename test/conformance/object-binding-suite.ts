/**
 * The shared suite of the object-store bindings (`bindings.cloudflare.r2`, `bindings.aws.s3`):
 * the same operations, metadata names and answers, so the same function code stores receipts in
 * any of them. Each binding's own test file runs it against the real backend and adds what is
 * its own (how a missing bucket or binding shows, credentials, encodings).
 */
import { describe, expect, it } from "vitest";
import type { OutputBindingComponent } from "../../src/blocks/bindings.ts";
import { ErrorCodes, InvalidRequestError, MechaError } from "../../src/errors.ts";
import { freshName } from "../support/wait.ts";
import { rejectionOf } from "../support/rejection.ts";

const text = (data: unknown): string => new TextDecoder().decode(data as Uint8Array);

/** @param open a binding on a real bucket; every call may return the same one */
export function describeObjectBindingConformance(name: string, open: () => Promise<OutputBindingComponent>): void {
  describe(`${name}: object-store conformance`, () => {
  it("lists the object-store operations", async () => {
    expect((await open()).operations).toEqual(["create", "get", "list", "delete"]);
  });

  it("stores an object as JSON and gets it back as bytes", async () => {
    const b = await open();
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
    const b = await open();
    const key = freshName("hello");
    await b.invoke({ operation: "create", data: "Hello World", metadata: { key } });
    expect(text((await b.invoke({ operation: "get", metadata: { key } })).data)).toBe("Hello World");
  });

  it("stores bytes as they are", async () => {
    const b = await open();
    const key = freshName("blob");
    const bytes = new Uint8Array([0, 1, 2, 127, 128, 254, 255]);
    await b.invoke({ operation: "create", data: bytes, metadata: { key } });
    expect([...((await b.invoke({ operation: "get", metadata: { key } })).data as Uint8Array)]).toEqual([...bytes]);
  });

  it("accepts fileName as an alias of key, as the other object-store bindings do", async () => {
    const b = await open();
    const fileName = `${freshName("dir")}/r1.json`;
    await b.invoke({ operation: "create", data: "x", metadata: { fileName } });
    expect(text((await b.invoke({ operation: "get", metadata: { key: fileName } })).data)).toBe("x");
  });

  it("lists the keys under a prefix, sorted, and at most maxResults of them", async () => {
    const b = await open();
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

  it("lists past a 1,000-key page, following the continuation", async () => {
    const b = await open();
    const prefix = `${freshName("paged")}/`;
    const keys = Array.from({ length: 1005 }, (_, i) => `${prefix}${String(i).padStart(4, "0")}`);
    for (let i = 0; i < keys.length; i += 100) {
      await Promise.all(keys.slice(i, i + 100).map((key) => b.invoke({ operation: "create", data: "", metadata: { key } })));
    }
    expect(await b.invoke({ operation: "list", data: { prefix } })).toEqual({ data: keys, metadata: {} });
    expect((await b.invoke({ operation: "list", data: { prefix, maxResults: 1002 } })).data).toEqual(keys.slice(0, 1002));
  });

  it("deletes an object", async () => {
    const b = await open();
    const prefix = `${freshName("gone")}/`;
    await b.invoke({ operation: "create", data: "x", metadata: { key: `${prefix}k` } });
    expect(await b.invoke({ operation: "delete", metadata: { key: `${prefix}k` } })).toEqual({ data: undefined, metadata: { key: `${prefix}k` } });
    expect((await b.invoke({ operation: "list", data: { prefix } })).data).toEqual([]);
  });

  it("deletes a missing key without error, as R2 and S3 do", async () => {
    const key = freshName("never");
    expect(await (await open()).invoke({ operation: "delete", metadata: { key } })).toEqual({ data: undefined, metadata: { key } });
  });

  it("fails to get a missing key with ERR_INVOKE_OUTPUT_BINDING, naming the key", async () => {
    const key = freshName("missing");
    const error = await rejectionOf((await open()).invoke({ operation: "get", metadata: { key } }));
    expect(error).toBeInstanceOf(MechaError);
    expect(error).toMatchObject({ code: ErrorCodes.bindingInvoke });
    expect(error.message).toContain(`"${key}" not found`);
  });

  it("requires the object key for create, get and delete", async () => {
    const b = await open();
    for (const operation of ["create", "get", "delete"]) {
      const error = await rejectionOf(b.invoke({ operation, data: "x" }));
      expect(error).toBeInstanceOf(InvalidRequestError);
      expect(error.code).toBe(ErrorCodes.invalidRequest);
    }
  });

  it("rejects malformed list options", async () => {
    const error = await rejectionOf((await open()).invoke({ operation: "list", data: { maxResults: -1 } }));
    expect(error.code).toBe(ErrorCodes.invalidRequest);
  });

  it("rejects an unknown operation with ERR_BINDING_OPERATION, naming it", async () => {
    const error = await rejectionOf((await open()).invoke({ operation: "rename", metadata: { key: "k" } }));
    expect(error).toBeInstanceOf(InvalidRequestError);
    expect(error.code).toBe(ErrorCodes.bindingOperation);
    expect(error.message).toContain('"rename"');
  });
  });
}
