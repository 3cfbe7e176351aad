/**
 * Dapr's binding, secrets, lock and metadata APIs on the Node host, against real components:
 * files for bindings.localstorage and secretstores.local.file, Redis for lock.redis.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { componentYaml } from "../support/app-fixture.ts";
import { json, startDaprApiHost, type DaprApiHost } from "../support/dapr-api-host.ts";
import { serviceOrSkip } from "../support/services.ts";
import { freshName } from "../support/wait.ts";

const secretValue = freshName("hunter2");
let app: DaprApiHost;

beforeAll(async () => {
  app = await startDaprApiHost({
    appId: "blocks",
    files: {
      "components/files.yaml": componentYaml("files", "bindings.localstorage", { rootPath: "files" }),
      "components/vault.yaml": componentYaml("vault", "secretstores.local.file", { secretsFile: "secrets.json" }),
      "components/broken-vault.yaml": componentYaml("broken-vault", "secretstores.local.file", { secretsFile: "broken.json" }),
      "components/store.yaml": componentYaml("store", "state.sqlite", { connectionString: ".mecha/state.db" }),
      "secrets.json": JSON.stringify({ "api-key": secretValue, db: { user: "app", password: "pw" } }),
      // Malformed on purpose: the error must not quote the file, which holds a secret.
      "broken.json": `{ "password": "${secretValue}"`,
    },
  });
});
afterAll(() => app?.close());

const errorOf = async (response: Response) => ({ status: response.status, body: (await response.json()) as { errorCode: string; message: string } });
const invoke = (name: string, body: unknown) => app.api(`/v1.0/bindings/${name}`, json(body));

describe("POST /v1.0/bindings/{name}", () => {
  it("creates, gets, lists and deletes through the binding, answering its data and metadata headers", async () => {
    const fileName = `${freshName("receipt")}.json`;
    const created = await invoke("files", { operation: "create", data: { total: 7 }, metadata: { fileName } });
    expect(created.status).toBe(200);
    expect(created.headers.get("metadata.fileName")).toBe(fileName);
    expect(await created.json()).toEqual({ fileName });

    const got = await invoke("files", { operation: "get", metadata: { fileName } });
    expect(got.status).toBe(200);
    expect(JSON.parse(Buffer.from(await got.arrayBuffer()).toString())).toEqual({ total: 7 });

    expect(await (await invoke("files", { operation: "list" })).json()).toContain(fileName);
    expect((await invoke("files", { operation: "delete", metadata: { fileName } })).status).toBe(204);
    expect((await invoke("files", { operation: "get", metadata: { fileName } })).status).toBe(404);
  });

  it("answers 404 ERR_INVOKE_OUTPUT_BINDING for a missing object, naming it", async () => {
    const { status, body } = await errorOf(await invoke("files", { operation: "get", metadata: { fileName: "never.txt" } }));
    expect(status).toBe(404);
    expect(body.errorCode).toBe("ERR_INVOKE_OUTPUT_BINDING");
    expect(body.message).toContain("never.txt");
  });

  it.each([
    ["an unknown binding", "nowhere", { operation: "create", data: 1 }, 404, "ERR_INVOKE_OUTPUT_BINDING"],
    ["an operation the binding lacks", "files", { operation: "explode" }, 400, "ERR_INVOKE_OUTPUT_BINDING"],
    ["no operation", "files", { data: 1 }, 400, "ERR_MALFORMED_REQUEST"],
    ["metadata that is not a string map", "files", { operation: "list", metadata: { n: 1 } }, 400, "ERR_MALFORMED_REQUEST"],
    ["a file name that leaves the folder", "files", { operation: "get", metadata: { fileName: "../../etc/passwd" } }, 400, "ERR_MALFORMED_REQUEST"],
  ])("answers %s with a 4xx and Dapr's body", async (_case, name, body, status, errorCode) => {
    expect(await errorOf(await invoke(name, body))).toMatchObject({ status, body: { errorCode } });
  });
});

describe("GET /v1.0/secrets/{store}/{key}", () => {
  it("answers the secret's values as a JSON map", async () => {
    const response = await app.api("/v1.0/secrets/vault/api-key");
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ "api-key": secretValue });
  });

  it("answers every secret from /bulk, keyed by name", async () => {
    const all = (await (await app.api("/v1.0/secrets/vault/bulk")).json()) as Record<string, Record<string, string>>;
    expect(all["api-key"]).toEqual({ "api-key": secretValue });
    expect(all["db:password"]).toEqual({ "db:password": "pw" });
  });

  it("answers 204 for a secret that does not exist", async () => {
    expect((await app.api("/v1.0/secrets/vault/nothing-here")).status).toBe(204);
  });

  it("answers 401 ERR_SECRET_STORE_NOT_FOUND for an unknown store, as Dapr does", async () => {
    expect(await errorOf(await app.api("/v1.0/secrets/nowhere/api-key"))).toMatchObject({ status: 401, body: { errorCode: "ERR_SECRET_STORE_NOT_FOUND" } });
  });

  it("answers a store's failure with ERR_SECRET_GET and never the secret file's content", async () => {
    const response = await app.api("/v1.0/secrets/broken-vault/password");
    const text = await response.text();
    expect(response.status).toBe(500);
    expect(JSON.parse(text).errorCode).toBe("ERR_SECRET_GET");
    expect(text).not.toContain(secretValue);
  });
});

describe("GET /v1.0/metadata and PUT /v1.0/metadata/{key}", () => {
  it("answers the app id and each component with its type, version and capabilities", async () => {
    const metadata = (await (await app.api("/v1.0/metadata")).json()) as {
      id: string;
      components: Array<{ name: string; type: string; version: string; capabilities: string[] }>;
      extended: Record<string, string>;
    };
    expect(metadata.id).toBe("blocks");
    expect(metadata.components).toContainEqual({ name: "store", type: "state.sqlite", version: "v1", capabilities: ["ETAG", "TRANSACTIONAL", "TTL"] });
    expect(metadata.components).toContainEqual({ name: "files", type: "bindings.localstorage", version: "v1", capabilities: ["OUTPUT_BINDING"] });
    expect(metadata.components.map((c) => c.name).sort()).toEqual(["broken-vault", "files", "store", "vault"]);
    expect(metadata.extended["daprRuntimeVersion"]).toMatch(/mecha/);
  });

  it("keeps an attribute set with PUT in the extended metadata", async () => {
    const value = freshName("value");
    expect((await app.api("/v1.0/metadata/owner", { method: "PUT", body: value })).status).toBe(204);
    const metadata = (await (await app.api("/v1.0/metadata")).json()) as { extended: Record<string, string> };
    expect(metadata.extended["owner"]).toBe(value);
  });

  it("answers the health checks with 204", async () => {
    expect((await app.api("/v1.0/healthz")).status).toBe(204);
    expect((await app.api("/v1.0/healthz/outbound")).status).toBe(204);
  });

  it("answers an unknown route with 404 and an errorCode", async () => {
    expect(await errorOf(await app.api("/v1.0/actors/x/y/method/z"))).toMatchObject({ status: 404, body: { errorCode: "ERR_NOT_FOUND" } });
  });
});

const redisUp = await serviceOrSkip("redis", "the Dapr lock API (lock.redis)");
describe.skipIf(!redisUp)("POST /v1.0-alpha1/lock/{store} and /unlock/{store}", () => {
  let locks: DaprApiHost;
  beforeAll(async () => {
    locks = await startDaprApiHost({ files: { "components/locks.yaml": componentYaml("locks", "lock.redis", { redisHost: "127.0.0.1:6379" }) } });
  });
  afterAll(() => locks?.close());
  const lock = (body: unknown) => locks.api("/v1.0-alpha1/lock/locks", json(body));
  const unlock = (body: unknown) => locks.api("/v1.0-alpha1/unlock/locks", json(body));

  it("grants a free lock, refuses a held one, and unlocks only for its owner (Dapr's status numbers)", async () => {
    const resourceId = freshName("resource");
    expect(await (await lock({ resourceId, lockOwner: "a", expiryInSeconds: 30 })).json()).toEqual({ success: true });
    expect(await (await lock({ resourceId, lockOwner: "b", expiryInSeconds: 30 })).json()).toEqual({ success: false });
    expect(await (await unlock({ resourceId, lockOwner: "b" })).json()).toEqual({ status: 2 });
    expect(await (await unlock({ resourceId, lockOwner: "a" })).json()).toEqual({ status: 0 });
    expect(await (await unlock({ resourceId, lockOwner: "a" })).json()).toEqual({ status: 1 });
  });

  it.each([
    ["an empty resourceId", { resourceId: "", lockOwner: "a", expiryInSeconds: 5 }],
    ["no lockOwner", { resourceId: "r", expiryInSeconds: 5 }],
    ["a zero expiry", { resourceId: "r", lockOwner: "a", expiryInSeconds: 0 }],
  ])("answers 400 ERR_MALFORMED_REQUEST for %s", async (_case, body) => {
    expect(await errorOf(await lock(body))).toMatchObject({ status: 400, body: { errorCode: "ERR_MALFORMED_REQUEST" } });
  });

  it("answers 400 ERR_LOCK_STORE_NOT_FOUND for an unknown lock store", async () => {
    const response = await locks.api("/v1.0-alpha1/lock/nowhere", json({ resourceId: "r", lockOwner: "a", expiryInSeconds: 5 }));
    expect(await errorOf(response)).toMatchObject({ status: 400, body: { errorCode: "ERR_LOCK_STORE_NOT_FOUND" } });
  });
});
