/** `GET /v1.0/metadata` lists the app's subscriptions as Dapr does: declarative ones with their CEL rules, code ones as programmatic. */
import { join, resolve } from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import { componentYaml, subscriptionYaml } from "../support/app-fixture.ts";
import { startDaprApiHost, type DaprApiHost } from "../support/dapr-api-host.ts";

const repo = resolve(import.meta.dirname, "../..");
let app: DaprApiHost;
beforeAll(async () => {
  app = await startDaprApiHost({
    appId: "shop",
    files: {
      "components/bus.yaml": componentYaml("bus", "pubsub.in-memory"),
      "components/subscription.yaml": subscriptionYaml("inventory", {
        pubsub: "bus",
        topic: "inventory",
        rules: [['event.type == "widget"', "/widgets"]],
        defaultRoute: "/products",
        deadLetterTopic: "inventory.dead",
      }),
      "functions/app.ts": `import { http, subscribe } from ${JSON.stringify(join(repo, "src/index.ts"))};
export const widgets = http("POST /widgets", () => new Response(null));
export const products = http("POST /products", () => new Response(null));
export const orders = subscribe({ pubsub: "bus", topic: "orders", routes: [{ match: "event.data.total > 100", handler: () => {} }] }, () => {});
`,
    },
  });
});
afterAll(() => app?.close());

it("lists each subscription with its topic, rules, dead-letter topic and type", async () => {
  const { subscriptions } = (await (await app.api("/v1.0/metadata")).json()) as { subscriptions: unknown[] };
  expect(subscriptions).toEqual(
    expect.arrayContaining([
      { pubsubname: "bus", topic: "inventory", rules: [{ match: 'event.type == "widget"', path: "/widgets" }], deadLetterTopic: "inventory.dead", type: "DECLARATIVE" },
      { pubsubname: "bus", topic: "orders", rules: [{ match: "event.data.total > 100" }], deadLetterTopic: "", type: "PROGRAMMATIC" },
    ]),
  );
  expect(subscriptions).toHaveLength(2);
});
