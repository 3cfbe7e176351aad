/**
 * Dapr's metadata API — `GET /v1.0/metadata` (app id, components with their type, version and
 * capabilities, subscriptions, extended attributes) and `PUT /v1.0/metadata/{key}` — and the health
 * endpoints `GET /v1.0/healthz` and `/v1.0/healthz/outbound`, which answer 204 once the host serves.
 */
import type { Hono } from "hono";
import type { Block } from "../components/types.ts";
import { cronComponentName, type App } from "../core/app.ts";
import type { ApiDeps } from "./context.ts";

export interface MetadataOptions {
  /** The port the app's own HTTP functions are served on (Dapr's app connection port). */
  appPort?: number;
  /** What `runtimeVersion` reports. */
  runtimeVersion: string;
}

export function mountMetadataRoutes(api: Hono, deps: ApiDeps, app: App, options: MetadataOptions): void {
  const extended = new Map<string, string>([["daprRuntimeVersion", options.runtimeVersion]]);
  // The schedules of cron(...) functions are components mecha makes itself, not the user's.
  const implicit = new Set(app.registry.crons.map(({ id }) => cronComponentName(id)));

  api.get("/v1.0/metadata", async (c) => {
    const components = await Promise.all(
      deps.runtime.components
        .filter((component) => !implicit.has(component.name))
        .map(async ({ name, type, version, block }) => ({ name, type, version, capabilities: await capabilities(deps, name, block) })),
    );
    const subscriptions = app.subscriptions.map((plan) => {
      // Rules written in CEL, as Dapr lists them; a code rule's function has no text to show.
      const rules = (plan.routes ?? []).flatMap((route) => (typeof route.match === "string" ? [{ match: route.match, ...(route.path ? { path: route.path } : {}) }] : []));
      return {
        pubsubname: plan.pubsub,
        topic: plan.topic,
        ...(rules.length ? { rules } : {}),
        deadLetterTopic: plan.deadLetterTopic ?? "",
        type: plan.declarative ? "DECLARATIVE" : "PROGRAMMATIC",
      };
    });
    return c.json({
      id: app.appId,
      runtimeVersion: options.runtimeVersion,
      ...(components.length ? { components } : {}),
      extended: Object.fromEntries(extended),
      ...(subscriptions.length ? { subscriptions } : {}),
      appConnectionProperties: { ...(options.appPort ? { port: options.appPort } : {}), protocol: "http", channelAddress: "127.0.0.1" },
      actorRuntime: { runtimeStatus: "DISABLED", hostReady: false },
    });
  });

  api.put("/v1.0/metadata/:key", async (c) => {
    extended.set(c.req.param("key"), await c.req.text());
    return c.body(null, 204);
  });

  api.get("/v1.0/healthz", (c) => c.body(null, 204));
  api.get("/v1.0/healthz/outbound", (c) => c.body(null, 204));
}

/** Dapr's capability names: a state store's features, a binding's directions. */
async function capabilities(deps: ApiDeps, name: string, block: Block): Promise<string[]> {
  const declared = await deps.runtime.capabilities(name).catch(() => undefined);
  if (!declared) return [];
  if (block === "state") return declared.features.map((feature) => feature.toUpperCase());
  if (block === "bindings") return [...(declared.input ? ["INPUT_BINDING"] : []), ...(declared.operations.length ? ["OUTPUT_BINDING"] : [])];
  return [];
}
