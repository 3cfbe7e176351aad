/**
 * Inbound resiliency on the Node host: a pub/sub's `inbound` policies wrap each handler call —
 * retries run in-process before the message is settled, a timeout cuts a slow handler, and an
 * open circuit breaker settles messages as RETRY without calling the handler until it half-opens.
 */
import { join, resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startNodeHost, type NodeHost } from "../../adapters/node/index.ts";
import type { Settlement } from "../../src/core/delivery.ts";
import { silentLogger } from "../../src/core/logger.ts";
import { componentYaml, createAppDir } from "../support/app-fixture.ts";
import { freshName, waitFor } from "../support/wait.ts";

const repo = resolve(import.meta.dirname, "../..");
type Probe = { calls: Record<string, number>; failing: boolean };
const probe: Probe = { calls: {}, failing: true };
(globalThis as { inboundProbe?: Probe }).inboundProbe = probe;

const functions = `import { subscribe } from ${JSON.stringify(join(repo, "src/index.ts"))};
const probe = (globalThis as any).inboundProbe as { calls: Record<string, number> };
const count = (n: string) => (probe.calls[n] = (probe.calls[n] ?? 0) + 1);
const fast = { initialMs: 20, maxMs: 20 };
export const flaky = subscribe({ pubsub: "bus", topic: "flaky", backoff: fast }, (e: any) => {
  if (count(e.data.n) <= 2) throw new Error("not yet");
});
export const slow = subscribe({ pubsub: "slowbus", topic: "slow", backoff: fast }, async (e: any) => {
  if (count(e.data.n) === 1) await new Promise((r) => setTimeout(r, 2_000));
});
// A "bad" message fails while the probe says so; the test then lets it succeed.
export const fragile = subscribe({ pubsub: "fragile", topic: "fragile", backoff: { initialMs: 150, maxMs: 150 } }, (e: any) => {
  count(e.data.n);
  if (e.data.bad && (globalThis as any).inboundProbe.failing) throw new Error("bad message");
});
`;
const resiliency = `apiVersion: dapr.io/v1alpha1
kind: Resiliency
metadata:
  name: inbound
spec:
  policies:
    timeouts:
      quick: 100ms
    retries:
      thrice:
        policy: constant
        duration: 10ms
        maxRetries: 3
    circuitBreakers:
      guard:
        maxRequests: 1
        timeout: 1s
        trip: consecutiveFailures >= 2
  targets:
    components:
      bus:
        inbound:
          retry: thrice
      slowbus:
        inbound:
          timeout: quick
      fragile:
        inbound:
          circuitBreaker: guard
`;

let host: NodeHost;
const settled: Array<{ subscription: string; n: string; attempt: number; settlement: Settlement; at: number }> = [];

beforeAll(async () => {
  const dir = createAppDir("mecha-resiliency-inbound", {
    "functions/app.ts": functions,
    "components/bus.yaml": componentYaml("bus", "pubsub.in-memory"),
    "components/slowbus.yaml": componentYaml("slowbus", "pubsub.in-memory"),
    "components/fragile.yaml": componentYaml("fragile", "pubsub.in-memory"),
    "components/resiliency.yaml": resiliency,
  });
  host = await startNodeHost({
    baseDir: dir,
    resources: "components",
    port: 0,
    logger: silentLogger,
    appId: "inbound",
    shutdownTimeoutMs: 500,
    onSettled: (subscription, message, settlement) =>
      settled.push({ subscription, n: JSON.parse(new TextDecoder().decode(message.data)).data.n, attempt: message.attempt, settlement, at: Date.now() }),
  });
});
afterAll(() => host?.close());

const settlementsOf = (n: string) => settled.filter((s) => s.n === n);

describe("inbound resiliency policies", () => {
  it("retries a failing handler in-process, so the first delivery is acked", async () => {
    const n = freshName("flaky");
    await host.app.runtime.publish("bus", "flaky", { n });
    await waitFor(() => settlementsOf(n).length === 1 && settlementsOf(n), { what: "the flaky message to settle" });
    expect(settlementsOf(n).map((s) => [s.attempt, s.settlement])).toEqual([[1, "acked"]]);
    expect(probe.calls[n]).toBe(3);
  });

  it("cuts a handler that outlasts the timeout, settling the delivery as RETRY at once", async () => {
    const n = freshName("slow");
    const started = Date.now();
    await host.app.runtime.publish("slowbus", "slow", { n });
    await waitFor(() => settlementsOf(n).some((s) => s.settlement === "acked"), { what: "the slow message to be acked on redelivery" });
    const [first, second] = settlementsOf(n);
    expect(first).toMatchObject({ attempt: 1, settlement: "retried" });
    expect(first!.at - started).toBeLessThan(1_500);
    expect(second).toMatchObject({ attempt: 2, settlement: "acked" });
  });

  it("opens the breaker after the configured failures, skipping the handler, and closes it after its timeout", async () => {
    const [bad1, bad2, good] = [freshName("bad"), freshName("bad"), freshName("good")];
    await host.app.runtime.publish("fragile", "fragile", { n: bad1, bad: true });
    await host.app.runtime.publish("fragile", "fragile", { n: bad2, bad: true });
    await waitFor(() => settlementsOf(bad1).length >= 1 && settlementsOf(bad2).length >= 1, { what: "both bad messages to fail" });
    // Two consecutive failures: the breaker is open. A good message is settled as RETRY unseen.
    await host.app.runtime.publish("fragile", "fragile", { n: good });
    await waitFor(() => settlementsOf(good).length >= 1, { what: "the good message's first delivery" });
    expect(settlementsOf(good)[0]).toMatchObject({ attempt: 1, settlement: "retried" });
    expect(probe.calls[good]).toBeUndefined();
    const badCallsWhileOpen = [probe.calls[bad1], probe.calls[bad2]];
    // After the breaker's timeout a trial call goes through; once it succeeds, the breaker closes.
    probe.failing = false;
    await waitFor(() => [bad1, bad2, good].every((n) => settlementsOf(n).some((s) => s.settlement === "acked")), {
      timeoutMs: 5_000,
      what: "every message to be acked once the breaker half-opens and closes",
    });
    expect(probe.calls[good]).toBe(1);
    // While it was open, redeliveries were refused without calling the handler.
    expect(badCallsWhileOpen).toEqual([1, 1]);
  });
});

describe("inbound resiliency policies on an input binding", () => {
  const runs: number[] = [];
  let ticking: NodeHost;
  beforeAll(async () => {
    (globalThis as { tickerRuns?: number[] }).tickerRuns = runs;
    const dir = createAppDir("mecha-resiliency-binding", {
      // Each tick's first two runs fail; the policy's in-process retries make the third one succeed.
      "functions/ticker.ts": `import { binding } from ${JSON.stringify(join(repo, "src/index.ts"))};
let attempts = 0;
export const tick = binding("ticker", () => {
  attempts++;
  if (attempts % 3 !== 0) throw new Error("not yet");
  ((globalThis as any).tickerRuns as number[]).push(attempts);
});
`,
      "components/ticker.yaml": componentYaml("ticker", "bindings.cron", { schedule: "@every 1s" }),
      "components/resiliency.yaml": `apiVersion: dapr.io/v1alpha1
kind: Resiliency
metadata:
  name: ticks
spec:
  policies:
    retries:
      again:
        policy: constant
        duration: 10ms
        maxRetries: 2
  targets:
    components:
      ticker:
        inbound:
          retry: again
`,
    });
    ticking = await startNodeHost({ baseDir: dir, resources: "components", port: 0, logger: silentLogger, appId: "ticks" });
  });
  afterAll(() => ticking?.close());

  it("retries a failing binding function in-process, so each trigger ends in a success", async () => {
    await waitFor(() => runs.length >= 2, { timeoutMs: 5_000, what: "two ticks to succeed" });
    expect(runs.slice(0, 2)).toEqual([3, 6]);
  });
});

describe("stopping a host while a handler is being retried", () => {
  it("ends the retries at once and leaves the message unsettled", async () => {
    const calls: number[] = [];
    (globalThis as { stuckCalls?: number[] }).stuckCalls = calls;
    const dir = createAppDir("mecha-resiliency-stop", {
      "functions/stuck.ts": `import { subscribe } from ${JSON.stringify(join(repo, "src/index.ts"))};
export const stuck = subscribe({ pubsub: "bus", topic: "stuck" }, () => {
  ((globalThis as any).stuckCalls as number[]).push(Date.now());
  throw new Error("always");
});
`,
      "components/bus.yaml": componentYaml("bus", "pubsub.in-memory"),
      // Dapr's default: retry forever.
      "components/resiliency.yaml": `apiVersion: dapr.io/v1alpha1
kind: Resiliency
metadata:
  name: forever
spec:
  policies:
    retries:
      DefaultRetryPolicy:
        policy: constant
        duration: 20ms
`,
    });
    const settlements: Settlement[] = [];
    const stuck = await startNodeHost({ baseDir: dir, resources: "components", port: 0, logger: silentLogger, appId: "stuck", shutdownTimeoutMs: 5_000, onSettled: (_s, _m, settlement) => settlements.push(settlement) });
    await stuck.app.runtime.publish("bus", "stuck", { n: 1 });
    await waitFor(() => calls.length >= 3, { what: "the handler to be retried" });
    const started = Date.now();
    await stuck.close();
    expect(Date.now() - started).toBeLessThan(1_000);
    const after = calls.length;
    await new Promise((r) => setTimeout(r, 200)); // absence: no call may follow the close
    expect(calls.length).toBe(after);
    expect(settlements).toEqual([]);
  });
});
