/**
 * The official Dapr JS SDK (`@dapr/dapr`), its HTTP DaprClient pointed at the Node host's Dapr API:
 * what a Dapr app does through its sidecar works with no daprd anywhere.
 */
import { CommunicationProtocolEnum, DaprClient, LogLevel } from "@dapr/dapr";
import { join, resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { TopicEvent } from "../../src/core/cloudevent.ts";
import { componentYaml } from "../support/app-fixture.ts";
import { startDaprApiHost, type DaprApiHost } from "../support/dapr-api-host.ts";
import { freshName, waitFor } from "../support/wait.ts";

const repo = resolve(import.meta.dirname, "../..");
const topic = freshName("sdk-orders");
const received: TopicEvent[] = [];
(globalThis as { sdkReceived?: TopicEvent[] }).sdkReceived = received;
const token = freshName("sdk-token");
const secretValue = freshName("sdk-secret");

let app: DaprApiHost;
let client: DaprClient;

beforeAll(async () => {
  app = await startDaprApiHost({
    appId: "sdk-app",
    files: {
      "components/store.yaml": componentYaml("statestore", "state.sqlite", { connectionString: ".mecha/state.db" }),
      "components/pubsub.yaml": componentYaml("pubsub", "pubsub.sqlite", { connectionString: ".mecha/pubsub.db" }),
      "components/files.yaml": componentYaml("files", "bindings.localstorage", { rootPath: "files" }),
      "components/vault.yaml": componentYaml("vault", "secretstores.local.file", { secretsFile: "secrets.json" }),
      "secrets.json": JSON.stringify({ "db-password": secretValue }),
      "functions/orders.ts": `import { subscribe } from ${JSON.stringify(join(repo, "src/index.ts"))};
export const orders = subscribe({ pubsub: "pubsub", topic: ${JSON.stringify(topic)} }, (e) => void (globalThis as any).sdkReceived.push(e));
`,
    },
    options: { daprApi: { apiToken: token } },
  });
  client = new DaprClient({
    daprHost: "127.0.0.1",
    daprPort: String(app.host.daprApiPort),
    communicationProtocol: CommunicationProtocolEnum.HTTP,
    daprApiToken: token,
    logger: { level: LogLevel.Error },
  });
  await client.start();
});
afterAll(async () => {
  await client?.stop();
  await app?.close();
});

describe("the Dapr JS SDK's HTTP client against mecha", () => {
  it("saves, gets and deletes state", async () => {
    const key = freshName("order");
    expect(await client.state.save("statestore", [{ key, value: { id: key, qty: 2 } }])).toEqual({});
    expect(await client.state.get("statestore", key)).toEqual({ id: key, qty: 2 });
    expect(await client.state.delete("statestore", key)).toEqual({});
    expect(await client.state.get("statestore", key)).toBe("");
  });

  it("gets in bulk, with etags", async () => {
    const [a, b] = [freshName("bulk"), freshName("bulk")];
    await client.state.save("statestore", [{ key: a, value: "A" }, { key: b, value: "B" }]);
    const entries = (await client.state.getBulk("statestore", [a, b])) as Array<{ key: string; data: unknown; etag: string }>;
    expect(entries.map(({ key, data }) => ({ key, data }))).toEqual([{ key: a, data: "A" }, { key: b, data: "B" }]);
    expect(entries.every((e) => typeof e.etag === "string" && e.etag.length > 0)).toBe(true);
  });

  it("runs a transaction", async () => {
    const [kept, removed] = [freshName("tx"), freshName("tx")];
    await client.state.save("statestore", [{ key: removed, value: 1 }]);
    await client.state.transaction("statestore", [
      { operation: "upsert", request: { key: kept, value: "yes" } },
      { operation: "delete", request: { key: removed } },
    ]);
    expect(await client.state.get("statestore", kept)).toBe("yes");
    expect(await client.state.get("statestore", removed)).toBe("");
  });

  it("publishes an event that the app's subscription receives as a CloudEvent", async () => {
    const id = freshName("order");
    expect(await client.pubsub.publish("pubsub", topic, { id })).toEqual({});
    const event = await waitFor(() => received.find((e) => (e.data as { id?: string })?.id === id), { what: "the SDK's event" });
    expect(event).toMatchObject({ source: "sdk-app", type: "com.dapr.event.sent", topic, pubsubname: "pubsub" });
  });

  it("invokes an output binding", async () => {
    const fileName = `${freshName("receipt")}.txt`;
    await client.binding.send("files", "create", "paid in full", { fileName });
    const listed = (await client.binding.send("files", "list", {})) as string[];
    expect(listed).toContain(fileName);
  });

  it("reads a secret", async () => {
    expect(await client.secret.get("vault", "db-password")).toEqual({ "db-password": secretValue });
  });

  it("reads the metadata: app id and components", async () => {
    const metadata = await client.metadata.get();
    expect(metadata.id).toBe("sdk-app");
    expect(metadata.components.map((c) => c.name).sort()).toEqual(["files", "pubsub", "statestore", "vault"]);
    expect(metadata.components.find((c) => c.name === "statestore")).toMatchObject({ type: "state.sqlite", version: "v1" });
  });

  it("surfaces an etag conflict as an error with Dapr's status", async () => {
    const key = freshName("conflict");
    await client.state.save("statestore", [{ key, value: 1 }]);
    const result = await client.state.save("statestore", [{ key, value: 2, etag: "999999" }]);
    expect(JSON.stringify(result.error?.message ?? result.error)).toContain("409");
    expect(await client.state.get("statestore", key)).toBe(1);
  });
});
