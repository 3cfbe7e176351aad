import { describe, expect, it } from "vitest";
import { parseResourcesText } from "../../src/config/load.ts";
import type { ResiliencySpec } from "../../src/config/types.ts";
import { createResiliency, passThrough, withOutboundPolicy } from "../../src/core/resiliency.ts";
import { ComponentConfigError } from "../../src/errors.ts";
import { configErrorFrom } from "../support/config-error.ts";

/** Resiliency documents from YAML `spec:` bodies (each with optional scopes). */
function specs(...documents: Array<{ body: string; scopes?: string[]; name?: string }>): ResiliencySpec[] {
  return documents.flatMap(({ body, scopes, name }, i) => {
    const scopeLine = scopes ? `scopes: [${scopes.join(", ")}]\n` : "";
    const text = `apiVersion: dapr.io/v1alpha1\nkind: Resiliency\nmetadata:\n  name: ${name ?? `doc${i}`}\n${scopeLine}spec:\n${body}\n`;
    return parseResourcesText(text, `resiliency-${i}.yaml`).resiliencies ?? [];
  });
}

/** `retries:` entries named as given, each a distinct constant policy. */
const retries = (...names: string[]) => `    retries:\n${names.map((n) => `      ${n}: { duration: 1ms, maxRetries: 1 }`).join("\n")}`;

const policiesOf = (resiliency: ReturnType<typeof createResiliency>, executor = resiliency.forComponent("orders", "state", "outbound")) => ({
  timeout: executor.policies?.timeout?.name,
  retry: executor.policies?.retry?.name,
  circuitBreaker: executor.policies?.circuitBreaker?.name,
});

describe("Dapr's default policies, most specific first", () => {
  const stateOutbound = [
    "DefaultStatestoreComponentOutboundRetryPolicy",
    "DefaultComponentOutboundRetryPolicy",
    "DefaultComponentRetryPolicy",
    "DefaultRetryPolicy",
  ];

  it.each(stateOutbound.map((name, i) => [name, stateOutbound.slice(i)] as const))(
    "a state store's outbound calls use %s when it is the most specific one defined",
    (expected, defined) => {
      const resiliency = createResiliency({ appId: "app", specs: specs({ body: `  policies:\n${retries(...defined)}` }) });
      expect(policiesOf(resiliency).retry).toBe(expected);
    },
  );

  it("a pub/sub's deliveries use the inbound defaults, and its publishes the outbound ones", () => {
    const resiliency = createResiliency({
      appId: "app",
      specs: specs({ body: `  policies:\n${retries("DefaultPubsubComponentInboundRetryPolicy", "DefaultComponentOutboundRetryPolicy", "DefaultComponentInboundRetryPolicy")}` }),
    });
    expect(resiliency.forComponent("bus", "pubsub", "inbound").policies?.retry?.name).toBe("DefaultPubsubComponentInboundRetryPolicy");
    expect(resiliency.forComponent("bus", "pubsub", "outbound").policies?.retry?.name).toBe("DefaultComponentOutboundRetryPolicy");
    expect(resiliency.forComponent("orders", "state", "inbound").policies?.retry?.name).toBe("DefaultComponentInboundRetryPolicy");
  });

  it("names each block the way Dapr does", () => {
    const resiliency = createResiliency({
      appId: "app",
      specs: specs({
        body: `  policies:\n${retries(
          "DefaultBindingComponentOutboundRetryPolicy",
          "DefaultSecretstoreComponentOutboundRetryPolicy",
          "DefaultLockComponentOutboundRetryPolicy",
          "DefaultBindingComponentInboundRetryPolicy",
        )}`,
      }),
    });
    expect(resiliency.forComponent("b", "bindings", "outbound").policies?.retry?.name).toBe("DefaultBindingComponentOutboundRetryPolicy");
    expect(resiliency.forComponent("b", "bindings", "inbound").policies?.retry?.name).toBe("DefaultBindingComponentInboundRetryPolicy");
    expect(resiliency.forComponent("s", "secretstores", "outbound").policies?.retry?.name).toBe("DefaultSecretstoreComponentOutboundRetryPolicy");
    expect(resiliency.forComponent("l", "lock", "outbound").policies?.retry?.name).toBe("DefaultLockComponentOutboundRetryPolicy");
  });

  it("resolves each kind of policy on its own", () => {
    const resiliency = createResiliency({
      appId: "app",
      specs: specs({
        body: `  policies:\n    timeouts:\n      DefaultTimeoutPolicy: 3s\n${retries("DefaultComponentRetryPolicy")}\n    circuitBreakers:\n      DefaultStatestoreComponentOutboundCircuitBreakerPolicy: {}`,
      }),
    });
    expect(policiesOf(resiliency)).toEqual({
      timeout: "DefaultTimeoutPolicy",
      retry: "DefaultComponentRetryPolicy",
      circuitBreaker: "DefaultStatestoreComponentOutboundCircuitBreakerPolicy",
    });
  });

  it("service invocation uses DefaultAppRetryPolicy before DefaultRetryPolicy, and never the component defaults", () => {
    const resiliency = createResiliency({
      appId: "app",
      specs: specs({ body: `  policies:\n${retries("DefaultAppRetryPolicy", "DefaultRetryPolicy", "DefaultComponentRetryPolicy")}\n    timeouts:\n      DefaultComponentTimeoutPolicy: 1s` }),
    });
    expect(policiesOf(resiliency, resiliency.forApp("billing"))).toEqual({ timeout: undefined, retry: "DefaultAppRetryPolicy", circuitBreaker: undefined });
  });
});

describe("named targets", () => {
  it("a component named as a target uses exactly its named policies, and no default for any kind or direction", () => {
    const resiliency = createResiliency({
      appId: "app",
      specs: specs({
        body: `  policies:\n    timeouts:\n      DefaultTimeoutPolicy: 3s\n${retries("steady", "DefaultRetryPolicy")}\n  targets:\n    components:\n      orders:\n        outbound: { retry: steady }`,
      }),
    });
    expect(policiesOf(resiliency)).toEqual({ timeout: undefined, retry: "steady", circuitBreaker: undefined });
    expect(resiliency.forComponent("orders", "state", "inbound")).toBe(passThrough);
    expect(policiesOf(resiliency, resiliency.forComponent("other", "state", "outbound"))).toEqual({
      timeout: "DefaultTimeoutPolicy",
      retry: "DefaultRetryPolicy",
      circuitBreaker: undefined,
    });
  });

  it("an app named as a target uses its named policies", () => {
    const resiliency = createResiliency({
      appId: "app",
      specs: specs({ body: `  policies:\n${retries("steady", "DefaultAppRetryPolicy")}\n  targets:\n    apps:\n      billing: { retry: steady }` }),
    });
    expect(resiliency.forApp("billing").policies?.retry?.name).toBe("steady");
    expect(resiliency.forApp("shipping").policies?.retry?.name).toBe("DefaultAppRetryPolicy");
  });

  it("the same target gets the same executor, so a breaker's state is shared by every call", () => {
    const resiliency = createResiliency({ appId: "app", specs: specs({ body: `  policies:\n${retries("DefaultRetryPolicy")}` }) });
    expect(resiliency.forComponent("orders", "state", "outbound")).toBe(resiliency.forComponent("orders", "state", "outbound"));
    expect(resiliency.forComponent("orders", "state", "outbound")).not.toBe(resiliency.forComponent("orders", "state", "inbound"));
  });
});

describe("documents and scopes", () => {
  it("ignores documents scoped to other apps", () => {
    const resiliency = createResiliency({ appId: "app", specs: specs({ body: `  policies:\n${retries("DefaultRetryPolicy")}`, scopes: ["other"] }) });
    expect(resiliency.active).toBe(false);
    expect(resiliency.forComponent("orders", "state", "outbound")).toBe(passThrough);
  });

  it("applies documents scoped to this app", () => {
    const resiliency = createResiliency({ appId: "app", specs: specs({ body: `  policies:\n${retries("DefaultRetryPolicy")}`, scopes: ["other", "app"] }) });
    expect(resiliency.forComponent("orders", "state", "outbound").policies?.retry?.name).toBe("DefaultRetryPolicy");
  });

  it("lets a later document redefine a policy of the same name", () => {
    const resiliency = createResiliency({
      appId: "app",
      specs: specs({ body: "  policies:\n    timeouts:\n      DefaultTimeoutPolicy: 3s" }, { body: "  policies:\n    timeouts:\n      DefaultTimeoutPolicy: 7s" }),
    });
    expect(resiliency.forComponent("orders", "state", "outbound").policies?.timeout).toEqual({ name: "DefaultTimeoutPolicy", ms: 7000 });
  });

  it("treats a zero timeout and zero retries as no policy, as Dapr does", () => {
    const resiliency = createResiliency({
      appId: "app",
      specs: specs({ body: "  policies:\n    timeouts:\n      DefaultTimeoutPolicy: 0s\n    retries:\n      DefaultRetryPolicy: { maxRetries: 0 }" }),
    });
    expect(resiliency.forComponent("orders", "state", "outbound")).toBe(passThrough);
  });

  it("refuses at startup a target whose policy is defined only for other apps", () => {
    const error = configErrorFrom(() =>
      createResiliency({
        appId: "app",
        specs: specs(
          { body: "  targets:\n    apps:\n      billing: { retry: steady }", name: "targets" },
          { body: `  policies:\n${retries("steady")}`, scopes: ["other"] },
        ),
      }),
    );
    expect(error).toBeInstanceOf(ComponentConfigError);
    expect(error.field).toBe("spec.targets.apps.billing.retry");
    expect(error.message).toContain('to app "app"');
  });
});

describe("no policy, no cost", () => {
  it("hands out the pass-through when no Resiliency applies", () => {
    const resiliency = createResiliency({ appId: "app" });
    expect(resiliency.forComponent("orders", "state", "outbound")).toBe(passThrough);
    expect(resiliency.forApp("billing")).toBe(passThrough);
  });

  it("leaves a component as it is under the pass-through", () => {
    const component = { type: "state.x", features: [], get: async () => undefined, set: async () => ({ etag: "1" }), delete: async () => {}, close: async () => {} };
    expect(withOutboundPolicy(component, "state", passThrough)).toBe(component);
  });

  it("runs a call under the pass-through with a signal that never aborts", async () => {
    await expect(passThrough.execute(async (signal) => signal.aborted)).resolves.toBe(false);
  });
});
