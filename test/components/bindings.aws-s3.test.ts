import { inspect } from "node:util";
import { GetObjectCommand } from "@aws-sdk/client-s3";
import { afterAll, describe, expect, it } from "vitest";
import type { OutputBindingComponent } from "../../src/blocks/bindings.ts";
import { create } from "../../src/components/bindings/aws-s3.ts";
import { ComponentMetadata } from "../../src/config/metadata.ts";
import { ComponentConfigError, ErrorCodes, InvalidRequestError, MechaError } from "../../src/errors.ts";
import { startS3rver, type S3rver } from "../support/s3rver.ts";
import { freshName } from "../support/wait.ts";

const type = "bindings.aws.s3";

/**
 * s3rver is an npm package, so it should always start. Where it cannot, the file skips with the
 * reason, except on CI, where a backend that does not start fails the run.
 */
async function startOrSkip(): Promise<S3rver | undefined> {
  try {
    return await startS3rver();
  } catch (error) {
    if (process.env["CI"]) throw error;
    console.warn(`skipping the ${type} tests: s3rver could not start: ${(error as Error).message}`);
    return undefined;
  }
}

const s3rver = await startOrSkip();
const opened: OutputBindingComponent[] = [];
afterAll(async () => {
  await Promise.all(opened.splice(0).map((binding) => binding.close()));
  await s3rver?.stop();
});

const open = (metadata: Record<string, string>): OutputBindingComponent => {
  const binding = create({ name: "receipts", appId: "app", baseDir: "/", metadata: new ComponentMetadata(metadata, "receipts") });
  opened.push(binding);
  return binding;
};

/** The error a call failed with; fails the test if the call succeeded. */
const failure = (call: Promise<unknown>): Promise<Error & { code?: string; field?: string; component?: string }> =>
  call.then(
    () => Promise.reject(new Error("expected the call to fail, but it succeeded")),
    (error: unknown) => error as Error,
  );

const text = (data: unknown): string => new TextDecoder().decode(data as Uint8Array);

if (!s3rver) {
  describe.skip(`${type} on s3rver (s3rver could not start)`, () => {
    it("runs the object-store cases against s3rver", () => {});
  });
} else {
  const server = s3rver;
  const s3 = (extra: Record<string, string> = {}) => open(server.metadata(extra));

  describe(`${type} on s3rver`, () => {
    it("lists the object-store operations", () => {
      expect(s3().operations).toEqual(["create", "get", "list", "delete"]);
    });

    it("stores an object as JSON and gets it back as bytes", async () => {
      const b = s3();
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
      const b = s3();
      const key = freshName("hello");
      await b.invoke({ operation: "create", data: "Hello World", metadata: { key } });
      expect(text((await b.invoke({ operation: "get", metadata: { key } })).data)).toBe("Hello World");
    });

    it("stores bytes as they are", async () => {
      const b = s3();
      const key = freshName("blob");
      const bytes = new Uint8Array([0, 1, 2, 127, 128, 254, 255]);
      await b.invoke({ operation: "create", data: bytes, metadata: { key } });
      expect([...((await b.invoke({ operation: "get", metadata: { key } })).data as Uint8Array)]).toEqual([...bytes]);
    });

    it("accepts fileName as an alias of key, as the other object-store bindings do", async () => {
      const b = s3();
      const fileName = `${freshName("dir")}/r1.json`;
      await b.invoke({ operation: "create", data: "x", metadata: { fileName } });
      expect(text((await b.invoke({ operation: "get", metadata: { key: fileName } })).data)).toBe("x");
    });

    it("writes the object under its key in the configured bucket", async () => {
      const key = freshName("direct");
      await s3().invoke({ operation: "create", data: "seen by S3", metadata: { key } });
      const object = await server.client.send(new GetObjectCommand({ Bucket: server.bucket, Key: key }));
      expect(await object.Body?.transformToString()).toBe("seen by S3");
    });

    it("lists the keys under a prefix, sorted, and at most maxResults of them", async () => {
      const b = s3();
      const prefix = `${freshName("list")}/`;
      for (const name of ["b.txt", "a/2.txt", "a/1.txt", "c.txt"]) {
        await b.invoke({ operation: "create", data: "x", metadata: { key: prefix + name } });
      }
      const list = async (data: unknown) => (await b.invoke({ operation: "list", data })).data;
      expect(await list({ prefix })).toEqual(["a/1.txt", "a/2.txt", "b.txt", "c.txt"].map((n) => prefix + n));
      expect(await list({ prefix: `${prefix}a/` })).toEqual([`${prefix}a/1.txt`, `${prefix}a/2.txt`]);
      expect(await list({ prefix, maxResults: 3 })).toEqual(["a/1.txt", "a/2.txt", "b.txt"].map((n) => prefix + n));
      expect(await list({ prefix, maxResults: 0 })).toEqual([]);
      expect(await list({ prefix: `${freshName("empty")}/` })).toEqual([]);
    });

    it("lists past S3's 1,000-key page, following the continuation token", async () => {
      const b = s3();
      const prefix = `${freshName("paged")}/`;
      const keys = Array.from({ length: 1005 }, (_, i) => `${prefix}${String(i).padStart(4, "0")}`);
      for (let i = 0; i < keys.length; i += 100) {
        await Promise.all(keys.slice(i, i + 100).map((key) => b.invoke({ operation: "create", data: "", metadata: { key } })));
      }
      expect(await b.invoke({ operation: "list", data: { prefix } })).toEqual({ data: keys, metadata: {} });
      expect((await b.invoke({ operation: "list", data: { prefix, maxResults: 1002 } })).data).toEqual(keys.slice(0, 1002));
    });

    it("deletes an object", async () => {
      const b = s3();
      const prefix = `${freshName("gone")}/`;
      await b.invoke({ operation: "create", data: "x", metadata: { key: `${prefix}k` } });
      expect(await b.invoke({ operation: "delete", metadata: { key: `${prefix}k` } })).toEqual({ data: undefined, metadata: { key: `${prefix}k` } });
      expect((await b.invoke({ operation: "list", data: { prefix } })).data).toEqual([]);
    });

    it("deletes a missing key without error, as S3 does", async () => {
      const key = freshName("never");
      expect(await s3().invoke({ operation: "delete", metadata: { key } })).toEqual({ data: undefined, metadata: { key } });
    });

    it("fails to get a missing key with ERR_INVOKE_OUTPUT_BINDING, naming the key", async () => {
      const key = freshName("missing");
      const error = await failure(s3().invoke({ operation: "get", metadata: { key } }));
      expect(error).toBeInstanceOf(MechaError);
      expect(error).toMatchObject({ code: ErrorCodes.bindingInvoke, component: "receipts" });
      expect(error.message).toContain(`"${key}" not found`);
    });

    it("requires the object key for create, get and delete", async () => {
      const b = s3();
      for (const operation of ["create", "get", "delete"]) {
        const error = await failure(b.invoke({ operation, data: "x" }));
        expect(error).toBeInstanceOf(InvalidRequestError);
        expect(error.code).toBe(ErrorCodes.invalidRequest);
      }
    });

    it("rejects malformed list options", async () => {
      const error = await failure(s3().invoke({ operation: "list", data: { maxResults: -1 } }));
      expect(error.code).toBe(ErrorCodes.invalidRequest);
    });

    it("fails every operation with a ComponentConfigError naming a bucket that does not exist", async () => {
      const bucket = freshName("mecha-no-such-bucket");
      const b = s3({ bucket });
      for (const request of [
        { operation: "create", data: "x", metadata: { key: "k" } },
        { operation: "get", metadata: { key: "k" } },
        { operation: "list" },
        { operation: "delete", metadata: { key: "k" } },
      ]) {
        const error = await failure(b.invoke(request));
        expect(error).toBeInstanceOf(ComponentConfigError);
        expect(error).toMatchObject({ code: ErrorCodes.componentConfig, component: "receipts", field: "bucket" });
        expect(error.message).toContain(`S3 bucket "${bucket}" does not exist`);
      }
    });

    it("keeps the credentials out of a failed call's error, message and cause alike", async () => {
      const accessKey = "AKIAMECHATESTONLY0001";
      const secretKey = "mecha-test-secret-do-not-print";
      const error = await failure(s3({ accessKey, secretKey }).invoke({ operation: "get", metadata: { key: "k" } }));
      expect(error).toMatchObject({ code: ErrorCodes.bindingInvoke, component: "receipts" });
      expect(error.message).toContain("InvalidAccessKeyId");
      const everything = `${error.message} ${inspect(error, { depth: 10 })} ${JSON.stringify(error)}`;
      expect(everything).not.toContain(accessKey);
      expect(everything).not.toContain(secretKey);
    });

    it("stores decoded bytes with decodeBase64 and returns base64 text with encodeBase64, as Dapr does", async () => {
      const b = s3({ decodeBase64: "true", encodeBase64: "true" });
      const key = freshName("b64");
      await b.invoke({ operation: "create", data: "AAH/gA==", metadata: { key } });
      expect([...((await s3().invoke({ operation: "get", metadata: { key } })).data as Uint8Array)]).toEqual([0, 1, 255, 128]);
      expect((await b.invoke({ operation: "get", metadata: { key } })).data).toBe("AAH/gA==");
    });

    it("rejects data that is not base64 text when decodeBase64 is set", async () => {
      const b = s3({ decodeBase64: "true" });
      for (const data of ["not base64!", { a: 1 }]) {
        const error = await failure(b.invoke({ operation: "create", data, metadata: { key: freshName("bad") } }));
        expect(error).toBeInstanceOf(InvalidRequestError);
        expect(error.message).toContain("decodeBase64");
      }
    });

    it("rejects an unknown operation with ERR_BINDING_OPERATION, naming it", async () => {
      const error = await failure(s3().invoke({ operation: "rename", metadata: { key: "k" } }));
      expect(error).toBeInstanceOf(InvalidRequestError);
      expect(error.code).toBe(ErrorCodes.bindingOperation);
      expect(error.message).toContain('"rename"');
    });
  });
}

describe(`${type} metadata`, () => {
  const configError = (metadata: Record<string, string>) => {
    try {
      create({ name: "receipts", appId: "app", baseDir: "/", metadata: new ComponentMetadata(metadata, "receipts") });
    } catch (error) {
      return error as { code?: string; field?: string; message: string };
    }
    throw new Error("expected create to fail");
  };

  it("requires bucket", () => {
    expect(configError({})).toMatchObject({ code: ErrorCodes.componentConfig, field: "bucket" });
  });

  it("requires accessKey and secretKey together, and sessionToken only with them", () => {
    expect(configError({ bucket: "b", accessKey: "AKIA" })).toMatchObject({ field: "secretKey" });
    expect(configError({ bucket: "b", secretKey: "s" })).toMatchObject({ field: "accessKey" });
    expect(configError({ bucket: "b", sessionToken: "t" })).toMatchObject({ field: "sessionToken" });
  });

  it("refuses insecureSSL with a config error that says what to do instead", () => {
    const error = configError({ bucket: "b", insecureSSL: "true" });
    expect(error).toMatchObject({ code: ErrorCodes.componentConfig, field: "insecureSSL" });
    expect(error.message).toContain("NODE_EXTRA_CA_CERTS");
  });

  it("rejects flags that are not true or false", () => {
    for (const field of ["forcePathStyle", "decodeBase64", "encodeBase64", "disableSSL"]) {
      expect(configError({ bucket: "b", [field]: "maybe" })).toMatchObject({ code: ErrorCodes.componentConfig, field });
    }
  });

  it("rejects an endpoint that is not a URL or a host", () => {
    expect(configError({ bucket: "b", endpoint: "http://exa mple" })).toMatchObject({ field: "endpoint" });
  });

  it("accepts a bare host as endpoint, as Dapr's examples give it", () => {
    expect(() => create({ name: "receipts", appId: "app", baseDir: "/", metadata: new ComponentMetadata({ bucket: "b", endpoint: "s3.eu-west-1.amazonaws.com" }, "receipts") })).not.toThrow();
  });

  it("connects on first use: create and close touch no network", async () => {
    const binding = create({ name: "receipts", appId: "app", baseDir: "/", metadata: new ComponentMetadata({ bucket: "b", endpoint: "http://127.0.0.1:9" }, "receipts") });
    expect(binding.type).toBe(type);
    await expect(binding.close()).resolves.toBeUndefined();
  });
});
