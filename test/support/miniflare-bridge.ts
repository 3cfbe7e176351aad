/**
 * Runs the real Cloudflare state components inside workerd (through Miniflare) and hands Node
 * tests a StateStoreComponent whose every call goes to them: the shared conformance suite then
 * runs unchanged against the code that ships to Workers, on local KV and Durable Objects.
 *
 * bridge-worker.ts is bundled with esbuild (in memory) and served by one Miniflare per bridge;
 * errors come back as the same classes the component threw, so `instanceof` and codes hold.
 * Calls go to Miniflare's URL over a keep-alive `node:http` agent rather than through
 * `mf.dispatchFetch`, which costs about 6 ms a call here against under 2 ms: the suite's
 * concurrent-writers case makes thousands of calls.
 *
 * @example
 * const bridge = await startMiniflareBridge();
 * const store = await bridge.store({ type: "state.cloudflare.durableobjects", metadata: { objectName: "t1" } });
 * await bridge.dispose();
 */
import { Agent } from "node:http";
import { fileURLToPath } from "node:url";
import { Miniflare } from "miniflare";
import type { StateStoreComponent, StoredItem } from "../../src/blocks/state.ts";
import { bundleBridgeWorker, postText, rebuildError } from "./bridge-shared.ts";
import { decodeJson, encodeJson, type BridgeResponse } from "./bridge-protocol.ts";
import { freshName } from "./wait.ts";

/** The binding names the bridge Worker gets; the components' defaults. */
export const bridgeBindings = { durableObjects: "MECHA_STATE", kv: "MECHA_KV" } as const;

export interface BridgeOptions {
  /** A directory to keep Durable Object storage in, so that a second bridge sees the first one's data. */
  durableObjectsPersist?: string;
}

export interface StoreRequest {
  type: string;
  /** The component name; fresh by default. */
  name?: string;
  metadata?: Record<string, string>;
}

export interface MiniflareBridge {
  /** Creates the component inside workerd and returns a proxy for it. */
  store(request: StoreRequest): Promise<StateStoreComponent & { readonly limits?: { minTtlSeconds?: number } }>;
  dispose(): Promise<void>;
}

const entryPoint = fileURLToPath(new URL("./bridge-worker.ts", import.meta.url));

const bundle = () => bundleBridgeWorker(entryPoint);

export async function startMiniflareBridge(options: BridgeOptions = {}): Promise<MiniflareBridge> {
  const mf = new Miniflare({
    modules: [{ type: "ESModule", path: "bridge-worker.mjs", contents: await bundle() }],
    compatibilityDate: "2026-01-01",
    compatibilityFlags: ["nodejs_compat"],
    durableObjects: { [bridgeBindings.durableObjects]: { className: "MechaStateObject", useSQLite: true } },
    kvNamespaces: [bridgeBindings.kv],
    ...(options.durableObjectsPersist ? { durableObjectsPersist: options.durableObjectsPersist } : {}),
  });
  const url = await mf.ready;
  const agent = new Agent({ keepAlive: true });

  const post = async (path: string, body: unknown): Promise<unknown> => {
    const { status, text } = await postText(new URL(path, url), encodeJson(body), agent);
    if (status !== 200) throw new Error(`bridge ${path} answered ${status}: ${text}`);
    const decoded = decodeJson<BridgeResponse>(text);
    if ("error" in decoded) throw rebuildError(decoded.error);
    return decoded.result;
  };

  return {
    async store({ type, name = freshName("store"), metadata = {} }) {
      const id = freshName("bridge");
      const path = `/stores/${encodeURIComponent(id)}`;
      const created = (await post(path, { type, name, metadata })) as Pick<StateStoreComponent, "type" | "features"> & {
        limits?: { minTtlSeconds?: number };
        methods: string[];
      };
      const call = (method: string) => (...args: unknown[]) => post(`${path}/${method}`, { args });
      const store: StateStoreComponent & { limits?: { minTtlSeconds?: number } } = {
        type: created.type,
        features: created.features,
        get: async (key) => ((await call("get")(key)) as Awaited<ReturnType<StateStoreComponent["get"]>>) ?? undefined,
        set: (request) => call("set")(request) as ReturnType<StateStoreComponent["set"]>,
        delete: async (request) => void (await call("delete")(request)),
        close: async () => void (await call("close")()),
      };
      // The optional methods exactly when the component has them: the client's fallbacks depend on it.
      if (created.methods.includes("getBulk")) {
        // JSON has no undefined: a missing key comes back as null.
        store.getBulk = async (keys) => ((await call("getBulk")(keys)) as Array<StoredItem | null>).map((item) => item ?? undefined);
      }
      if (created.methods.includes("transaction")) store.transaction = async (ops) => void (await call("transaction")(ops));
      if (created.limits) store.limits = created.limits;
      return store;
    },

    async dispose() {
      agent.destroy();
      await mf.dispose();
    },
  };
}


