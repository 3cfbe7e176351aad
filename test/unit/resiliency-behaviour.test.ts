import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { componentCatalog, type CatalogEntry } from "../../src/components/catalog.ts";
import type { Block, BlockComponents } from "../../src/components/types.ts";
import { parseResourcesText } from "../../src/config/load.ts";
import type { ComponentSpec } from "../../src/config/types.ts";
import { createResiliency } from "../../src/core/resiliency.ts";
import { Runtime } from "../../src/core/runtime.ts";
import { CircuitOpenError, ErrorCodes, EtagMismatchError, MechaError, NotFoundError, ResiliencyTimeoutError } from "../../src/errors.ts";
import { freshName, waitFor } from "../support/wait.ts";

/** How a flaky component misbehaves; tests change it as they go. */
interface Flakiness {
  /** The next this many data calls fail. */
  failNext: number;
  failWith: () => unknown;
  /** The next data call takes this long before doing anything. */
  slowNextMs: number;
  /** Data calls that reached the component, by method. */
  calls: Record<string, number>;
}
const flakiness = new Map<string, Flakiness>();

/** A real in-memory component whose data calls fail or stall as its Flakiness says. */
function flaky<B extends Block>(base: string, methods: readonly string[]): CatalogEntry<B> {
  const entry = componentCatalog[base] as CatalogEntry<B>;
  return {
    block: entry.block,
    load: async () => {
      const module = await entry.load();
      return {
        create(options) {
          const component = module.create(options) as unknown as Record<string, unknown>;
          const how = flakiness.get(options.name)!;
          const wrapped: Record<string, unknown> = { ...component };
          for (const method of methods) {
            const original = component[method] as (...args: unknown[]) => Promise<unknown>;
            wrapped[method] = async (...args: unknown[]) => {
              how.calls[method] = (how.calls[method] ?? 0) + 1;
              if (how.slowNextMs) {
                const ms = how.slowNextMs;
                how.slowNextMs = 0;
                await new Promise((resolve) => setTimeout(resolve, ms));
              }
              if (how.failNext > 0) {
                how.failNext--;
                throw how.failWith();
              }
              return original.apply(component, args);
            };
          }
          return wrapped as unknown as BlockComponents[B];
        },
      };
    },
  };
}

const catalog = {
  ...componentCatalog,
  "state.flaky": flaky<"state">("state.in-memory", ["get", "set", "delete", "getBulk", "transaction"]),
  "pubsub.flaky": flaky<"pubsub">("pubsub.in-memory", ["publish"]),
  "bindings.flaky": flaky<"bindings">("bindings.localstorage", ["invoke"]),
};

const connectionReset = () => Object.assign(new Error("connection reset"), { code: "ECONNRESET" });

const runtimes: Runtime[] = [];
afterEach(async () => {
  await Promise.all(runtimes.splice(0).map((r) => r.close()));
});

/**
 * A Runtime with one flaky component and, when given, a Resiliency document whose `spec:` is
 * `body` (`$NAME` stands for the component's fresh name).
 */
async function setup(options: { type?: string; metadata?: Record<string, string>; body?: string; failNext?: number; failWith?: () => unknown } = {}) {
  const name = freshName("flaky");
  const how: Flakiness = { failNext: options.failNext ?? 0, failWith: options.failWith ?? connectionReset, slowNextMs: 0, calls: {} };
  flakiness.set(name, how);
  const metadata = Object.entries(options.metadata ?? {}).map(([key, value]) => ({ name: key, value }));
  const component: ComponentSpec = { name, type: options.type ?? "state.flaky", version: "v1", metadata, scopes: [] };
  const resiliencies = options.body
    ? parseResourcesText(
        `apiVersion: dapr.io/v1alpha1\nkind: Resiliency\nmetadata:\n  name: test\nspec:\n${options.body.replaceAll("$NAME", name)}\n`,
        "resiliency.yaml",
      ).resiliencies
    : undefined;
  const runtime = new Runtime({ appId: "app", components: [component], catalog, baseDir: ".", resiliencies });
  runtimes.push(runtime);
  await runtime.validate();
  return { name, how, runtime };
}

const outbound = (policies: string, target: string) => `  policies:\n${policies}\n  targets:\n    components:\n      $NAME:\n        outbound: ${target}`;
const quickRetries = (maxRetries: number) => `    retries:\n      quick: { policy: constant, duration: 1ms, maxRetries: ${maxRetries} }`;

describe("retries on component calls", () => {
  it("a store that fails twice succeeds under a retry policy", async () => {
    const { name, how, runtime } = await setup({ failNext: 2, body: outbound(quickRetries(3), "{ retry: quick }") });
    const state = await runtime.state(name);
    await expect(state.set("k", "v")).resolves.toHaveProperty("etag");
    expect(how.calls["set"]).toBe(3);
    await expect(state.get("k")).resolves.toMatchObject({ value: "v" });
  });

  it("without a retry policy the first failure reaches the function", async () => {
    const { name, how, runtime } = await setup({ failNext: 2 });
    const error = await (await runtime.state(name)).set("k", "v").catch((e: unknown) => e);
    expect(error).toBeInstanceOf(MechaError);
    expect((error as MechaError).code).toBe(ErrorCodes.stateSave);
    expect(how.calls["set"]).toBe(1);
  });

  it("gives up after maxRetries with the component's own failure", async () => {
    const { name, how, runtime } = await setup({ failNext: 10, body: outbound(quickRetries(2), "{ retry: quick }") });
    const error = await (await runtime.state(name)).get("k").catch((e: unknown) => e);
    expect((error as MechaError).code).toBe(ErrorCodes.stateGet);
    expect((error as MechaError).message).toContain("ECONNRESET");
    expect(how.calls["get"]).toBe(3);
  });

  it("applies a default policy to a component no target names", async () => {
    const { name, how, runtime } = await setup({ failNext: 1, body: `  policies:\n    retries:\n      DefaultStatestoreComponentOutboundRetryPolicy: { duration: 1ms, maxRetries: 1 }` });
    await expect((await runtime.state(name)).delete("k")).resolves.toBeUndefined();
    expect(how.calls["delete"]).toBe(2);
  });

  it("retries a publish", async () => {
    const { name, how, runtime } = await setup({ type: "pubsub.flaky", failNext: 1, body: outbound(quickRetries(2), "{ retry: quick }") });
    await expect(runtime.publish(name, "orders", { id: 1 })).resolves.toBeUndefined();
    expect(how.calls["publish"]).toBe(2);
  });
});

describe("what a retry must not send again", () => {
  it("an etag mismatch is not retried", async () => {
    const { name, how, runtime } = await setup({ body: outbound(quickRetries(3), "{ retry: quick }") });
    const state = await runtime.state(name);
    await state.set("k", 1);
    const error = await state.set("k", 2, { etag: "stale" }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(EtagMismatchError);
    expect(how.calls["set"]).toBe(2);
  });

  it("a get of a binding object that does not exist is not retried: the backend answered", async () => {
    const rootPath = await mkdtemp(join(tmpdir(), "mecha-resiliency-files-"));
    const { name, how, runtime } = await setup({ type: "bindings.flaky", metadata: { rootPath }, body: outbound(quickRetries(3), "{ retry: quick }") });
    const error = await runtime.createContext().binding(name).invoke("get", undefined, { fileName: "missing.txt" }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(NotFoundError);
    expect(how.calls["invoke"]).toBe(1);
    await rm(rootPath, { recursive: true, force: true });
  });

  it("an etag write whose outcome the store could not tell is not sent again", async () => {
    const { name, how, runtime } = await setup({
      body: outbound(quickRetries(3), "{ retry: quick }"),
      failWith: () => Object.assign(new Error("no reply within readTimeout"), { code: "ETIMEDOUT" }),
    });
    const state = await runtime.state(name);
    const { etag } = await state.set("k", 1);
    how.failNext = 1;
    const error = await state.set("k", 2, { etag }).catch((e: unknown) => e);
    expect((error as MechaError).code).toBe(ErrorCodes.stateSave);
    expect(how.calls["set"]).toBe(2);
  });

  it("a write without an etag is sent again after an unknown outcome, since resending cannot change its answer", async () => {
    const { name, how, runtime } = await setup({
      failNext: 1,
      body: outbound(quickRetries(3), "{ retry: quick }"),
      failWith: () => Object.assign(new Error("no reply"), { outcomeUnknown: true }),
    });
    await expect((await runtime.state(name)).set("k", 1)).resolves.toHaveProperty("etag");
    expect(how.calls["set"]).toBe(2);
  });

  it("a first-write insert cut by a timeout is not sent again", async () => {
    const { name, how, runtime } = await setup({
      body: outbound(`${quickRetries(3)}\n    timeouts:\n      short: 30ms`, "{ retry: quick, timeout: short }"),
    });
    how.slowNextMs = 1000;
    const error = await (await runtime.state(name)).set("k", 1, { concurrency: "first-write" }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ResiliencyTimeoutError);
    expect(how.calls["set"]).toBe(1);
  });
});

describe("circuit breakers on component calls", () => {
  const breaker = outbound("    circuitBreakers:\n      cb: { trip: consecutiveFailures >= 3, timeout: 100ms }", "{ circuitBreaker: cb }");

  it("opens after the configured failures: later calls fail fast without reaching the component", async () => {
    const { name, how, runtime } = await setup({ failNext: 100, body: breaker });
    const state = await runtime.state(name);
    for (let i = 0; i < 3; i++) await expect(state.get("k")).rejects.toMatchObject({ code: ErrorCodes.stateGet });
    const error = await state.get("k").catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CircuitOpenError);
    expect((error as CircuitOpenError).code).toBe(ErrorCodes.circuitOpen);
    expect((error as CircuitOpenError).message).toContain(`component "${name}" (outbound)`);
    expect(how.calls["get"]).toBe(3);
  });

  it("closes after its timeout when the trial call succeeds", async () => {
    const { name, how, runtime } = await setup({ failNext: 3, body: breaker });
    const state = await runtime.state(name);
    for (let i = 0; i < 3; i++) await state.get("k").catch(() => undefined);
    await expect(state.get("k")).rejects.toBeInstanceOf(CircuitOpenError);
    const opened = Date.now();
    await waitFor(() => state.set("k", "back").then(() => true), { timeoutMs: 5000, intervalMs: 10, what: "the circuit to close" });
    expect(Date.now() - opened).toBeGreaterThanOrEqual(90);
    const results = await Promise.all([state.get("k"), state.get("k"), state.get("k")]);
    expect(results.map((r) => r?.value)).toEqual(["back", "back", "back"]);
    expect(how.calls["get"]).toBe(6);
  });

  it("opens again when the trial call fails", async () => {
    const { name, how, runtime } = await setup({ failNext: 100, body: breaker });
    const state = await runtime.state(name);
    for (let i = 0; i < 3; i++) await state.get("k").catch(() => undefined);
    const trial = await waitFor(
      () => state.get("k").then(() => undefined, (e: unknown) => (e instanceof CircuitOpenError ? undefined : e)),
      { timeoutMs: 5000, intervalMs: 10, what: "the trial call" },
    );
    expect((trial as MechaError).code).toBe(ErrorCodes.stateGet);
    expect(how.calls["get"]).toBe(4);
    await expect(state.get("k")).rejects.toBeInstanceOf(CircuitOpenError);
  });

  it("does not count a client's mistake toward opening it", async () => {
    const { name, how, runtime } = await setup({ body: breaker });
    const state = await runtime.state(name);
    await state.set("k", 1);
    for (let i = 0; i < 4; i++) await expect(state.set("k", 2, { etag: "stale" })).rejects.toBeInstanceOf(EtagMismatchError);
    await expect(state.get("k")).resolves.toMatchObject({ value: 1 });
    expect(how.calls["set"]).toBe(5);
  });

  it("stops retrying once the breaker opens", async () => {
    const { name, how, runtime } = await setup({
      failNext: 100,
      body: outbound(`${quickRetries(-1)}\n    circuitBreakers:\n      cb: { trip: consecutiveFailures >= 2, timeout: 1m }`, "{ retry: quick, circuitBreaker: cb }"),
    });
    await expect((await runtime.state(name)).get("k")).rejects.toBeInstanceOf(CircuitOpenError);
    expect(how.calls["get"]).toBe(2);
  });

  it("leaves subscribe and close alone while it is open", async () => {
    const { name, runtime } = await setup({
      type: "pubsub.flaky",
      failNext: 100,
      body: outbound("    circuitBreakers:\n      cb: { trip: consecutiveFailures >= 1, timeout: 1m }", "{ circuitBreaker: cb }"),
    });
    await runtime.publish(name, "orders", 1).catch(() => undefined);
    await expect(runtime.publish(name, "orders", 1)).rejects.toBeInstanceOf(CircuitOpenError);
    const pubsub = await runtime.pubsub(name);
    const subscription = await pubsub.subscribe({ topic: "orders", subscription: "s", deliver: async (m) => m.ack() });
    await expect(subscription.close()).resolves.toBeUndefined();
  });
});

describe("timeouts on component calls", () => {
  it("cut a slow call: it rejects with the timeout error within a bounded time", async () => {
    const { name, how, runtime } = await setup({ body: outbound("    timeouts:\n      short: 50ms", "{ timeout: short }") });
    how.slowNextMs = 5000;
    const started = Date.now();
    const error = await (await runtime.state(name)).get("k").catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ResiliencyTimeoutError);
    expect((error as ResiliencyTimeoutError).code).toBe(ErrorCodes.resiliencyTimeout);
    expect((error as ResiliencyTimeoutError).message).toContain('timeout policy "short"');
    expect(Date.now() - started).toBeLessThan(1000);
  });

  it("give each retry its own time: a read cut by the timeout is tried again", async () => {
    const { name, how, runtime } = await setup({
      body: outbound(`${quickRetries(2)}\n    timeouts:\n      short: 50ms`, "{ timeout: short, retry: quick }"),
    });
    await (await runtime.state(name)).set("k", "v");
    how.slowNextMs = 5000;
    await expect((await runtime.state(name)).get("k")).resolves.toMatchObject({ value: "v" });
    expect(how.calls["get"]).toBe(2);
  });
});

describe("the executors the delivery pipeline and service invocation use", () => {
  const resiliency = (body: string) =>
    createResiliency({
      appId: "app",
      specs: parseResourcesText(`apiVersion: dapr.io/v1alpha1\nkind: Resiliency\nmetadata:\n  name: r\nspec:\n${body}\n`, "r.yaml").resiliencies,
    });

  it("an inbound retry runs a failing handler again in-process", async () => {
    const inbound = resiliency(`  policies:\n    retries:\n      DefaultPubsubComponentInboundRetryPolicy: { duration: 1ms, maxRetries: 3 }`).forComponent("bus", "pubsub", "inbound");
    let runs = 0;
    await expect(inbound.execute(async () => (++runs < 3 ? Promise.reject(new Error("handler failed")) : "done"))).resolves.toBe("done");
    expect(runs).toBe(3);
  });

  it("an inbound timeout cuts the handler and aborts its signal", async () => {
    const inbound = resiliency(`  policies:\n    timeouts:\n      DefaultComponentInboundTimeoutPolicy: 30ms`).forComponent("bus", "pubsub", "inbound");
    let seen: AbortSignal | undefined;
    const error = await inbound
      .execute((signal) => {
        seen = signal;
        return new Promise(() => {});
      })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ResiliencyTimeoutError);
    expect(seen?.aborted).toBe(true);
  });

  it("an open inbound breaker refuses without running the handler", async () => {
    const inbound = resiliency(`  policies:\n    circuitBreakers:\n      DefaultCircuitBreakerPolicy: { trip: consecutiveFailures >= 1, timeout: 1m }`).forComponent("bus", "pubsub", "inbound");
    await inbound.execute(async () => Promise.reject(new Error("handler failed"))).catch(() => undefined);
    let ran = false;
    const error = await inbound.execute(async () => (ran = true)).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CircuitOpenError);
    expect(ran).toBe(false);
  });

  it("an app's retry follows `matching`: a listed status is retried, another is not", async () => {
    const app = resiliency(`  policies:\n    retries:\n      DefaultAppRetryPolicy: { duration: 1ms, maxRetries: 2, matching: { httpStatusCodes: "503" } }`).forApp("billing");
    let calls = 0;
    const failWith = (status: number) => () => {
      calls++;
      return Promise.reject(Object.assign(new Error(`status ${status}`), { status }));
    };
    await app.execute(failWith(404)).catch(() => undefined);
    expect(calls).toBe(1);
    calls = 0;
    await app.execute(failWith(503)).catch(() => undefined);
    expect(calls).toBe(3);
  });
});
