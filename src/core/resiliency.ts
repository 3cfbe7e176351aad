/**
 * Dapr resiliency for one app: the Resiliency documents in scope for its id, merged in order (a
 * later document's policy or target of the same name wins, as in Dapr), and one executor per
 * target — a component's calls out (outbound), a component's deliveries to functions (inbound),
 * or a service-invocation app id. Executors are kept, so a circuit breaker's state is shared by
 * every call to its target.
 *
 * Which policies apply follows Dapr (pkg/resiliency/resiliency.go): a target named under
 * `spec.targets` uses exactly the policies it names, and nothing else; a target not named there
 * gets the default policies, each kind (timeout, retry, breaker) resolved on its own from the
 * most specific name to the broadest — for a state store's outbound calls
 * `DefaultStatestoreComponentOutboundRetryPolicy`, then `DefaultComponentOutboundRetryPolicy`,
 * `DefaultComponentRetryPolicy`, `DefaultRetryPolicy`; for an app, `DefaultAppRetryPolicy`, then
 * `DefaultRetryPolicy`.
 */
import { checkResiliencyReferences, validateResiliencies } from "../config/parse-resiliency.ts";
import type { CircuitBreakerSpec, ResiliencyPolicyNames, ResiliencySpec, RetryPolicySpec } from "../config/types.ts";
import type { Block } from "../components/types.ts";
import type { ResiliencyTarget } from "../errors.ts";
import { silentLogger, type Logger } from "./logger.ts";
import { passThrough, PolicyExecutor, type ExecuteOptions, type PolicyTools, type ResiliencyExecutor, type ResolvedPolicies } from "./resiliency-policy.ts";

export { passThrough, type ExecuteOptions, type ResiliencyExecutor, type ResolvedPolicies } from "./resiliency-policy.ts";
export { withOutboundPolicy } from "./resiliency-outbound.ts";

export type ResiliencyDirection = "outbound" | "inbound";

export interface ResiliencyOptions {
  appId: string;
  /** Every Resiliency document of the resources; those scoped to other apps are ignored. */
  specs?: readonly ResiliencySpec[];
  /** Where breakers report opening and closing. */
  logger?: Logger;
}

/** The resiliency of one app: executors by target. */
export interface Resiliency {
  /** False when no Resiliency document applies to the app: every executor is the pass-through. */
  readonly active: boolean;
  /**
   * The executor for a component's calls: `outbound` wraps the calls the app makes to it,
   * `inbound` wraps the deliveries it makes to functions (pub/sub messages, input binding events).
   * @example
   * const inbound = resiliency.forComponent("orderbus", "pubsub", "inbound");
   * await inbound.execute((signal) => handler(event, signal));
   */
  forComponent(name: string, block: Block, direction: ResiliencyDirection): ResiliencyExecutor;
  /** The executor for service invocation of `appId`. */
  forApp(appId: string): ResiliencyExecutor;
  /**
   * Loads cockatiel and checks every circuit breaker's `trip` (CEL), so that a bad expression fails
   * at startup rather than on the first call. Executors also do it on their first call.
   * @throws ComponentConfigError naming the file, the resiliency and the `trip` field
   */
  validate(): Promise<void>;
  /** True once {@link stop} was called. */
  readonly stopped: boolean;
  /**
   * The app is stopping: no further attempt starts and waits between attempts end, so a retry loop
   * (Dapr's default `maxRetries: -1` retries forever) never holds up shutdown. A call in flight ends
   * with the failure it has; a subscription's message then stays unacked, for redelivery.
   */
  stop(): void;
}

/** Dapr's component type names in default policy names (`Default<Type>ComponentOutbound…`). */
const daprComponentTypes: Readonly<Record<string, string>> = {
  state: "Statestore",
  pubsub: "Pubsub",
  bindings: "Binding",
  secretstores: "Secretstore",
  lock: "Lock",
};

/**
 * Builds an app's resiliency from the resources' Resiliency documents.
 * @throws ComponentConfigError when a target names a policy that no document in scope defines
 * @example
 * const resiliency = createResiliency({ appId: "orders", specs: resources.resiliencies });
 * await resiliency.validate();
 */
export function createResiliency(options: ResiliencyOptions): Resiliency {
  const { appId } = options;
  const specs = (options.specs ?? []).filter((s) => s.scopes.length === 0 || s.scopes.includes(appId));
  checkResiliencyReferences(specs, appId);
  const merged = merge(specs);
  const logger = options.logger ?? silentLogger;
  const executors = new Map<string, ResiliencyExecutor>();
  let tools: Promise<PolicyTools> | undefined;
  // Made on first use: workerd refuses a Worker that creates an AbortController while it loads.
  let stopping: AbortController | undefined;
  const stopped = () => (stopping ??= new AbortController()).signal;
  const loadTools = () =>
    (tools ??= Promise.all([import("cockatiel"), validateResiliencies(specs)]).then(([cockatiel, trips]) => ({ cockatiel, trips, logger, stopped: stopped() })));

  const executor = (key: string, resolve: () => ResolvedPolicies | undefined, defaults?: (p: ResolvedPolicies) => ExecuteOptions): ResiliencyExecutor => {
    let found = executors.get(key);
    if (!found) {
      const policies = resolve();
      found = policies ? new PolicyExecutor(policies, loadTools, defaults?.(policies)) : passThrough;
      executors.set(key, found);
    }
    return found;
  };

  const active = merged.hasPolicies;
  return {
    active,
    forComponent(name, block, direction) {
      const type = daprComponentTypes[block];
      if (!active || !type) return passThrough;
      return executor(`component\0${direction}\0${name}`, () => {
        const target = merged.components.get(name);
        const suffix = direction === "outbound" ? "Outbound" : "Inbound";
        const names = target ? target[direction] : merged.defaults([`${type}Component${suffix}`, `Component${suffix}`, "Component"]);
        return merged.resolve({ kind: "component", name, direction }, names);
      });
    },
    forApp(target) {
      if (!active) return passThrough;
      return executor(
        `app\0${target}`,
        () => merged.resolve({ kind: "app", name: target }, merged.apps.get(target) ?? merged.defaults(["App"])),
        // A retry policy's `matching` picks which of the callee's status codes are retried.
        (policies) => ({ retryable: (error) => matchesRetryStatus(policies.retry?.spec.matching, error) }),
      );
    },
    async validate() {
      if (active) await loadTools();
    },
    get stopped() {
      return stopping?.signal.aborted ?? false;
    },
    stop() {
      stopped();
      stopping!.abort(new Error("the app is stopping"));
    },
  };
}

type Kind = keyof ResiliencyPolicyNames;
const templates: Record<Kind, (level: string) => string> = {
  timeout: (level) => `Default${level}TimeoutPolicy`,
  retry: (level) => `Default${level}RetryPolicy`,
  circuitBreaker: (level) => `Default${level}CircuitBreakerPolicy`,
};

/** The documents in scope as one, later documents overriding earlier ones name by name. */
function merge(specs: readonly ResiliencySpec[]) {
  const timeouts = new Map<string, number>();
  const retries = new Map<string, RetryPolicySpec>();
  const breakers = new Map<string, CircuitBreakerSpec>();
  const apps = new Map<string, ResiliencyPolicyNames>();
  const components = new Map<string, ResiliencySpec["targets"]["components"][string]>();
  for (const spec of specs) {
    for (const [name, ms] of Object.entries(spec.policies.timeouts)) timeouts.set(name, ms);
    for (const [name, retry] of Object.entries(spec.policies.retries)) retries.set(name, retry);
    for (const [name, breaker] of Object.entries(spec.policies.circuitBreakers)) breakers.set(name, breaker);
    for (const [name, target] of Object.entries(spec.targets.apps)) apps.set(name, target);
    for (const [name, target] of Object.entries(spec.targets.components)) components.set(name, target);
  }
  const defined: Record<Kind, ReadonlyMap<string, unknown>> = { timeout: timeouts, retry: retries, circuitBreaker: breakers };

  return {
    hasPolicies: timeouts.size + retries.size + breakers.size > 0,
    apps,
    components,
    /** Each kind's most specific default policy that is defined, trying `levels` and then the top level. */
    defaults(levels: readonly string[]): ResiliencyPolicyNames {
      const names: ResiliencyPolicyNames = {};
      for (const kind of Object.keys(templates) as Kind[]) {
        const name = [...levels, ""].map(templates[kind]).find((candidate) => defined[kind].has(candidate));
        if (name !== undefined) names[kind] = name;
      }
      return names;
    },
    /** The policies behind the names; undefined when none does anything (so the target costs nothing). */
    resolve(target: ResiliencyTarget, names: ResiliencyPolicyNames): ResolvedPolicies | undefined {
      const policies: ResolvedPolicies = { target };
      const ms = names.timeout === undefined ? undefined : timeouts.get(names.timeout);
      // As in Dapr, a zero timeout is no timeout and zero retries are no retry policy.
      if (ms) policies.timeout = { name: names.timeout!, ms };
      const retry = names.retry === undefined ? undefined : retries.get(names.retry);
      if (retry && retry.maxRetries !== 0) policies.retry = { name: names.retry!, spec: retry };
      const breaker = names.circuitBreaker === undefined ? undefined : breakers.get(names.circuitBreaker);
      if (breaker) policies.circuitBreaker = { name: names.circuitBreaker!, spec: breaker };
      return policies.timeout || policies.retry || policies.circuitBreaker ? policies : undefined;
    },
  };
}

/**
 * Whether an error carries one of the HTTP or gRPC status codes a retry policy's `matching`
 * lists (an error with no `status`/`statusCode` always matches). For service invocation, whose
 * failures carry the callee's status.
 */
export function matchesRetryStatus(matching: RetryPolicySpec["matching"], error: unknown): boolean {
  if (!matching) return true;
  const raw = (error as { status?: unknown; statusCode?: unknown } | null)?.status ?? (error as { statusCode?: unknown } | null)?.statusCode;
  const status = typeof raw === "string" ? Number(raw) : raw;
  if (typeof status !== "number" || !Number.isInteger(status)) return true;
  const ranges = status >= 100 ? matching.httpStatusCodes : matching.gRPCStatusCodes;
  return !ranges || ranges.some(([from, to]) => status >= from && status <= to);
}
