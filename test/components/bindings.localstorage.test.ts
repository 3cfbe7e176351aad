import { mkdtemp, readFile, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { OutputBindingComponent } from "../../src/blocks/bindings.ts";
import * as localstorage from "../../src/components/bindings/localstorage.ts";
import { ComponentMetadata } from "../../src/config/metadata.ts";
import { ComponentConfigError, ErrorCodes, MechaError } from "../../src/errors.ts";
import { rejectionOf } from "../support/rejection.ts";

let baseDir: string;

beforeEach(async () => {
  baseDir = await mkdtemp(join(tmpdir(), "mecha-localstorage-"));
});
afterEach(async () => {
  await rm(baseDir, { recursive: true, force: true });
});

const binding = (rootPath = "files"): OutputBindingComponent =>
  localstorage.create({ name: "receipts", appId: "test-app", baseDir, metadata: new ComponentMetadata({ rootPath }, "receipts") });

const text = (data: unknown): string => new TextDecoder().decode(data as Uint8Array);

describe("bindings.localstorage", () => {
  it("lists Dapr's operations", () => {
    expect(binding().operations).toEqual(["create", "get", "list", "delete"]);
  });

  it("creates rootPath on first use, not when created", async () => {
    const b = binding("deep/er/files");
    await expect(stat(join(baseDir, "deep"))).rejects.toThrow();
    await b.invoke({ operation: "list" });
    expect((await stat(join(baseDir, "deep/er/files"))).isDirectory()).toBe(true);
  });

  it("stores an object as JSON and gets it back as bytes", async () => {
    const b = binding();
    const created = await b.invoke({ operation: "create", data: { id: 7, items: ["a"] }, metadata: { fileName: "r7.json" } });
    expect(created).toEqual({ data: { fileName: "r7.json" }, metadata: { fileName: "r7.json" } });
    const { data, metadata } = await b.invoke({ operation: "get", metadata: { fileName: "r7.json" } });
    expect(data).toBeInstanceOf(Uint8Array);
    expect(JSON.parse(text(data))).toEqual({ id: 7, items: ["a"] });
    expect(metadata).toEqual({ fileName: "r7.json" });
  });

  it("stores a string as text", async () => {
    const b = binding();
    await b.invoke({ operation: "create", data: "Hello World", metadata: { fileName: "hello.txt" } });
    expect(await readFile(join(baseDir, "files/hello.txt"), "utf8")).toBe("Hello World");
  });

  it("stores bytes as they are", async () => {
    const b = binding();
    const bytes = new Uint8Array([0, 1, 2, 254, 255]);
    await b.invoke({ operation: "create", data: bytes, metadata: { fileName: "blob.bin" } });
    const { data } = await b.invoke({ operation: "get", metadata: { fileName: "blob.bin" } });
    expect([...(data as Uint8Array)]).toEqual([...bytes]);
  });

  it("accepts key as an alias of fileName, and nested names", async () => {
    const b = binding();
    await b.invoke({ operation: "create", data: "x", metadata: { key: "2026/01/r1.json" } });
    expect(text((await b.invoke({ operation: "get", metadata: { key: "2026/01/r1.json" } })).data)).toBe("x");
  });

  it("names a file with a uuid when no name is given", async () => {
    const { data } = await binding().invoke({ operation: "create", data: "x" });
    expect((data as { fileName: string }).fileName).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
  });

  it("lists files recursively, sorted, with prefix and maxResults", async () => {
    const b = binding();
    for (const fileName of ["b.txt", "a/2.txt", "a/1.txt", "c.txt"]) await b.invoke({ operation: "create", data: "x", metadata: { fileName } });
    expect((await b.invoke({ operation: "list" })).data).toEqual(["a/1.txt", "a/2.txt", "b.txt", "c.txt"]);
    expect((await b.invoke({ operation: "list", data: { prefix: "a/" } })).data).toEqual(["a/1.txt", "a/2.txt"]);
    expect((await b.invoke({ operation: "list", data: { maxResults: 3 } })).data).toEqual(["a/1.txt", "a/2.txt", "b.txt"]);
  });

  it("deletes a file", async () => {
    const b = binding();
    await b.invoke({ operation: "create", data: "x", metadata: { fileName: "gone.txt" } });
    await b.invoke({ operation: "delete", metadata: { fileName: "gone.txt" } });
    expect((await b.invoke({ operation: "list" })).data).toEqual([]);
  });

  it("fails to get a missing file with not found", async () => {
    const error = await rejectionOf<MechaError>(binding().invoke({ operation: "get", metadata: { fileName: "missing.txt" } }));
    expect(error).toBeInstanceOf(MechaError);
    expect(error.code).toBe(ErrorCodes.bindingInvoke);
    expect(error.message).toContain('"missing.txt" not found');
  });

  it("fails to delete a missing file with not found, as Dapr does", async () => {
    await expect(binding().invoke({ operation: "delete", metadata: { fileName: "missing.txt" } })).rejects.toMatchObject({
      code: ErrorCodes.bindingInvoke,
      message: expect.stringContaining("not found"),
    });
  });

  it.each(["../escape.txt", "a/../../escape.txt", "/etc/passwd", "..\\escape.txt", "C:\\Windows\\x"])(
    "rejects the file name %s that would leave rootPath",
    async (fileName) => {
      for (const operation of ["create", "get", "delete"]) {
        await expect(binding().invoke({ operation, data: "x", metadata: { fileName } })).rejects.toMatchObject({
          code: ErrorCodes.invalidRequest,
        });
      }
      await expect(stat(join(baseDir, "escape.txt"))).rejects.toThrow();
    },
  );

  it("requires a file name for get and delete", async () => {
    await expect(binding().invoke({ operation: "get" })).rejects.toMatchObject({ code: ErrorCodes.invalidRequest });
    await expect(binding().invoke({ operation: "delete" })).rejects.toMatchObject({ code: ErrorCodes.invalidRequest });
  });

  it("rejects malformed list options", async () => {
    await expect(binding().invoke({ operation: "list", data: { maxResults: -1 } })).rejects.toMatchObject({
      code: ErrorCodes.invalidRequest,
    });
  });

  it("requires rootPath and refuses system folders", () => {
    expect(() => binding("")).toThrow(ComponentConfigError);
    expect(() => binding("/proc/self")).toThrow(/rootPath/);
  });
});
