import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { loadResources, parseResourcesText } from "../../src/config/load.ts";
import { parseDurationMs, parseGoDurationMs } from "../../src/config/metadata.ts";
import { ComponentConfigError, ErrorCodes } from "../../src/errors.ts";
import { configErrorFrom } from "../support/config-error.ts";
import { rejectionOf } from "../support/rejection.ts";

const file = "components/local/resiliency.yaml";

/** A Resiliency document; `body` is the YAML under `spec:` (indented by two). */
const resiliency = (body: string, name = "policies", extra = ""): string =>
  `apiVersion: dapr.io/v1alpha1\nkind: Resiliency\nmetadata:\n  name: ${name}\n${extra}spec:\n${body}\n`;

const parse = (text: string) => parseResourcesText(text, file);
const parseError = (text: string) => configErrorFrom(() => parse(text));

function expectNames(error: ComponentConfigError, field: string, name = "policies"): void {
  expect(error.code).toBe(ErrorCodes.componentConfig);
  expect(error.file).toBe(file);
  expect(error.field).toBe(field);
  expect(error.message).toContain(file);
  expect(error.message).toContain(`field "${field}"`);
  expect(error.message).toContain(`resiliency "${name}"`);
}

describe("parsing a Resiliency document", () => {
  it("reads policies and targets into plain data", () => {
    const { resiliencies } = parse(
      resiliency(
        `  policies:
    timeouts:
      general: 5s
      quick: 1m30s
      tiny: "250"
    retries:
      steady:
        policy: constant
        duration: 500ms
        maxRetries: 3
      growing:
        policy: Exponential
        maxInterval: 15s
        matching:
          httpStatusCodes: "429,500-599"
          gRPCStatusCodes: "14"
    circuitBreakers:
      simpleCB:
        maxRequests: 2
        interval: 8s
        timeout: 45s
        trip: consecutiveFailures >= 5
  targets:
    apps:
      billing: { timeout: general, retry: growing, circuitBreaker: simpleCB, circuitBreakerCacheSize: 50 }
    components:
      orders:
        outbound: { timeout: quick, retry: steady }
        inbound: { retry: steady }`,
        "policies",
        "scopes: [checkout]\n",
      ),
    );
    expect(JSON.parse(JSON.stringify(resiliencies))).toEqual([
      {
        name: "policies",
        scopes: ["checkout"],
        policies: {
          timeouts: { general: 5000, quick: 90_000, tiny: 250 },
          retries: {
            steady: { policy: "constant", durationMs: 500, maxIntervalMs: 60_000, maxRetries: 3 },
            growing: {
              policy: "exponential",
              durationMs: 5000,
              maxIntervalMs: 15_000,
              maxRetries: -1,
              matching: { httpStatusCodes: [[429, 429], [500, 599]], gRPCStatusCodes: [[14, 14]] },
            },
          },
          circuitBreakers: { simpleCB: { maxRequests: 2, intervalMs: 8000, timeoutMs: 45_000, trip: "consecutiveFailures >= 5" } },
        },
        targets: {
          apps: { billing: { timeout: "general", retry: "growing", circuitBreaker: "simpleCB" } },
          components: { orders: { outbound: { timeout: "quick", retry: "steady" }, inbound: { retry: "steady" } } },
        },
        file,
      },
    ]);
  });

  it("fills in Dapr's defaults for fields left out", () => {
    const { resiliencies } = parse(resiliency(`  policies:\n    retries:\n      plain: {}\n    circuitBreakers:\n      cb: {}`));
    expect(resiliencies![0]!.policies.retries["plain"]).toEqual({ policy: "constant", durationMs: 5000, maxIntervalMs: 60_000, maxRetries: -1 });
    expect(resiliencies![0]!.policies.circuitBreakers["cb"]).toEqual({ maxRequests: 1, intervalMs: 0, timeoutMs: 60_000, trip: "consecutiveFailures > 5" });
  });

  it("reads a file of components and a resiliency, and leaves resiliencies out of a file without one", () => {
    const component = "apiVersion: dapr.io/v1alpha1\nkind: Component\nmetadata:\n  name: orders\nspec:\n  type: state.in-memory\n  version: v1\n";
    expect(parse(`${component}---\n${resiliency("  policies: {}")}`).resiliencies).toHaveLength(1);
    expect(parse(component)).not.toHaveProperty("resiliencies");
  });

  it.each([
    ["1h30m", 5_400_000],
    ["1.5s", 1500],
    ["300ms", 300],
    ["2m", 120_000],
    ["1500us", 1.5],
    ["0", 0],
    ["250", 250],
    ["-2s", -2000],
  ])("reads the Go duration %s as %d ms", (text, ms) => {
    expect(parseGoDurationMs(text)).toBe(ms);
  });

  it.each(["", "s", "5 s", "5sec", "1d", "1.s2"])("rejects %j as a Go duration", (text) => {
    expect(parseGoDurationMs(text)).toBeUndefined();
  });

  it("reads component metadata durations with the same grammar, but never a negative one", () => {
    expect([" 1m30s ", "250", "1500us"].map(parseDurationMs)).toEqual([90_000, 250, 1.5]);
    expect(parseDurationMs("-2s")).toBeUndefined();
  });
});

describe("mistakes in a Resiliency document name the file, the resiliency and the field", () => {
  it("rejects another apiVersion", () => {
    const error = parseError(resiliency("  policies: {}").replace("dapr.io/v1alpha1", "dapr.io/v2"));
    expect(error.field).toBe("apiVersion");
    expect(error.message).toContain('"dapr.io/v1alpha1"');
  });

  it("requires spec", () => {
    const error = parseError("apiVersion: dapr.io/v1alpha1\nkind: Resiliency\nmetadata:\n  name: policies\n");
    expectNames(error, "spec");
  });

  it("rejects a duration that is not one", () => {
    const error = parseError(resiliency("  policies:\n    timeouts:\n      general: 5 seconds"));
    expectNames(error, "spec.policies.timeouts.general");
    expect(error.message).toContain('"5 seconds"');
  });

  it("rejects a negative duration", () => {
    expectNames(parseError(resiliency("  policies:\n    retries:\n      r: { duration: -1s }")), "spec.policies.retries.r.duration");
  });

  it("rejects a retry policy kind Dapr does not have", () => {
    const error = parseError(resiliency("  policies:\n    retries:\n      r: { policy: linear }"));
    expectNames(error, "spec.policies.retries.r.policy");
    expect(error.message).toContain('"constant" or "exponential"');
  });

  it("rejects maxRetries below -1", () => {
    expectNames(parseError(resiliency("  policies:\n    retries:\n      r: { maxRetries: -2 }")), "spec.policies.retries.r.maxRetries");
  });

  it("rejects a misspelt field rather than ignore the policy it belongs to", () => {
    const error = parseError(resiliency("  policies:\n    retries:\n      r: { maxRetry: 3 }"));
    expectNames(error, "spec.policies.retries.r.maxRetry");
    expect(error.message).toContain("maxRetries");
  });

  it("rejects a status code outside its range", () => {
    const error = parseError(resiliency('  policies:\n    retries:\n      r:\n        matching: { httpStatusCodes: "500-700" }'));
    expectNames(error, "spec.policies.retries.r.matching.httpStatusCodes");
  });

  it("rejects a default policy name with a typo, suggesting the right one", () => {
    const error = parseError(resiliency("  policies:\n    retries:\n      DefaultStateStoreComponentOutboundRetryPolicy: {}"));
    expectNames(error, "spec.policies.retries.DefaultStateStoreComponentOutboundRetryPolicy");
    expect(error.message).toContain("DefaultStatestoreComponentOutboundRetryPolicy");
  });

  it("rejects a default policy defined under another kind's section", () => {
    const error = parseError(resiliency("  policies:\n    timeouts:\n      DefaultRetryPolicy: 5s"));
    expectNames(error, "spec.policies.timeouts.DefaultRetryPolicy");
    expect(error.message).toContain("spec.policies.retries");
  });

  it("rejects a component target direction Dapr does not have", () => {
    const error = parseError(resiliency("  targets:\n    components:\n      orders:\n        output: { retry: r }"));
    expectNames(error, "spec.targets.components.orders.output");
  });
});

describe("loading a folder checks what needs every document, or the CEL engine", () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), "mecha-resiliency-"));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });
  const rejection = (promise: Promise<unknown>) => rejectionOf<ComponentConfigError>(promise);
  const shown = (name: string) => {
    const rel = relative(process.cwd(), join(dir, name));
    return rel && !rel.startsWith("..") ? rel : join(dir, name);
  };

  it("rejects a target naming a policy that no document defines", async () => {
    await writeFile(join(dir, "a.yaml"), resiliency("  policies:\n    retries:\n      steady: {}\n  targets:\n    components:\n      orders:\n        outbound: { retry: stedy }"));
    const error = await rejection(loadResources(dir));
    expect(error).toBeInstanceOf(ComponentConfigError);
    expect(error.file).toBe(shown("a.yaml"));
    expect(error.field).toBe("spec.targets.components.orders.outbound.retry");
    expect(error.message).toContain('"stedy"');
    expect(error.message).toContain('"steady"');
    expect(error.message).toContain('resiliency "policies"');
  });

  it("accepts a target using a policy from another file", async () => {
    await writeFile(join(dir, "a.yaml"), resiliency("  targets:\n    apps:\n      billing: { timeout: general }", "targets"));
    await writeFile(join(dir, "b.yaml"), resiliency("  policies:\n    timeouts:\n      general: 2s", "policies"));
    const { resiliencies } = await loadResources(dir);
    expect(resiliencies!.map((r) => r.name)).toEqual(["targets", "policies"]);
  });

  it("rejects a policy that only a document scoped to other apps defines", async () => {
    await writeFile(join(dir, "a.yaml"), resiliency("  targets:\n    apps:\n      billing: { timeout: general }", "targets"));
    await writeFile(join(dir, "b.yaml"), resiliency("  policies:\n    timeouts:\n      general: 2s", "policies", "scopes: [checkout]\n"));
    const error = await rejection(loadResources(dir));
    expect(error.field).toBe("spec.targets.apps.billing.timeout");
    expect(error.file).toBe(shown("a.yaml"));
  });

  it("rejects a trip that is not CEL", async () => {
    await writeFile(join(dir, "a.yaml"), resiliency("  policies:\n    circuitBreakers:\n      cb: { trip: 'consecutiveFailures >=' }"));
    const error = await rejection(loadResources(dir));
    expect(error.field).toBe("spec.policies.circuitBreakers.cb.trip");
    expect(error.message).toContain("not valid CEL");
    expect(error.message).toContain('resiliency "policies"');
  });

  it("rejects a trip over a count Dapr does not keep", async () => {
    await writeFile(join(dir, "a.yaml"), resiliency("  policies:\n    circuitBreakers:\n      cb: { trip: 'failures > 3' }"));
    const error = await rejection(loadResources(dir));
    expect(error.field).toBe("spec.policies.circuitBreakers.cb.trip");
    expect(error.message).toContain("consecutiveFailures");
  });

  it("rejects a trip that is not a condition", async () => {
    await writeFile(join(dir, "a.yaml"), resiliency("  policies:\n    circuitBreakers:\n      cb: { trip: 'consecutiveFailures + 1' }"));
    const error = await rejection(loadResources(dir));
    expect(error.message).toContain("not a boolean");
  });

  it("accepts a trip combining Dapr's counts", async () => {
    await writeFile(join(dir, "a.yaml"), resiliency("  policies:\n    circuitBreakers:\n      cb: { trip: 'consecutiveFailures > 3 || (requests > 10 && totalFailures * 2 > requests)' }"));
    await expect(loadResources(dir)).resolves.toHaveProperty("resiliencies");
  });
});
