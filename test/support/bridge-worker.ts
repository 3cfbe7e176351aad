/**
 * The Worker that the Miniflare bridge runs in workerd: it creates the real Cloudflare state
 * components with `bindings: env` and serves each StateStoreComponent method over `fetch`, so a
 * Node test can drive them (see miniflare-bridge.ts).
 *
 *   POST /stores/<id>           { type, name, metadata } → { type, features, limits, methods }
 *   POST /stores/<id>/<method>  { args: [...] }          → { result } | { error }
 *
 * Bundled by esbuild at test time; it re-exports the Durable Object class as a Worker entry
 * built by `mecha build --target workers` would.
 */
import type { StateStoreComponent } from "../../src/blocks/state.ts";
import { create as createDurableObjectsStore } from "../../src/components/state/cloudflare-durableobjects.ts";
import { create as createWorkersKvStore } from "../../src/components/state/cloudflare-workerskv.ts";
import type { ComponentOptions } from "../../src/components/types.ts";
import { ComponentMetadata } from "../../src/config/metadata.ts";
import { decodeJson, encodeJson, serializeError, type BridgeResponse } from "./bridge-protocol.ts";

export { MechaStateObject } from "../../src/components/state/cloudflare-durableobjects-object.ts";

const factories: Readonly<Record<string, (options: ComponentOptions) => StateStoreComponent>> = {
  "state.cloudflare.durableobjects": createDurableObjectsStore,
  "state.cloudflare.workerskv": createWorkersKvStore,
};

const methods = ["get", "getBulk", "set", "delete", "transaction", "close"] as const;
type Method = (typeof methods)[number];

/** Lives as long as the isolate: one component per store id, like a Worker's runtime. */
const stores = new Map<string, StateStoreComponent>();

export default {
  async fetch(request: Request, env: Record<string, unknown>): Promise<Response> {
    const [, root, id, method] = new URL(request.url).pathname.split("/").map(decodeURIComponent);
    if (request.method !== "POST" || root !== "stores" || !id) return new Response("not found", { status: 404 });
    let body: BridgeResponse;
    try {
      const input = decodeJson<Record<string, unknown>>(await request.text());
      body = { result: method === undefined ? createStore(id, input, env) : await call(id, method, input) };
    } catch (error) {
      body = { error: serializeError(error) };
    }
    return new Response(encodeJson(body), { headers: { "content-type": "application/json" } });
  },
};

function createStore(id: string, input: Record<string, unknown>, env: Record<string, unknown>) {
  const { type, name, metadata } = input as { type: string; name: string; metadata: Record<string, string> };
  const factory = factories[type];
  if (!factory) throw new Error(`the bridge has no component of type "${type}"`);
  const store = factory({ name, appId: "bridge", baseDir: "/", metadata: new ComponentMetadata(metadata, name), bindings: env });
  stores.set(id, store);
  return {
    type: store.type,
    features: store.features,
    limits: (store as { limits?: unknown }).limits,
    // The optional methods it has, so the Node proxy has exactly the same ones.
    methods: methods.filter((method) => typeof store[method] === "function"),
  };
}

async function call(id: string, method: string, input: Record<string, unknown>): Promise<unknown> {
  const store = stores.get(id);
  if (!store) throw new Error(`no store "${id}" was created on the bridge`);
  if (!(methods as readonly string[]).includes(method)) throw new Error(`unknown method "${method}"`);
  const fn = store[method as Method] as ((...args: unknown[]) => Promise<unknown>) | undefined;
  if (!fn) throw new Error(`${store.type} has no ${method}()`);
  const result = await fn.apply(store, (input["args"] as unknown[]) ?? []);
  if (method === "close") stores.delete(id);
  return result;
}
