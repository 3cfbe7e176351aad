import { inspect } from "node:util";
import { GetObjectCommand } from "@aws-sdk/client-s3";
import { afterAll, describe, expect, it } from "vitest";
import type { OutputBindingComponent } from "../../src/blocks/bindings.ts";
import { create } from "../../src/components/bindings/aws-s3.ts";
import { ComponentMetadata } from "../../src/config/metadata.ts";
import { ComponentConfigError, ErrorCodes, InvalidRequestError } from "../../src/errors.ts";
import { describeObjectBindingConformance } from "../conformance/object-binding-suite.ts";
import { rejectionOf } from "../support/rejection.ts";
import { startS3rver, type S3rver } from "../support/s3rver.ts";
import { freshName } from "../support/wait.ts";
import { configErrorFrom } from "../support/config-error.ts";

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


if (!s3rver) {
  describe.skip(`${type} on s3rver (s3rver could not start)`, () => {
    it("runs the object-store cases against s3rver", () => {});
  });
} else {
  const server = s3rver;
  const s3 = (extra: Record<string, string> = {}) => open(server.metadata(extra));

  describeObjectBindingConformance(`${type} on s3rver`, async () => s3());

  describe(`${type} on s3rver`, () => {
    it("writes the object under its key in the configured bucket", async () => {
      const key = freshName("direct");
      await s3().invoke({ operation: "create", data: "seen by S3", metadata: { key } });
      const object = await server.client.send(new GetObjectCommand({ Bucket: server.bucket, Key: key }));
      expect(await object.Body?.transformToString()).toBe("seen by S3");
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
        const error = await rejectionOf(b.invoke(request));
        expect(error).toBeInstanceOf(ComponentConfigError);
        expect(error).toMatchObject({ code: ErrorCodes.componentConfig, component: "receipts", field: "bucket" });
        expect(error.message).toContain(`S3 bucket "${bucket}" does not exist`);
      }
    });

    it("keeps the credentials out of a failed call's error, message and cause alike", async () => {
      const accessKey = "AKIAMECHATESTONLY0001";
      const secretKey = "mecha-test-secret-do-not-print";
      const error = await rejectionOf(s3({ accessKey, secretKey }).invoke({ operation: "get", metadata: { key: "k" } }));
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
        const error = await rejectionOf(b.invoke({ operation: "create", data, metadata: { key: freshName("bad") } }));
        expect(error).toBeInstanceOf(InvalidRequestError);
        expect(error.message).toContain("decodeBase64");
      }
    });

  });
}

describe(`${type} metadata`, () => {
  const configError = (metadata: Record<string, string>) => configErrorFrom(() => create({ name: "receipts", appId: "app", baseDir: "/", metadata: new ComponentMetadata(metadata, "receipts") }));

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
