/**
 * An app: its functions, its components and the plans that connect them, assembled once and
 * platform-free. Each adapter takes an App and only translates its platform's events into it.
 */
import type { Hono } from "hono";
import type { CatalogEntry } from "../components/catalog.ts";
import type { ComponentSpec, Resources } from "../config/types.ts";
import { ComponentConfigError } from "../errors.ts";
import type { DeliveryPlan } from "./delivery.ts";
import { createHttpApp, type HttpAppOptions } from "./http-app.ts";
import type { Logger } from "./logger.ts";
import { createRegistry, type FunctionModule, type Registry } from "./registry.ts";
import { Runtime } from "./runtime.ts";
import { compileRoutingRules } from "./routing-rules.ts";
import { planForFunction, planForSubscriptionSpec } from "./subscriptions.ts";

export interface AppOptions extends HttpAppOptions {
  appId: string;
  resources: Resources;
  modules: readonly FunctionModule[];
  catalog: Readonly<Record<string, CatalogEntry>>;
  baseDir: string;
  logger?: Logger;
  env?: Readonly<Record<string, string | undefined>>;
  /** The platform's binding objects (Workers `env`), handed to components. */
  bindings?: Readonly<Record<string, unknown>>;
  /**
   * Who fires `cron(...)` functions: the host, through an implicit `bindings.cron` component per
   * schedule (Node), or the platform's scheduler, which calls the adapter (Workers Cron
   * Triggers, EventBridge schedules). Default "host".
   */
  cronTriggers?: "host" | "platform";
}

export interface App {
  readonly appId: string;
  readonly runtime: Runtime;
  readonly registry: Registry;
  /** The HTTP functions behind one Hono app: `app.http.fetch(request)`. */
  readonly http: Hono;
  /** Every subscription, from code and from Subscription YAML. */
  readonly subscriptions: readonly DeliveryPlan[];
  /**
   * The startup check: creates every component (bad metadata fails here, naming file, component
   * and field; no network I/O), checks the resiliency policies and compiles CEL routing rules.
   */
  validate(): Promise<void>;
}

/** The component name under which a `cron(...)` function's schedule runs as a `bindings.cron`. */
export const cronComponentName = (functionId: string) => `cron:${functionId}`;

export function createApp(options: AppOptions): App {
  const registry = createRegistry(options.modules);
  // A `cron(...)` function is an input binding with an implicit bindings.cron component, so
  // schedules take the same path as any input binding.
  const cronComponents: ComponentSpec[] = (options.cronTriggers === "platform" ? [] : registry.crons).map(({ id, definition }) => ({
    name: cronComponentName(id),
    type: "bindings.cron",
    version: "v1",
    metadata: [{ name: "schedule", value: definition.schedule }],
    scopes: [],
    file: `functions (${id})`,
  }));
  const runtime = new Runtime({
    appId: options.appId,
    components: [...options.resources.components.filter((c) => inScope(c.scopes, options.appId)), ...cronComponents],
    catalog: options.catalog,
    baseDir: options.baseDir,
    logger: options.logger,
    env: options.env,
    bindings: options.bindings,
    resiliencies: options.resources.resiliencies,
  });
  const http = createHttpApp(runtime, registry.http, options);
  // Service invocation of this app's own id runs its HTTP functions in-process. The caller's
  // waitUntil goes in as the execution context, so on Workers the callee's background work
  // keeps the invocation alive too.
  runtime.localFetch = async (request, waitUntil) =>
    http.fetch(request, undefined, waitUntil ? ({ waitUntil, passThroughOnException() {}, props: {} } as never) : undefined);
  const subscriptions = [
    ...registry.subscriptions.map((s) => planForFunction(options.appId, s)),
    ...options.resources.subscriptions
      .filter((s) => inScope(s.scopes, options.appId))
      .map((s) => planForSubscriptionSpec(options.appId, s, http)),
  ];
  const names = new Map<string, number>();
  for (const plan of subscriptions) names.set(plan.name, (names.get(plan.name) ?? 0) + 1);
  const shared = [...names].filter(([, count]) => count > 1).map(([name]) => `"${name}"`);
  if (shared.length) {
    // Two subscriptions under one durable name would share one consumer group: each message
    // would reach only one of them.
    throw new ComponentConfigError(`subscription names must be unique; used more than once: ${shared.join(", ")}`, {});
  }
  const pubsubs = new Set(runtime.components.filter((c) => c.block === "pubsub").map((c) => c.name));
  for (const plan of subscriptions) {
    if (!pubsubs.has(plan.pubsub)) {
      throw new ComponentConfigError(
        `subscription "${plan.name}" uses pub/sub "${plan.pubsub}", which is not configured (configured: ${[...pubsubs].join(", ") || "none"})`,
        { component: plan.pubsub },
      );
    }
  }
  for (const plan of subscriptions) {
    // Dapr's topic scoping: a subscription the pub/sub does not allow this app never starts.
    const forbidden = runtime.subscriptionForbiddenBy(plan.pubsub, plan.topic);
    if (forbidden) {
      throw new ComponentConfigError(
        `subscription "${plan.name}" to topic "${plan.topic}" is not allowed for app id "${options.appId}"; grant the topic in ${forbidden.field} or remove the subscription`,
        { file: forbidden.file, component: plan.pubsub, field: `spec.metadata.${forbidden.field}` },
      );
    }
  }
  const bindings = new Set(runtime.components.filter((c) => c.block === "bindings").map((c) => c.name));
  for (const { id, definition } of registry.bindings) {
    if (!bindings.has(definition.binding)) {
      throw new ComponentConfigError(`function ${id} is triggered by binding "${definition.binding}", which is not configured`, {
        component: definition.binding,
      });
    }
  }
  return {
    appId: options.appId,
    runtime,
    registry,
    http,
    subscriptions,
    async validate() {
      await runtime.validate();
      // A CEL expression that does not compile fails startup as bad component metadata does. The
      // CEL engine is loaded only by apps that have CEL rules.
      await compileRoutingRules(subscriptions);
    },
  };
}

/** Dapr's `scopes`: an empty list means every app may use the resource. */
const inScope = (scopes: readonly string[], appId: string) => scopes.length === 0 || scopes.includes(appId);
