/**
 * Resiliency for service invocation: a Resiliency document's `targets.apps` policies apply to
 * `ctx.invoke` of that app — a failing answer (500 or more) is retried, a slow callee is cut by the
 * timeout, and a breaker that opens fails calls fast without reaching the callee.
 */
import { join, resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startNodeHost, type NodeHost } from "../../adapters/node/index.ts";
import { silentLogger } from "../../src/core/logger.ts";
import { ErrorCodes, MechaError } from "../../src/errors.ts";
import { componentYaml, createAppDir } from "../support/app-fixture.ts";
import { freshName } from "../support/wait.ts";
import { rejectionOf } from "../support/rejection.ts";

const repo = resolve(import.meta.dirname, "../..");
type Probe = { calls: Record<string, number> };
const probe: Probe = { calls: {} };
(globalThis as { invokeProbe?: Probe }).invokeProbe = probe;

const callee = `import { http } from ${JSON.stringify(join(repo, "src/index.ts"))};
const probe = (globalThis as any).invokeProbe as { calls: Record<string, number> };
const count = (n: string) => (probe.calls[n] = (probe.calls[n] ?? 0) + 1);
export const flaky = http("GET /flaky/:n", (_req, ctx) => (count(ctx.params.n!) <= 2 ? new Response("busy", { status: 503 }) : Response.json({ ok: true })));
export const slow = http("GET /slow/:n", async (_req, ctx) => (count(ctx.params.n!), await new Promise((r) => setTimeout(r, 1_000)), new Response("late")));
export const ok = http("GET /ok", () => new Response("ok"));
export const broken = http("GET /broken/:n", (_req, ctx) => (count(ctx.params.n!), new Response("down", { status: 500 })));
`;
const resiliency = `apiVersion: dapr.io/v1alpha1
kind: Resiliency
metadata:
  name: calls
spec:
  policies:
    timeouts:
      quick: 150ms
    retries:
      thrice:
        policy: constant
        duration: 10ms
        maxRetries: 3
    circuitBreakers:
      guard:
        maxRequests: 1
        timeout: 30s
        trip: consecutiveFailures >= 2
  targets:
    apps:
      billing:
        retry: thrice
        timeout: quick
      ledger:
        circuitBreaker: guard
`;

let billing: NodeHost;
let caller: NodeHost;
beforeAll(async () => {
  billing = await startNodeHost({ baseDir: createAppDir("mecha-invoke-callee", { "functions/app.ts": callee, "components/.keep.yaml": "" }), resources: "components", port: 0, logger: silentLogger, appId: "billing" });
  caller = await startNodeHost({
    baseDir: createAppDir("mecha-invoke-caller", {
      "functions/none.ts": "export {};\n",
      // One host plays two apps: "ledger" is billing's address under another id, with other policies.
      "components/peers.yaml": componentYaml("peers", "nameresolution.static", { billing: billing.url, ledger: billing.url, plain: billing.url }),
      "components/resiliency.yaml": resiliency,
    }),
    resources: "components",
    port: 0,
    logger: silentLogger,
    appId: "orders",
  });
});
afterAll(async () => {
  await caller?.close();
  await billing?.close();
});

const invoke = (appId: string, route: string, signal?: AbortSignal) => caller.app.runtime.createContext().invoke(appId, route, undefined, { signal });

describe("resiliency policies on service invocation", () => {
  it("retries an app's failing answers until one succeeds", async () => {
    const n = freshName("flaky");
    const response = await invoke("billing", `GET /flaky/${n}`);
    expect(response.status).toBe(200);
    expect(probe.calls[n]).toBe(3);
  });

  it("returns a failing answer as it is to an app no policy covers", async () => {
    const n = freshName("plain");
    expect((await invoke("plain", `GET /flaky/${n}`)).status).toBe(503);
    expect(probe.calls[n]).toBe(1);
  });

  it("cuts a call that outlasts the timeout, on every attempt", async () => {
    const n = freshName("slow");
    const started = Date.now();
    const error = await rejectionOf(invoke("billing", `GET /slow/${n}`));
    expect(error).toBeInstanceOf(MechaError);
    expect(error?.code).toBe(ErrorCodes.resiliencyTimeout);
    // Four attempts of 150 ms and three pauses of 10 ms: far less than the callee's second each.
    expect(Date.now() - started).toBeLessThan(3_000);
    expect(probe.calls[n]).toBeGreaterThanOrEqual(1);
  });

  it("stops at once when the caller aborts, without retrying or counting it toward the breaker", async () => {
    const n = freshName("aborted");
    for (let i = 0; i < 3; i++) {
      const started = Date.now();
      const error = await rejectionOf(invoke("ledger", `GET /slow/${n}`, AbortSignal.timeout(50)));
      expect((error as unknown as Error)?.name).toMatch(/TimeoutError|AbortError/);
      expect(Date.now() - started).toBeLessThan(900);
    }
    const retried = freshName("aborted-retry");
    const error = await rejectionOf(invoke("billing", `GET /slow/${retried}`, AbortSignal.timeout(50)));
    expect((error as unknown as Error)?.name).toMatch(/TimeoutError|AbortError/);
    expect(probe.calls[retried]).toBe(1);
    // Three aborted calls did not open ledger's breaker (it opens after two failures).
    expect((await invoke("ledger", "GET /ok")).status).toBe(200);
  });

  it("opens the breaker after two failures and then fails fast without calling the app", async () => {
    const n = freshName("broken");
    expect((await invoke("ledger", `GET /broken/${n}`)).status).toBe(500);
    expect((await invoke("ledger", `GET /broken/${n}`)).status).toBe(500);
    const error = await rejectionOf(invoke("ledger", `GET /broken/${n}`));
    expect(error?.code).toBe(ErrorCodes.circuitOpen);
    expect(probe.calls[n]).toBe(2);
  });
});
