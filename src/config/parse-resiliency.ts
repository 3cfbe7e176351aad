/**
 * A Dapr `Resiliency` document → `ResiliencySpec`: named timeouts, retries and circuit breakers,
 * and the targets (apps, components) that use them. Everything but the circuit breakers' `trip`
 * expressions is checked here, synchronously; the trips are CEL, whose parser is loaded only when
 * a breaker exists, so they are checked by the async {@link validateResiliencies} that the loader
 * (and the Runtime's `validate()`) awaits. Unknown fields are errors: a misspelt `maxRetry` would
 * otherwise switch a policy off without a word.
 */
import { loadCelEngine } from "../core/cel.ts";
import { parseGoDurationMs } from "./metadata.ts";
import { ComponentConfigError } from "../errors.ts";
import { describe, isMapping, type ResourceDocument, type YamlMapping } from "./resource-document.ts";
import type { CircuitBreakerSpec, ResiliencyPolicyNames, ResiliencySpec, RetryPolicySpec } from "./types.ts";

export const resiliencyApiVersion = "dapr.io/v1alpha1";

/** gobreaker's own rule when Dapr's `trip` is unset. */
export const defaultTrip = "consecutiveFailures > 5";

/** The counts a `trip` expression reads, as Dapr names them. */
export const tripVariables = ["requests", "totalSuccesses", "totalFailures", "consecutiveSuccesses", "consecutiveFailures"] as const;

const policyKinds = ["Retry", "Timeout", "CircuitBreaker"] as const;
const componentTypes = ["Statestore", "Pubsub", "Binding", "Secretstore", "Configuration", "Lock", "Crypto"];
/** Every `Default…Policy` level Dapr resolves (pkg/resiliency/resiliency.go `getPolicyLevels`). */
const defaultLevels = [
  "",
  "App",
  "Actor",
  "Component",
  "ComponentInbound",
  "ComponentOutbound",
  ...componentTypes.flatMap((type) => [`${type}ComponentInbound`, `${type}ComponentOutbound`]),
];

/**
 * Validates a Resiliency document and returns its spec.
 * @throws ComponentConfigError naming the file, the resiliency and the field
 */
export function parseResiliency(doc: ResourceDocument): ResiliencySpec {
  const name = doc.name("resiliency");
  const spec = doc.optionalMapping("spec");
  if (!spec) throw doc.error("spec", "is required: a resiliency needs spec.policies and spec.targets");
  const read = new Reader(doc);
  read.onlyKeys(spec, "spec", ["policies", "targets"]);
  const policies = read.mapping(spec["policies"], "spec.policies") ?? {};
  read.onlyKeys(policies, "spec.policies", ["timeouts", "retries", "circuitBreakers"]);
  const targets = read.mapping(spec["targets"], "spec.targets") ?? {};
  // Dapr's actors target has nothing to act on in mecha; it is accepted so a Dapr file loads.
  read.onlyKeys(targets, "spec.targets", ["apps", "components", "actors"]);

  const timeouts = read.entries(policies["timeouts"], "spec.policies.timeouts", (value, field) => read.duration(value, field));
  const retries = read.entries(policies["retries"], "spec.policies.retries", (value, field) => read.retry(value, field));
  const circuitBreakers = read.entries(policies["circuitBreakers"], "spec.policies.circuitBreakers", (value, field) =>
    read.breaker(value, field),
  );
  checkDefaultNames(doc, "Timeout", Object.keys(timeouts), "spec.policies.timeouts");
  checkDefaultNames(doc, "Retry", Object.keys(retries), "spec.policies.retries");
  checkDefaultNames(doc, "CircuitBreaker", Object.keys(circuitBreakers), "spec.policies.circuitBreakers");

  const apps = read.entries(targets["apps"], "spec.targets.apps", (value, field) =>
    read.policyNames(value, field, ["circuitBreakerCacheSize"]),
  );
  const components = read.entries(targets["components"], "spec.targets.components", (value, field) => {
    const target = read.mapping(value, field) ?? {};
    read.onlyKeys(target, field, ["outbound", "inbound"]);
    return {
      outbound: read.policyNames(target["outbound"], `${field}.outbound`),
      inbound: read.policyNames(target["inbound"], `${field}.inbound`),
    };
  });
  return {
    name,
    scopes: doc.stringList("scopes"),
    policies: { timeouts, retries, circuitBreakers },
    targets: { apps, components },
    file: doc.file,
  };
}

/** Typed reads of one document's nested mappings, failing with the document's error. */
class Reader {
  constructor(readonly doc: ResourceDocument) {}

  mapping(value: unknown, field: string): YamlMapping | undefined {
    if (value === undefined || value === null) return undefined;
    if (!isMapping(value)) throw this.doc.error(field, `must be a mapping, got ${describe(value)}`);
    return value;
  }

  onlyKeys(mapping: YamlMapping, field: string, known: readonly string[]): void {
    for (const key of Object.keys(mapping)) {
      if (!known.includes(key)) {
        throw this.doc.error(`${field}.${key}`, `is not a field of ${field}; known fields: ${known.join(", ")}`);
      }
    }
  }

  /** A mapping of user-chosen names, each value read by `read`. */
  entries<T>(value: unknown, field: string, read: (value: unknown, field: string) => T): Record<string, T> {
    const mapping = this.mapping(value, field) ?? {};
    return Object.fromEntries(
      Object.entries(mapping).map(([name, item]) => {
        // A bundle embeds these records as object literals, where "__proto__" would set the prototype.
        if (name === "" || name === "__proto__") throw this.doc.error(`${field}.${name}`, `"${name}" cannot be used as a name`);
        return [name, read(item, `${field}.${name}`)];
      }),
    );
  }

  /** A Go duration (`500ms`, `1m30s`) or a whole number of milliseconds, as Dapr reads both. */
  duration(value: unknown, field: string, fallback?: number): number {
    if ((value === undefined || value === null || value === "") && fallback !== undefined) return fallback;
    const text = typeof value === "number" ? String(value) : value;
    const ms = typeof text === "string" ? parseGoDurationMs(text.trim()) : undefined;
    if (ms === undefined) {
      const got = typeof value === "string" ? `"${value}"` : describe(value);
      throw this.doc.error(field, `must be a duration such as "500ms", "5s" or "1m30s" (or a whole number of milliseconds), got ${got}`);
    }
    if (ms < 0) throw this.doc.error(field, `must not be negative, got "${String(value)}"`);
    return ms;
  }

  integer(value: unknown, field: string, fallback: number, min: number): number {
    if (value === undefined || value === null || value === "") return fallback;
    const number = typeof value === "string" && /^-?\d+$/.test(value.trim()) ? Number(value) : value;
    if (typeof number !== "number" || !Number.isSafeInteger(number) || number < min) {
      throw this.doc.error(field, `must be a whole number >= ${min}, got ${typeof value === "string" ? `"${value}"` : describe(value)}`);
    }
    return number;
  }

  text(value: unknown, field: string): string | undefined {
    if (value === undefined || value === null || value === "") return undefined;
    if (typeof value !== "string") throw this.doc.error(field, `must be a string, got ${describe(value)}`);
    return value;
  }

  retry(value: unknown, field: string): RetryPolicySpec {
    const retry = this.mapping(value, field) ?? {};
    this.onlyKeys(retry, field, ["policy", "duration", "maxInterval", "maxRetries", "matching"]);
    const policy = (this.text(retry["policy"], `${field}.policy`) ?? "constant").toLowerCase();
    if (policy !== "constant" && policy !== "exponential") {
      throw this.doc.error(`${field}.policy`, `must be "constant" or "exponential", got "${String(retry["policy"])}"`);
    }
    const spec: RetryPolicySpec = {
      policy,
      durationMs: this.duration(retry["duration"], `${field}.duration`, 5000),
      maxIntervalMs: this.duration(retry["maxInterval"], `${field}.maxInterval`, 60_000),
      maxRetries: this.integer(retry["maxRetries"], `${field}.maxRetries`, -1, -1),
    };
    const matching = this.mapping(retry["matching"], `${field}.matching`);
    if (matching) {
      this.onlyKeys(matching, `${field}.matching`, ["httpStatusCodes", "gRPCStatusCodes"]);
      const http = this.statusCodes(matching["httpStatusCodes"], `${field}.matching.httpStatusCodes`, [100, 599]);
      const grpc = this.statusCodes(matching["gRPCStatusCodes"], `${field}.matching.gRPCStatusCodes`, [0, 16]);
      if (http || grpc) spec.matching = { ...(http ? { httpStatusCodes: http } : {}), ...(grpc ? { gRPCStatusCodes: grpc } : {}) };
    }
    return spec;
  }

  /** Dapr's `"429,500-599"`: codes and inclusive ranges, each inside `valid`. */
  statusCodes(value: unknown, field: string, valid: [number, number]): Array<[number, number]> | undefined {
    const text = typeof value === "number" ? String(value) : this.text(value, field);
    if (text === undefined) return undefined;
    const ranges = text
      .split(",")
      .filter((part) => part !== "")
      .map((part): [number, number] => {
        const match = /^(\d+)(?:-(\d+))?$/.exec(part.trim());
        const from = Number(match?.[1]);
        const to = match?.[2] === undefined ? from : Number(match[2]);
        if (!match || from < valid[0] || to > valid[1] || to < from) {
          throw this.doc.error(field, `"${part}" is not a code or range (from-to) within ${valid[0]}-${valid[1]}; e.g. "429,500-599"`);
        }
        return [from, to];
      });
    return ranges.length ? ranges : undefined;
  }

  breaker(value: unknown, field: string): CircuitBreakerSpec {
    const breaker = this.mapping(value, field) ?? {};
    this.onlyKeys(breaker, field, ["maxRequests", "interval", "timeout", "trip"]);
    return {
      // gobreaker treats 0 as 1 and a zero (or unset) timeout as 60s; the spec keeps what runs.
      maxRequests: this.integer(breaker["maxRequests"], `${field}.maxRequests`, 0, 0) || 1,
      intervalMs: this.duration(breaker["interval"], `${field}.interval`, 0),
      timeoutMs: this.duration(breaker["timeout"], `${field}.timeout`, 0) || 60_000,
      trip: this.text(breaker["trip"], `${field}.trip`)?.trim() || defaultTrip,
    };
  }

  policyNames(value: unknown, field: string, ignored: readonly string[] = []): ResiliencyPolicyNames {
    const target = this.mapping(value, field) ?? {};
    this.onlyKeys(target, field, ["timeout", "retry", "circuitBreaker", ...ignored]);
    const names: ResiliencyPolicyNames = {};
    for (const kind of ["timeout", "retry", "circuitBreaker"] as const) {
      const name = this.text(target[kind], `${field}.${kind}`);
      if (name !== undefined) names[kind] = name;
    }
    return names;
  }
}

/**
 * A name shaped like one of Dapr's default policies must be one, under its own kind: Dapr looks
 * `DefaultRetryPolicy` up among the retries only, so a typo or a misplaced default would silently
 * apply nothing.
 */
function checkDefaultNames(doc: ResourceDocument, kind: (typeof policyKinds)[number], names: string[], field: string): void {
  for (const name of names) {
    const match = /^Default(\w*?)(Retry|Timeout|CircuitBreaker)Policy$/.exec(name);
    if (!match) continue;
    if (match[2] !== kind) {
      const section = { Retry: "retries", Timeout: "timeouts", CircuitBreaker: "circuitBreakers" }[match[2] as (typeof policyKinds)[number]];
      throw doc.error(`${field}.${name}`, `is a default ${match[2]} policy name: define it under spec.policies.${section}`);
    }
    if (!defaultLevels.includes(match[1]!)) {
      const known = defaultLevels.filter((level) => level.toLowerCase() === match[1]!.toLowerCase());
      const hint = known.length ? ` (did you mean Default${known[0]}${kind}Policy?)` : "";
      throw doc.error(
        `${field}.${name}`,
        `is not one of Dapr's default policy names${hint}; they are Default<level>${kind}Policy with level "", App, Component, ComponentOutbound, ComponentInbound or <Type>ComponentOutbound/Inbound (Type: ${componentTypes.join(", ")})`,
      );
    }
  }
}

/**
 * Checks that every policy a target names is defined, for every app the document applies to:
 * Dapr merges all the Resiliency documents in scope for an app, so a target may use a policy from
 * another document — but only one that applies to the same app.
 * @param onlyApp check for this app id only (the Runtime, which knows its app), rather than for
 *   every app the documents may apply to (the loader)
 * @throws ComponentConfigError naming the file, the resiliency and the target's field
 */
export function checkResiliencyReferences(specs: readonly ResiliencySpec[], onlyApp?: string): void {
  const scoped = [...new Set(specs.flatMap((s) => s.scopes))];
  const otherApp = Symbol("any other app");
  for (const spec of specs) {
    if (onlyApp !== undefined && spec.scopes.length > 0 && !spec.scopes.includes(onlyApp)) continue;
    const apps: Array<string | typeof otherApp> =
      onlyApp !== undefined ? [onlyApp] : spec.scopes.length ? spec.scopes : [...scoped, otherApp];
    for (const app of apps) {
      const applying = specs.filter((s) => s.scopes.length === 0 || (typeof app === "string" && s.scopes.includes(app)));
      for (const { field, kind, name } of references(spec)) {
        const section = ({ timeout: "timeouts", retry: "retries", circuitBreaker: "circuitBreakers" } as const)[kind];
        if (applying.some((s) => Object.hasOwn(s.policies[section], name))) continue;
        const defined = [...new Set(applying.flatMap((s) => Object.keys(s.policies[section])))];
        const where = typeof app === "string" ? ` to app "${app}"` : "";
        throw new ComponentConfigError(
          `names ${kind} policy "${name}", which no Resiliency document applying${where} defines under spec.policies.${section} (defined: ${defined.map((d) => `"${d}"`).join(", ") || "none"}) (in resiliency "${spec.name}")`,
          { file: spec.file, field },
        );
      }
    }
  }
}

function* references(spec: ResiliencySpec): Generator<{ field: string; kind: keyof ResiliencyPolicyNames; name: string }> {
  const kinds = ["timeout", "retry", "circuitBreaker"] as const;
  for (const [app, names] of Object.entries(spec.targets.apps)) {
    for (const kind of kinds) if (names[kind] !== undefined) yield { field: `spec.targets.apps.${app}.${kind}`, kind, name: names[kind] };
  }
  for (const [component, target] of Object.entries(spec.targets.components)) {
    for (const direction of ["outbound", "inbound"] as const) {
      for (const kind of kinds) {
        const name = target[direction][kind];
        if (name !== undefined) yield { field: `spec.targets.components.${component}.${direction}.${kind}`, kind, name };
      }
    }
  }
}

/**
 * The documents that apply to an app (Dapr's `scopes`: empty means every app), in their order —
 * what a bundle for that app embeds.
 */
export function resilienciesInScope(specs: readonly ResiliencySpec[] | undefined, appId: string): ResiliencySpec[] {
  return (specs ?? []).filter((spec) => spec.scopes.length === 0 || spec.scopes.includes(appId));
}

/** Whether any of these documents has a circuit breaker (whose trip needs the CEL engine). */
export function hasCircuitBreakers(specs: readonly ResiliencySpec[] | undefined): boolean {
  return (specs ?? []).some((spec) => Object.keys(spec.policies.circuitBreakers).length > 0);
}

/** A parsed CEL trip: the counts in, whether to open out. */
export type TripFunction = (counts: Record<(typeof tripVariables)[number], bigint>) => unknown;

/**
 * Parses every circuit breaker's `trip` as a CEL expression over Dapr's counts that yields a
 * boolean. The CEL library is imported only when some breaker exists.
 * @returns the parsed trips, by the expression's text, for the breakers to use
 * @throws ComponentConfigError naming the file, the resiliency and the `trip` field
 */
export async function validateResiliencies(specs: readonly ResiliencySpec[]): Promise<Map<string, TripFunction>> {
  const trips = new Map<string, TripFunction>();
  const breakers = specs.flatMap((spec) => Object.entries(spec.policies.circuitBreakers).map(([name, breaker]) => ({ spec, name, breaker })));
  if (!breakers.length) return trips;
  const { Environment } = await loadCelEngine().catch((cause: unknown) => {
    const [{ spec, name }] = breakers as [(typeof breakers)[number]];
    throw new ComponentConfigError(
      "circuit breakers need the CEL engine (@marcbachmann/cel-js) for their trip, and it could not be loaded; `mecha build` bundles it for apps with circuit breakers",
      { file: spec.file, field: `spec.policies.circuitBreakers.${name}.trip`, cause },
    );
  });
  const env = new Environment();
  for (const variable of tripVariables) env.registerVariable(variable, "int");
  for (const { spec, name, breaker } of breakers) {
    if (trips.has(breaker.trip)) continue;
    const fail = (reason: string) =>
      new ComponentConfigError(
        `${reason}; write a CEL condition over ${tripVariables.join(", ")}, e.g. "consecutiveFailures >= 5" (in resiliency "${spec.name}")`,
        { file: spec.file, field: `spec.policies.circuitBreakers.${name}.trip` },
      );
    let checked: { valid: boolean; type?: string; error?: Error };
    try {
      checked = env.check(breaker.trip) as typeof checked;
    } catch (error) {
      throw fail(`"${breaker.trip}" is not valid CEL: ${firstLine(error)}`);
    }
    if (!checked.valid) throw fail(`"${breaker.trip}" is not valid CEL: ${firstLine(checked.error)}`);
    if (checked.type !== "bool") throw fail(`"${breaker.trip}" yields ${checked.type ?? "no value"}, not a boolean`);
    trips.set(breaker.trip, env.parse(breaker.trip) as TripFunction);
  }
  return trips;
}

/** cel-js appends a source excerpt on the following lines; the first line says what is wrong. */
function firstLine(error: unknown): string {
  return String((error as Error)?.message ?? error).split("\n")[0]!.trim();
}
