import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { CreateSecretCommand, SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import { afterAll, afterEach, describe, expect, it } from "vitest";
import type { SecretStoreComponent } from "../../src/blocks/secrets.ts";
import { componentCatalog } from "../../src/components/catalog.ts";
import { create } from "../../src/components/secretstores/aws-secretmanager.ts";
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

const type = "secretstores.aws.secretmanager";

// The stand-in runs in this process (no Docker, no download), so nothing can keep it from starting:
// there is no skip branch, and a failure to start fails the file.
const emulator = await startAwsSecretsEmulator({ maxPageSize: 3 });
const admin = new SecretsManagerClient(emulator.clientConfig);
const opened: SecretStoreComponent[] = [];
afterAll(async () => {
  await Promise.all(opened.splice(0).map((store) => store.close()));
  admin.destroy();
  await emulator.stop();
});

const secretManager = (metadata: Record<string, string>, logger?: Logger): SecretStoreComponent =>
  create({ name: "aws-secrets", appId: "app", baseDir: "/", metadata: new ComponentMetadata(metadata, "aws-secrets"), logger });

const open = (extra: Record<string, string> = {}, logger?: Logger): SecretStoreComponent => {
  const store = secretManager(emulator.metadata(extra), logger);
  opened.push(store);
  return store;
};

const createSecret = async (name: string, value: { text: string } | { bytes: Uint8Array }): Promise<string> => {
  const input = "text" in value ? { Name: name, SecretString: value.text } : { Name: name, SecretBinary: value.bytes };
  return (await admin.send(new CreateSecretCommand(input))).ARN!;
};

/** A logger that keeps what is warned. */
const recordingLogger = (): Logger & { warnings: Array<{ message: string; fields?: object }> } => {
  const warnings: Array<{ message: string; fields?: object }> = [];
  const logger = {
    warnings,
    debug() {},
    info() {},
    warn: (message: string, fields?: object) => void warnings.push({ message, fields }),
    error() {},
    child: () => logger,
  };
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

describeSecretStoreConformance(type, async () => ({
  store: secretManager(emulator.metadata()),
  seed: async (key, value) => void (await createSecret(key, { text: value })),
}));

describe(`${type} on the Secrets Manager stand-in`, () => {
  const undo: Array<() => void> = [];
  afterEach(() => undo.splice(0).forEach((restore) => restore()));

  it("answers a secret asked for by ARN under its name, as Dapr does", async () => {
    const name = freshName("by-arn");
    const arn = await createSecret(name, { text: "from the ARN" });
    expect(await open().get(arn)).toEqual({ [name]: "from the ARN" });
  });

  it("keeps a JSON secret as one string unless multipleKeyValuesPerSecret is set", async () => {
    const name = freshName("json");
    await createSecret(name, { text: '{"user":"app","password":"p@ss"}' });
    expect(await open().get(name)).toEqual({ [name]: '{"user":"app","password":"p@ss"}' });
  });

  it("with multipleKeyValuesPerSecret, answers the keys of a JSON object of strings", async () => {
    const name = freshName("multi");
    await createSecret(name, { text: '{"user":"app","password":"p@ss"}' });
    const store = open({ multipleKeyValuesPerSecret: "true" });
    expect(await store.get(name)).toEqual({ user: "app", password: "p@ss" });
    expect((await store.bulkGet())[name]).toEqual({ user: "app", password: "p@ss" });
  });

  it.each([
    ["plain text", "not json"],
    ["a JSON object with a number", '{"port":5432}'],
    ["a JSON array", '["a","b"]'],
  ])("with multipleKeyValuesPerSecret, keeps %s as { name: text }, as Dapr does", async (_kind, text) => {
    const name = freshName("single");
    await createSecret(name, { text });
    expect(await open({ multipleKeyValuesPerSecret: "true" }).get(name)).toEqual({ [name]: text });
  });

  it("answers undefined for a secret that has no value yet", async () => {
    const name = freshName("no-value");
    await admin.send(new CreateSecretCommand({ Name: name }));
    expect(await open().get(name)).toBeUndefined();
    expect(Object.keys(await open().bulkGet())).not.toContain(name);
  });

  it("bulkGet pages through ListSecrets and reads values with BatchGetSecretValue", async () => {
    const names = await Promise.all(Array.from({ length: 4 }, async (_, i) => {
      const name = freshName(`batch-${i}`);
      await createSecret(name, { text: `v${i}` });
      return name;
    }));
    const before = emulator.calls.length;
    const all = await open().bulkGet();
    for (const [i, name] of names.entries()) expect(all[name]).toEqual({ [name]: `v${i}` });
    const calls = emulator.calls.slice(before);
    expect(calls.filter((c) => c === "secretsmanager.ListSecrets").length).toBeGreaterThan(1);
    expect(calls).toContain("secretsmanager.BatchGetSecretValue");
    expect(calls).not.toContain("secretsmanager.GetSecretValue");
  });

  it("bulkGet falls back to GetSecretValue when BatchGetSecretValue is not allowed, and says so once", async () => {
    const name = freshName("fallback");
    await createSecret(name, { text: "one by one" });
    undo.push(emulator.deny("secretsmanager.BatchGetSecretValue"));
    const logger = recordingLogger();
    const store = open({}, logger);

    expect((await store.bulkGet())[name]).toEqual({ [name]: "one by one" });
    const before = emulator.calls.length;
    expect((await store.bulkGet())[name]).toEqual({ [name]: "one by one" });
    expect(emulator.calls.slice(before)).not.toContain("secretsmanager.BatchGetSecretValue");
    expect(logger.warnings).toHaveLength(1);
    expect(logger.warnings[0]!.message).toContain("BatchGetSecretValue");
  });

  it("refuses to read a binary secret with an error that says why, and leaves it out of bulkGet with a warning", async () => {
    const name = freshName("binary");
    await createSecret(name, { bytes: new Uint8Array([0, 1, 2, 255]) });
    const logger = recordingLogger();
    const store = open({}, logger);

    const error = await rejectionOf(store.get(name));
    expect(error).toBeInstanceOf(MechaError);
    expect(error.code).toBe(ErrorCodes.secretGet);
    expect(error.message).toContain(`secret "${name}" holds binary data (SecretBinary)`);

    expect(Object.keys(await store.bulkGet())).not.toContain(name);
    expect(logger.warnings).toEqual([expect.objectContaining({ fields: { secrets: [name] } })]);
  });

  it("reads with temporary credentials (accessKey, secretKey and sessionToken)", async () => {
    const name = freshName("session");
    await createSecret(name, { text: "with a session token" });
    const { accessKeyId, secretAccessKey, sessionToken } = emulator.sessionCredentials;
    const store = open({ accessKey: accessKeyId, secretKey: secretAccessKey, sessionToken });
    expect(await store.get(name)).toEqual({ [name]: "with a session token" });
  });

  it("fails an unreachable endpoint with ERR_SECRET_GET naming the store, the endpoint and the network error, never the keys", async () => {
    const endpoint = `http://127.0.0.1:${await closedPort()}`;
    const secretKey = "RECOGNIZABLE-secret-key-material-0001";
    const store = open({ endpoint, accessKey: "AKIARECOGNIZABLE0001", secretKey, sessionToken: "RECOGNIZABLE-session-token" });

    const error = await rejectionOf(store.get("db-password"));
    expect(error).toBeInstanceOf(MechaError);
    expect(error.code).toBe(ErrorCodes.secretGet);
    expect(error.component).toBe("aws-secrets");
    expect(error.message).toContain(`secret store "aws-secrets" (${type})`);
    expect(error.message).toContain(`get secret "db-password" at ${endpoint} failed`);
    expect(error.message).toContain("ECONNREFUSED");
    for (const text of [error.message, String((error.cause as Error).message)]) {
      expect(text).not.toContain(secretKey);
      expect(text).not.toContain("RECOGNIZABLE-session-token");
    }
    await expect(store.bulkGet()).rejects.toThrow(/list secrets .* failed: .*ECONNREFUSED/);
  });

  it("fails a wrong secret key with the AWS error name, and the key material appears nowhere", async () => {
    const secretKey = "RECOGNIZABLE-wrong-secret-key-0002";
    const error = await rejectionOf(open({ secretKey }).get("anything"));
    expect(error.code).toBe(ErrorCodes.secretGet);
    expect(error.message).toContain("InvalidSignatureException");
    expect(error.message).not.toContain(secretKey);
    expect((error.cause as Error).name).toBe("InvalidSignatureException");
    expect(JSON.stringify(error, Object.getOwnPropertyNames(error))).not.toContain(secretKey);
  });

  it("fails an unknown access key with UnrecognizedClientException", async () => {
    const error = await rejectionOf(open({ accessKey: "AKIAUNKNOWN", secretKey: "whatever-0003" }).bulkGet());
    expect(error.code).toBe(ErrorCodes.secretGet);
    expect(error.message).toMatch(/list secrets at http:\/\/127\.0\.0\.1:\d+ failed: UnrecognizedClientException \(HTTP 400\)/);
    expect(error.message).not.toContain("whatever-0003");
  });

  it("fails a denied GetSecretValue with AccessDeniedException, naming the secret", async () => {
    undo.push(emulator.deny("secretsmanager.GetSecretValue"));
    const error = await rejectionOf(open().get("guarded"));
    expect(error.code).toBe(ErrorCodes.secretGet);
    expect(error.message).toContain(`get secret "guarded"`);
    expect(error.message).toContain("AccessDeniedException");
  });
});

describe(`${type} configuration`, () => {
  it("does no I/O when created", () => {
    // Nothing listens on port 9; a store that connected here would fail.
    expect(() => secretManager({ endpoint: "http://127.0.0.1:9" })).not.toThrow();
  });

  it.each([...badAwsClientMetadata, [{ multipleKeyValuesPerSecret: "maybe" }, "multipleKeyValuesPerSecret"] as [Record<string, string>, string]])("rejects bad metadata %j with a ComponentConfigError naming the field", (metadata, field) => {
    const error = configErrorFrom(() => secretManager(metadata));
    expect((error as ComponentConfigError).field).toBe(field);
    expect((error as ComponentConfigError).message).toContain(`field "${field}"`);
  });

  it("loads through the component catalog from a resources file and reads a secret", async () => {
    const name = freshName("from-yaml");
    await createSecret(name, { text: "read through the runtime" });
    const { components } = parseResourcesText(componentYaml("aws-secrets", type, emulator.metadata()), "components/aws-secrets.yaml");
    expect(componentCatalog[type]?.block).toBe("secretstores");
    const runtime = new Runtime({ appId: "app", components, catalog: componentCatalog, baseDir: "/" });
    try {
      await runtime.validate();
      expect(await runtime.secret("aws-secrets", name)).toEqual({ [name]: "read through the runtime" });
    } finally {
      await runtime.close();
    }
  });
});
