import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { GetParameterCommand, PutParameterCommand, SSMClient, type ParameterType } from "@aws-sdk/client-ssm";
import { afterAll, afterEach, describe, expect, it } from "vitest";
import type { SecretStoreComponent } from "../../src/blocks/secrets.ts";
import { componentCatalog } from "../../src/components/catalog.ts";
import { create } from "../../src/components/secretstores/aws-parameterstore.ts";
import { parseResourcesText } from "../../src/config/load.ts";
import { ComponentMetadata } from "../../src/config/metadata.ts";
import type { Logger } from "../../src/core/logger.ts";
import { Runtime } from "../../src/core/runtime.ts";
import { ComponentConfigError, ErrorCodes, MechaError } from "../../src/errors.ts";
import { startAwsSecretsEmulator } from "../support/aws-secrets-emulator.ts";
import { freshName } from "../support/wait.ts";
import { describeSecretStoreConformance } from "./secretstore-suite.ts";
import { badAwsClientMetadata, configErrorFrom } from "../support/config-error.ts";
import { rejectionOf } from "../support/rejection.ts";
import { componentYaml } from "../support/app-fixture.ts";

const type = "secretstores.aws.parameterstore";

// The stand-in runs in this process (no Docker, no download), so nothing can keep it from starting:
// there is no skip branch, and a failure to start fails the file.
const emulator = await startAwsSecretsEmulator({ maxPageSize: 3 });
const admin = new SSMClient(emulator.clientConfig);
const opened: SecretStoreComponent[] = [];
afterAll(async () => {
  await Promise.all(opened.splice(0).map((store) => store.close()));
  admin.destroy();
  await emulator.stop();
});

const parameterStore = (metadata: Record<string, string>, logger?: Logger): SecretStoreComponent =>
  create({ name: "aws-params", appId: "app", baseDir: "/", metadata: new ComponentMetadata(metadata, "aws-params"), logger });

const open = (extra: Record<string, string> = {}, logger?: Logger): SecretStoreComponent => {
  const store = parameterStore(emulator.metadata(extra), logger);
  opened.push(store);
  return store;
};

const putParameter = (name: string, value: string, type: ParameterType = "SecureString") =>
  admin.send(new PutParameterCommand({ Name: name, Value: value, Type: type }));

/** A fresh hierarchy, `/mecha-test-…/`, so a case's parameters are its own. */
const freshPath = (label: string) => `/${freshName(label)}/`;

/** A logger that keeps what is warned. */
const recordingLogger = (): Logger & { warnings: string[] } => {
  const warnings: string[] = [];
  const logger = { warnings, debug() {}, info() {}, warn: (message: string) => void warnings.push(message), error() {}, child: () => logger };
  return logger;
};

/** A port nothing listens on: taken from the OS, then given back. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

describeSecretStoreConformance(type, async () => {
  // Every parameter the suite seeds lives under this run's own path, which is the store's prefix.
  const prefix = freshPath("conformance");
  return { store: parameterStore(emulator.metadata({ prefix })), seed: async (key, value) => void (await putParameter(prefix + key, value)) };
});

describe(`${type} on the Parameter Store stand-in`, () => {
  const undo: Array<() => void> = [];
  afterEach(() => undo.splice(0).forEach((restore) => restore()));

  it("decrypts a SecureString, and reads String and StringList parameters as their text", async () => {
    const prefix = freshPath("types");
    await putParameter(`${prefix}secure`, "s3cret");
    await putParameter(`${prefix}plain`, "plain text", "String");
    await putParameter(`${prefix}list`, "a,b,c", "StringList");
    const store = open({ prefix });
    expect(await store.get("secure")).toEqual({ secure: "s3cret" });
    expect(await store.get("plain")).toEqual({ plain: "plain text" });
    expect(await store.get("list")).toEqual({ list: "a,b,c" });
    expect(await store.bulkGet()).toEqual({ secure: { secure: "s3cret" }, plain: { plain: "plain text" }, list: { list: "a,b,c" } });
  });

  it("without a prefix, reads a parameter by its full name", async () => {
    const name = `${freshPath("full")}db-url`;
    await putParameter(name, "postgres://db");
    expect(await open().get(name)).toEqual({ [name]: "postgres://db" });
  });

  it("with a prefix, reads prefix + key and answers under the key", async () => {
    const prefix = freshPath("app");
    await putParameter(`${prefix}db-url`, "postgres://db");
    const store = open({ prefix });
    expect(await store.get("db-url")).toEqual({ "db-url": "postgres://db" });
    // The prefix is a string, not a path: the key is not looked up without it.
    expect(await store.get(`${prefix}db-url`)).toBeUndefined();
  });

  it("takes a plain (non-path) prefix as Dapr does: names that begin with it", async () => {
    const prefix = `${freshName("plain").replaceAll("-", "_")}_`;
    await putParameter(`${prefix}TOKEN`, "t0ken");
    await putParameter(`${prefix}OTHER`, "0ther");
    await putParameter(`${prefix.slice(0, -1)}x_NOT_MINE`, "hidden");
    const store = open({ prefix });
    expect(await store.get("TOKEN")).toEqual({ TOKEN: "t0ken" });
    expect(await store.bulkGet()).toEqual({ TOKEN: { TOKEN: "t0ken" }, OTHER: { OTHER: "0ther" } });
  });

  it("bulkGet with a prefix lists only its parameters, prefix removed, across short and empty DescribeParameters pages", async () => {
    const prefix = freshPath("paged");
    const others = freshPath("paged-others");
    // Interleaved by name with parameters outside the prefix, so that some filtered pages come back empty.
    for (let i = 0; i < 5; i += 1) {
      await putParameter(`${prefix}k${i}`, `v${i}`);
      for (let j = 0; j < 3; j += 1) await putParameter(`${others}k${i}-${j}`, "not mine");
    }
    const before = emulator.calls.length;
    const all = await open({ prefix }).bulkGet();
    expect(all).toEqual(Object.fromEntries(Array.from({ length: 5 }, (_, i) => [`k${i}`, { [`k${i}`]: `v${i}` }])));
    const calls = emulator.calls.slice(before);
    expect(calls.filter((c) => c === "AmazonSSM.DescribeParameters").length).toBeGreaterThan(2);
    expect(calls).toContain("AmazonSSM.GetParameters");
    expect(calls).not.toContain("AmazonSSM.GetParameter");
  });

  it("bulkGet without a prefix lists every parameter under its full name", async () => {
    const name = `${freshPath("everything")}key`;
    await putParameter(name, "listed");
    expect((await open().bulkGet())[name]).toEqual({ [name]: "listed" });
  });

  it("bulkGet falls back to GetParameter when GetParameters is not allowed, and says so once", async () => {
    const prefix = freshPath("fallback");
    for (let i = 0; i < 4; i += 1) await putParameter(`${prefix}k${i}`, `v${i}`);
    undo.push(emulator.deny("AmazonSSM.GetParameters"));
    const logger = recordingLogger();
    const store = open({ prefix }, logger);

    const expected = Object.fromEntries(Array.from({ length: 4 }, (_, i) => [`k${i}`, { [`k${i}`]: `v${i}` }]));
    expect(await store.bulkGet()).toEqual(expected);
    const before = emulator.calls.length;
    expect(await store.bulkGet()).toEqual(expected);
    expect(emulator.calls.slice(before)).not.toContain("AmazonSSM.GetParameters");
    expect(logger.warnings).toEqual([expect.stringContaining("GetParameters")]);
  });

  it("asks for decryption: a SecureString read without it would be ciphertext", async () => {
    const name = `${freshPath("cipher")}key`;
    await putParameter(name, "plain secret");
    const raw = await admin.send(new GetParameterCommand({ Name: name }));
    expect(raw.Parameter?.Value).not.toBe("plain secret");
    expect(await open().get(name)).toEqual({ [name]: "plain secret" });
  });

  it("reads with temporary credentials (accessKey, secretKey and sessionToken)", async () => {
    const name = `${freshPath("session")}key`;
    await putParameter(name, "with a session token");
    const { accessKeyId, secretAccessKey, sessionToken } = emulator.sessionCredentials;
    expect(await open({ accessKey: accessKeyId, secretKey: secretAccessKey, sessionToken }).get(name)).toEqual({ [name]: "with a session token" });
  });

  it("fails an unreachable endpoint with ERR_SECRET_GET naming the store, the endpoint and the network error, never the keys", async () => {
    const endpoint = `http://127.0.0.1:${await closedPort()}`;
    const secretKey = "RECOGNIZABLE-secret-key-material-1001";
    const store = open({ endpoint, prefix: "/app/", accessKey: "AKIARECOGNIZABLE1001", secretKey });

    const error = await rejectionOf(store.get("db-url"));
    expect(error).toBeInstanceOf(MechaError);
    expect(error.code).toBe(ErrorCodes.secretGet);
    expect(error.component).toBe("aws-params");
    expect(error.message).toContain(`secret store "aws-params" (${type})`);
    expect(error.message).toContain(`get parameter "/app/db-url" at ${endpoint} failed`);
    expect(error.message).toContain("ECONNREFUSED");
    expect(error.message).not.toContain(secretKey);
    expect((error.cause as Error).message).not.toContain(secretKey);
    await expect(store.bulkGet()).rejects.toThrow(/list parameters beginning with "\/app\/" at .* failed: .*ECONNREFUSED/);
  });

  it("fails a wrong secret key with the AWS error name, and the key material appears nowhere", async () => {
    const secretKey = "RECOGNIZABLE-wrong-secret-key-1002";
    const error = await rejectionOf(open({ secretKey }).bulkGet());
    expect(error.code).toBe(ErrorCodes.secretGet);
    expect(error.message).toContain("InvalidSignatureException");
    expect(JSON.stringify(error, Object.getOwnPropertyNames(error))).not.toContain(secretKey);
    expect((error.cause as Error).message).not.toContain(secretKey);
  });

  it("fails a denied GetParameter with AccessDeniedException, naming the parameter", async () => {
    undo.push(emulator.deny("AmazonSSM.GetParameter"));
    const error = await rejectionOf(open({ prefix: "/guarded/" }).get("key"));
    expect(error.code).toBe(ErrorCodes.secretGet);
    expect(error.message).toContain(`get parameter "/guarded/key"`);
    expect(error.message).toContain("AccessDeniedException");
  });
});

describe(`${type} configuration`, () => {
  it("does no I/O when created", () => {
    // Nothing listens on port 9; a store that connected here would fail.
    expect(() => parameterStore({ endpoint: "http://127.0.0.1:9" })).not.toThrow();
  });

  it.each(badAwsClientMetadata)("rejects bad metadata %j with a ComponentConfigError naming the field", (metadata, field) => {
    const error = configErrorFrom(() => parameterStore(metadata));
    expect((error as ComponentConfigError).field).toBe(field);
    expect((error as ComponentConfigError).message).toContain(`field "${field}"`);
  });

  it("loads through the component catalog from a resources file and reads a secret", async () => {
    const prefix = freshPath("from-yaml");
    await putParameter(`${prefix}db-url`, "read through the runtime");
    const { components } = parseResourcesText(componentYaml("aws-params", type, emulator.metadata({ prefix })), "components/aws-params.yaml");
    expect(componentCatalog[type]?.block).toBe("secretstores");
    const runtime = new Runtime({ appId: "app", components, catalog: componentCatalog, baseDir: "/" });
    try {
      await runtime.validate();
      expect(await runtime.secret("aws-params", "db-url")).toEqual({ "db-url": "read through the runtime" });
    } finally {
      await runtime.close();
    }
  });
});
