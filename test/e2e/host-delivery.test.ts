/**
 * What the Node host does with a subscription's options: concurrency, routing rules, waitUntil
 * before the ack, and Dapr Subscription YAML delivered to an HTTP function with Dapr's response
 * contract.
 */
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startNodeHost, type NodeHost } from "../../adapters/node/index.ts";
import type { Settlement } from "../../src/core/delivery.ts";
import { silentLogger } from "../../src/core/logger.ts";
import { waitFor } from "../support/wait.ts";

const repo = resolve(import.meta.dirname, "../..");

const functions = `import { http, subscribe } from ${JSON.stringify(join(repo, "src/index.ts"))};
type Probe = { inFlight: number; maxInFlight: number; routed: string[]; attempts: Record<string, number>; release?: () => void; waited: boolean };
export const probe: Probe = ((globalThis as any).probe = { inFlight: 0, maxInFlight: 0, routed: [], attempts: {}, waited: false });

export const limited = subscribe({ pubsub: "bus", topic: "limited", concurrency: 2 }, async () => {
  probe.maxInFlight = Math.max(probe.maxInFlight, ++probe.inFlight);
  await new Promise((r) => setTimeout(r, 20));
  probe.inFlight--;
});

export const routed = subscribe(
  {
    pubsub: "bus",
    topic: "routed",
    routes: [{ match: (e) => (e.data as { kind?: string }).kind === "refund", handler: (e) => void probe.routed.push("refund:" + (e.data as any).n) }],
  },
  (e) => void probe.routed.push("default:" + (e.data as any).n),
);

export const background = subscribe({ pubsub: "bus", topic: "background" }, async (_e, ctx) => {
  ctx.waitUntil(new Promise<void>((resolve) => (probe.release = () => { probe.waited = true; resolve(); })));
});

// The route a Subscription YAML points at: Dapr's contract decides the outcome.
export const yamlRoute = http("POST /events/yaml", async (req) => {
  const event = (await req.json()) as { data: { n: string } };
  const n = event.data.n;
  probe.attempts[n] = (probe.attempts[n] ?? 0) + 1;
  if (n === "retry-once" && probe.attempts[n] === 1) return Response.json({ status: "RETRY" });
  if (n === "drop") return Response.json({ status: "DROP" });
  if (n === "fail-once" && probe.attempts[n] === 1) return new Response("boom", { status: 500 });
  return new Response(null, { status: 200 });
});
`;

const component = (name: string, type: string) =>
  `apiVersion: dapr.io/v1alpha1\nkind: Component\nmetadata:\n  name: ${name}\nspec:\n  type: ${type}\n  version: v1\n  metadata: []\n`;
const subscription = `apiVersion: dapr.io/v2alpha1
kind: Subscription
metadata:
  name: yaml-sub
spec:
  pubsubname: bus
  topic: yaml
  routes:
    default: /events/yaml
  deadLetterTopic: yaml.dead
---
apiVersion: dapr.io/v1alpha1
kind: Subscription
metadata:
  name: missing-route
spec:
  pubsubname: bus
  topic: nowhere
  route: /no/such/route
`;

describe("Node host delivery", () => {
  let dir: string;
  let host: NodeHost;
  const settled: Array<{ subscription: string; data: string; settlement: Settlement }> = [];
  const probe = () => (globalThis as any).probe as { inFlight: number; maxInFlight: number; routed: string[]; attempts: Record<string, number>; release?: () => void; waited: boolean };

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "mecha-host-delivery-"));
    await mkdir(join(dir, "components"));
    await mkdir(join(dir, "functions"));
    await writeFile(join(dir, "functions/app.ts"), functions);
    await writeFile(join(dir, "components/bus.yaml"), component("bus", "pubsub.in-memory"));
    await writeFile(join(dir, "components/subscriptions.yaml"), subscription);
    host = await startNodeHost({
      baseDir: dir,
      resources: "components",
      port: 0,
      logger: silentLogger,
      appId: "delivery",
      onSettled: (name, message, settlement) =>
        settled.push({ subscription: name, data: JSON.parse(new TextDecoder().decode(message.data)).data?.n, settlement }),
    });
  });
  afterAll(async () => {
    await host?.close();
    await rm(dir, { recursive: true, force: true });
  });

  const publish = (topic: string, data: unknown) => host.app.runtime.publish("bus", topic, data);
  const settlementsOf = (subscription: string, n: string) => settled.filter((s) => s.subscription === subscription && s.data === n).map((s) => s.settlement);

  it("never runs more of a subscription's handlers at once than its concurrency", async () => {
    for (let i = 0; i < 12; i++) await publish("limited", { n: String(i) });
    await waitFor(() => settled.filter((s) => s.subscription === "delivery.app.limited").length === 12, { what: "12 deliveries" });
    expect(probe().maxInFlight).toBe(2);
  });

  it("sends an event to the first routing rule that matches, else to the default handler", async () => {
    await publish("routed", { kind: "refund", n: "1" });
    await publish("routed", { kind: "order", n: "2" });
    await waitFor(() => probe().routed.length === 2);
    expect(probe().routed.sort()).toEqual(["default:2", "refund:1"]);
  });

  it("acks a message only after the work its handler handed to waitUntil has finished", async () => {
    await publish("background", { n: "bg" });
    await waitFor(() => probe().release !== undefined, { what: "the handler to run" });
    expect(settlementsOf("delivery.app.background", "bg")).toEqual([]);
    probe().release!();
    await waitFor(() => settlementsOf("delivery.app.background", "bg").length === 1);
    expect(probe().waited).toBe(true);
    expect(settlementsOf("delivery.app.background", "bg")).toEqual(["acked"]);
  });

  it("delivers Subscription YAML events to the HTTP route with Dapr's response contract", async () => {
    for (const n of ["ok", "retry-once", "fail-once", "drop"]) await publish("yaml", { n });
    await waitFor(() => settlementsOf("delivery.yaml-sub", "ok").includes("acked"));
    await waitFor(() => settlementsOf("delivery.yaml-sub", "retry-once").includes("acked"), { timeoutMs: 15_000 });
    await waitFor(() => settlementsOf("delivery.yaml-sub", "fail-once").includes("acked"), { timeoutMs: 15_000 });
    await waitFor(() => settlementsOf("delivery.yaml-sub", "drop").length > 0);
    expect(settlementsOf("delivery.yaml-sub", "retry-once")).toEqual(["retried", "acked"]);
    expect(settlementsOf("delivery.yaml-sub", "fail-once")).toEqual(["retried", "acked"]);
    expect(settlementsOf("delivery.yaml-sub", "drop")).toEqual(["dead-lettered"]);
  });

  it("drops (no retry) an event whose route answers 404", async () => {
    await publish("nowhere", { n: "lost" });
    await waitFor(() => settlementsOf("delivery.missing-route", "lost").length > 0);
    expect(settlementsOf("delivery.missing-route", "lost")).toEqual(["dropped"]);
  });
});
