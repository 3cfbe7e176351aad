/**
 * Who may call the Dapr API and with what: the API token (MECHA_API_TOKEN / DAPR_API_TOKEN, health
 * checks exempt), component scopes, and the body size limit.
 */
import { join, resolve } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { ComponentConfigError } from "../../src/errors.ts";
import { componentYaml } from "../support/app-fixture.ts";
import { json, startDaprApiHost, type DaprApiHost } from "../support/dapr-api-host.ts";
import { freshName } from "../support/wait.ts";

const repo = resolve(import.meta.dirname, "../..");
const store = componentYaml("store", "state.in-memory");
const errorOf = async (response: Response) => ({ status: response.status, body: (await response.json()) as { errorCode: string; message: string } });

describe("the API token", () => {
  const token = freshName("token");
  let app: DaprApiHost;
  beforeAll(async () => {
    app = await startDaprApiHost({ files: { "components/store.yaml": store }, options: { daprApi: { apiToken: token } } });
  });
  afterAll(() => app?.close());

  it("refuses a call without the dapr-api-token header with 401 and an errorCode", async () => {
    expect(await errorOf(await app.api("/v1.0/state/store/k"))).toEqual({
      status: 401,
      body: { errorCode: "ERR_API_TOKEN_INVALID", message: "invalid api token" },
    });
  });

  it("refuses a wrong token, and one that only starts like the right one, without echoing either", async () => {
    for (const wrong of ["nope", token.slice(0, -1), `${token}x`, ""]) {
      const response = await app.api("/v1.0/metadata", { headers: { "dapr-api-token": wrong } });
      const text = await response.text();
      expect(response.status).toBe(401);
      expect(text).not.toContain(token);
    }
  });

  it("lets a call with the right token through", async () => {
    const key = freshName("k");
    const headers = { "dapr-api-token": token };
    expect((await app.api("/v1.0/state/store", json([{ key, value: 1 }], { headers }))).status).toBe(204);
    expect(await (await app.api(`/v1.0/state/store/${key}`, { headers })).json()).toBe(1);
  });

  it("exempts the health checks, so an orchestrator can probe without it", async () => {
    expect((await app.api("/v1.0/healthz")).status).toBe(204);
    expect((await app.api("/v1.0/healthz/outbound")).status).toBe(204);
  });
});

describe("the token from the environment", () => {
  const saved = { MECHA_API_TOKEN: process.env["MECHA_API_TOKEN"], DAPR_API_TOKEN: process.env["DAPR_API_TOKEN"] };
  afterEach(() => {
    for (const [name, value] of Object.entries(saved)) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
  });

  it.each(["MECHA_API_TOKEN", "DAPR_API_TOKEN"])("is read from %s", async (variable) => {
    delete process.env["MECHA_API_TOKEN"];
    delete process.env["DAPR_API_TOKEN"];
    const token = freshName("env-token");
    process.env[variable] = token;
    const app = await startDaprApiHost({ files: { "components/store.yaml": store } });
    try {
      expect((await app.api("/v1.0/metadata")).status).toBe(401);
      expect((await app.api("/v1.0/metadata", { headers: { "dapr-api-token": token } })).status).toBe(200);
    } finally {
      await app.close();
    }
  });
});

describe("component scopes", () => {
  let app: DaprApiHost;
  beforeAll(async () => {
    app = await startDaprApiHost({
      appId: "orders",
      files: {
        "components/mine.yaml": `${componentYaml("mine", "state.in-memory")}scopes:\n  - orders\n`,
        "components/theirs.yaml": `${componentYaml("theirs", "state.in-memory")}scopes:\n  - billing\n`,
      },
    });
  });
  afterAll(() => app?.close());

  it("serves a component scoped to this app", async () => {
    expect((await app.api("/v1.0/state/mine", json([{ key: "k", value: 1 }]))).status).toBe(204);
  });

  it("treats a component scoped to other apps as if it did not exist", async () => {
    expect(await errorOf(await app.api("/v1.0/state/theirs/k"))).toMatchObject({ status: 400, body: { errorCode: "ERR_STATE_STORE_NOT_FOUND" } });
    const metadata = (await (await app.api("/v1.0/metadata")).json()) as { components: Array<{ name: string }> };
    expect(metadata.components.map((c) => c.name)).toEqual(["mine"]);
  });
});

describe("the body size limit", () => {
  let app: DaprApiHost;
  beforeAll(async () => {
    app = await startDaprApiHost({ files: { "components/store.yaml": store }, options: { bodyLimit: 1024 } });
  });
  afterAll(() => app?.close());

  it("answers a body over the limit with 413 ERR_REQUEST_TOO_LARGE and writes nothing", async () => {
    const key = freshName("big");
    const response = await app.api("/v1.0/state/store", json([{ key, value: "x".repeat(2048) }]));
    expect(await errorOf(response)).toMatchObject({ status: 413, body: { errorCode: "ERR_REQUEST_TOO_LARGE" } });
    expect((await app.api(`/v1.0/state/store/${key}`)).status).toBe(204);
  });

  it("counts a chunked body with no length as it streams in", async () => {
    const key = freshName("chunked");
    const chunk = new TextEncoder().encode(JSON.stringify([{ key, value: "y".repeat(4096) }]));
    const body = new ReadableStream({ start: (controller) => (controller.enqueue(chunk), controller.close()) });
    const response = await app.api("/v1.0/state/store", { method: "POST", body, duplex: "half" } as RequestInit);
    expect(response.status).toBe(413);
    expect((await app.api(`/v1.0/state/store/${key}`)).status).toBe(204);
  });

  it("accepts a body under the limit", async () => {
    expect((await app.api("/v1.0/state/store", json([{ key: freshName("small"), value: "ok" }]))).status).toBe(204);
  });
});

describe("pub/sub topic scoping", () => {
  const bus = componentYaml("bus", "pubsub.in-memory", { publishingScopes: "orders=placed;auditor=", subscriptionScopes: "orders=placed", protectedTopics: "audit" });
  let app: DaprApiHost;
  beforeAll(async () => {
    app = await startDaprApiHost({ appId: "orders", files: { "components/bus.yaml": bus } });
  });
  afterAll(() => app?.close());

  it("lets the app publish to a topic its publishingScopes grant", async () => {
    expect((await app.api("/v1.0/publish/bus/placed", json({ n: 1 }))).status).toBe(204);
  });

  it("answers 403 ERR_PUBSUB_FORBIDDEN for a topic its scopes do not grant, and for a protected topic", async () => {
    for (const topic of ["refunded", "audit"]) {
      const { status, body } = await errorOf(await app.api(`/v1.0/publish/bus/${topic}`, json({ n: 1 })));
      expect(status).toBe(403);
      expect(body).toEqual({ errorCode: "ERR_PUBSUB_FORBIDDEN", message: expect.stringContaining(`topic ${topic} is not allowed for app id orders`) });
    }
  });

  it("refuses a bulk publish to a forbidden topic as a whole, with 403", async () => {
    const response = await app.api("/v1.0-alpha1/publish/bulk/bus/refunded", json([{ entryId: "1", event: { n: 1 }, contentType: "application/json" }]));
    expect(await errorOf(response)).toMatchObject({ status: 403, body: { errorCode: "ERR_PUBSUB_FORBIDDEN" } });
  });

  it("refuses a subscription its subscriptionScopes do not grant at startup, naming file, component and field", async () => {
    const functions = `import { subscribe } from ${JSON.stringify(join(repo, "src/index.ts"))};
export const refunds = subscribe({ pubsub: "bus", topic: "refunded" }, () => {});
`;
    const error = await startDaprApiHost({ appId: "orders", files: { "components/bus.yaml": bus, "functions/refunds.ts": functions } }).then(
      async (started) => {
        await started.close();
        throw new Error("the host started");
      },
      (failure: unknown) => failure,
    );
    expect(error).toBeInstanceOf(ComponentConfigError);
    expect(error).toMatchObject({ component: "bus", field: "spec.metadata.subscriptionScopes", file: expect.stringContaining("bus.yaml") });
    expect((error as Error).message).toContain('topic "refunded" is not allowed for app id "orders"');
  });
});
