import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import type { SecretStoreComponent } from "../../src/blocks/secrets.ts";
import * as localEnv from "../../src/components/secretstores/local-env.ts";
import * as localFile from "../../src/components/secretstores/local-file.ts";
import { ComponentMetadata } from "../../src/config/metadata.ts";
import { ComponentConfigError } from "../../src/errors.ts";
import { freshName } from "../support/wait.ts";
import { rejectionOf } from "../support/rejection.ts";

const appId = "test-app";

describe("secretstores.local.env", () => {
  const prefix = `${freshName("MECHA").replace(/-/g, "_").toUpperCase()}_`;
  const set: string[] = [];
  const setEnv = (name: string, value: string): void => {
    process.env[name] = value;
    set.push(name);
  };
  const store = (values: Record<string, string> = {}): SecretStoreComponent =>
    localEnv.create({ name: "env", appId, baseDir: process.cwd(), metadata: new ComponentMetadata(values, "env") });

  afterEach(() => {
    for (const name of set.splice(0)) delete process.env[name];
  });

  it("reads a variable as { key: value }", async () => {
    setEnv(`${prefix}DB_URL`, "postgres://db");
    expect(await store().get(`${prefix}DB_URL`)).toEqual({ [`${prefix}DB_URL`]: "postgres://db" });
  });

  it("returns undefined for an unset variable", async () => {
    expect(await store().get(`${prefix}MISSING`)).toBeUndefined();
  });

  it("with a prefix, looks keys up as prefix + key and names them without it", async () => {
    setEnv(`${prefix}DB_URL`, "postgres://db");
    expect(await store({ prefix }).get("DB_URL")).toEqual({ DB_URL: "postgres://db" });
  });

  it("with a prefix, bulkGet lists only prefixed variables, prefix removed", async () => {
    setEnv(`${prefix}A`, "1");
    setEnv(`${prefix}B`, "2");
    expect(await store({ prefix }).bulkGet()).toEqual({ A: { A: "1" }, B: { B: "2" } });
  });

  it("without a prefix, bulkGet lists the environment", async () => {
    setEnv(`${prefix}VISIBLE`, "yes");
    const all = await store().bulkGet();
    expect(all[`${prefix}VISIBLE`]).toEqual({ [`${prefix}VISIBLE`]: "yes" });
  });

  it("hides Dapr's own variables, as Dapr does", async () => {
    setEnv("DAPR_MECHA_TEST_TOKEN", "t");
    expect(await store().get("DAPR_MECHA_TEST_TOKEN")).toBeUndefined();
    expect(Object.keys(await store().bulkGet())).not.toContain("DAPR_MECHA_TEST_TOKEN");
  });
});

describe("secretstores.local.file", () => {
  let dir: string;
  const secrets = {
    redisPassword: "hunter2",
    db: { user: "app", password: "s3cret", ports: [5432, 5433] },
    flag: true,
    empty: null,
  };

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "mecha-secrets-"));
    await writeFile(join(dir, "secrets.json"), JSON.stringify(secrets));
    await writeFile(join(dir, "broken.json"), '{ "password": "hunter2", }');
    await writeFile(join(dir, "list.json"), '["hunter2"]');
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  const store = (values: Record<string, string>): SecretStoreComponent =>
    localFile.create({ name: "files", appId, baseDir: dir, metadata: new ComponentMetadata(values, "files") });

  it("reads a top-level secret as { key: value }", async () => {
    expect(await store({ secretsFile: "secrets.json" }).get("redisPassword")).toEqual({ redisPassword: "hunter2" });
  });

  it("flattens nested objects and arrays with the default separator", async () => {
    const s = store({ secretsFile: "secrets.json" });
    expect(await s.get("db:password")).toEqual({ "db:password": "s3cret" });
    expect(await s.get("db:ports:1")).toEqual({ "db:ports:1": "5433" });
    expect(await s.get("db")).toBeUndefined();
  });

  it("reads non-string leaves as text and null as empty", async () => {
    const s = store({ secretsFile: "secrets.json" });
    expect(await s.get("flag")).toEqual({ flag: "true" });
    expect(await s.get("empty")).toEqual({ empty: "" });
  });

  it("uses nestedSeparator", async () => {
    expect(await store({ secretsFile: "secrets.json", nestedSeparator: "." }).get("db.user")).toEqual({ "db.user": "app" });
  });

  it("bulkGet lists every flattened secret", async () => {
    const all = await store({ secretsFile: "secrets.json" }).bulkGet();
    expect(Object.keys(all).sort()).toEqual(["db:password", "db:ports:0", "db:ports:1", "db:user", "empty", "flag", "redisPassword"]);
    expect(all["db:user"]).toEqual({ "db:user": "app" });
  });

  it("multiValued: a top-level key is one secret with its flattened values", async () => {
    const s = store({ secretsFile: "secrets.json", multiValued: "true" });
    expect(await s.get("db")).toEqual({ user: "app", password: "s3cret", "ports:0": "5432", "ports:1": "5433" });
    expect(await s.get("redisPassword")).toEqual({ redisPassword: "hunter2" });
    expect(await s.get("db:user")).toBeUndefined();
    expect(Object.keys(await s.bulkGet()).sort()).toEqual(["db", "empty", "flag", "redisPassword"]);
  });

  it("returns undefined for a missing secret", async () => {
    expect(await store({ secretsFile: "secrets.json" }).get("nope")).toBeUndefined();
  });

  it("requires secretsFile when created", () => {
    expect(() => store({})).toThrow(ComponentConfigError);
    expect(() => store({})).toThrow(/secretsFile/);
  });

  it("names a missing file on first use", async () => {
    const error = await rejectionOf(store({ secretsFile: "missing.json" }).get("x"));
    expect(error).toBeInstanceOf(ComponentConfigError);
    expect(error.message).toContain(join(dir, "missing.json"));
    expect(error.message).toContain("does not exist");
  });

  it("names invalid JSON without quoting the file's content", async () => {
    const error = await rejectionOf(store({ secretsFile: "broken.json" }).get("password"));
    expect(error).toBeInstanceOf(ComponentConfigError);
    expect(error.message).toContain("broken.json");
    expect(error.message).toContain("not valid JSON");
    expect(error.message).not.toContain("hunter2");
    expect(JSON.stringify(error, Object.getOwnPropertyNames(error))).not.toContain("hunter2");
  });

  it("rejects a file that is not a JSON object, without quoting it", async () => {
    const error = await rejectionOf(store({ secretsFile: "list.json" }).get("0"));
    expect(error.message).toContain("must hold a JSON object");
    expect(error.message).not.toContain("hunter2");
  });

  it("reads the file again after a failed read", async () => {
    const s = store({ secretsFile: "later.json" });
    await expect(s.get("k")).rejects.toThrow(/does not exist/);
    await writeFile(join(dir, "later.json"), '{ "k": "v" }');
    expect(await s.get("k")).toEqual({ k: "v" });
  });
});
