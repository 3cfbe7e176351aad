/**
 * `state.cloudflare.workerskv`: state in a Workers KV namespace, for Workers. KV is eventually
 * consistent — a write is visible at once where it was made and up to about a minute later
 * elsewhere — and has no compare-and-swap, so this store declares neither `etag` nor
 * `transactional`: the state client rejects etags, first-write and transactions with a
 * NotSupportedError rather than half-honouring them. Use `state.cloudflare.durableobjects` for
 * those. It declares `ttl`, with KV's minimum of 60 seconds.
 */
import type { KVNamespace } from "@cloudflare/workers-types/index.ts";
import type { StateFeature, StateStoreComponent, StoredItem } from "../../blocks/state.ts";
import { ErrorCodes, InvalidRequestError, NotSupportedError } from "../../errors.ts";
import type { ComponentOptions } from "../types.ts";
import { workersBinding } from "../workers-binding.ts";

const type = "state.cloudflare.workerskv";
const features: readonly StateFeature[] = ["ttl"];

export const defaultBinding = "MECHA_KV";
/** Workers KV refuses an `expirationTtl` below 60 seconds. */
export const minTtlSeconds = 60;
/** Workers KV's longest key, in UTF-8 bytes. */
const maxKeyBytes = 512;
const bindingPattern = /^[A-Za-z_$][A-Za-z0-9_$]*$/;

/** What this store keeps in each KV entry's metadata (KV allows 1024 bytes of it). */
interface EntryMetadata {
  /** Informational: KV cannot compare-and-set, but a StoredItem carries an etag. */
  etag: string;
  /** The value was stored as bytes, so it is read back as a Uint8Array, not as JSON text. */
  bytes?: true;
  /** Epoch ms: reads hide the entry from then on, even while a KV cache still serves it. */
  expiresAt?: number;
}

type KvBinding = Pick<KVNamespace, "getWithMetadata" | "put" | "delete">;

/**
 * Creates a Workers KV state store. Metadata: `binding`, the KV namespace binding in the
 * Worker's env (default `MECHA_KV`), read on first use.
 *
 * Dapr's own `state.cloudflare.workerskv` reaches KV from outside Cloudflare through a Worker it
 * deploys, so its fields (`kvNamespaceID`, `workerName`, `key`, `cfAccountID`, `cfAPIToken`,
 * `workerUrl`) describe that Worker. Inside a Worker the namespace is simply a binding, so those
 * fields are accepted (a Dapr YAML loads unchanged) and not used here; `kvNamespaceID` is the
 * `id` that wrangler.toml's `[[kv_namespaces]]` entry for the binding needs.
 *
 * @example
 * // wrangler.toml: [[kv_namespaces]] binding = "MECHA_KV" id = "<namespace id>"
 * const store = create({ name: "cache", appId: "app", baseDir: "/", bindings: env,
 *   metadata: new ComponentMetadata({ binding: "MECHA_KV" }, "cache") });
 */
export function create(options: ComponentOptions): StateStoreComponent {
  const { metadata, name: component } = options;
  const binding = metadata.string("binding", defaultBinding);
  if (!bindingPattern.test(binding)) {
    throw metadata.error("binding", `must be a binding name from wrangler.toml (letters, digits, _ and $); got "${binding}"`);
  }

  let namespace: KvBinding | undefined;
  const kv = (): KvBinding => (namespace ??= resolveNamespace(options.bindings, binding, component));

  const checkKey = (key: string): void => {
    if (new TextEncoder().encode(key).byteLength > maxKeyBytes) {
      throw new InvalidRequestError(`state key "${key.slice(0, 40)}…" is longer than Workers KV's ${maxKeyBytes}-byte limit`, {
        code: ErrorCodes.invalidKey,
        component,
      });
    }
  };

  const store: StateStoreComponent & { readonly limits: { readonly minTtlSeconds: number } } = {
    type,
    features,
    /** For the conformance suite and the docs: TTLs below this are refused. */
    limits: { minTtlSeconds },

    async get(key) {
      checkKey(key);
      const { value, metadata: meta } = await kv().getWithMetadata<EntryMetadata>(key, "arrayBuffer");
      if (value === null) return undefined;
      if (meta?.expiresAt !== undefined && meta.expiresAt <= Date.now()) return undefined;
      const item: StoredItem = {
        value: meta?.bytes ? new Uint8Array(value) : new TextDecoder().decode(value),
        etag: meta?.etag ?? "",
      };
      return item;
    },

    async set(request) {
      rejectConcurrency(request, component);
      checkKey(request.key);
      const ttl = request.ttlInSeconds;
      if (ttl !== undefined && ttl < minTtlSeconds) {
        throw new InvalidRequestError(
          `ttlInSeconds must be at least ${minTtlSeconds} on ${type} (Workers KV's minimum expiration); got ${ttl}`,
          { code: ErrorCodes.invalidTtl, component },
        );
      }
      const etag = crypto.randomUUID();
      const meta: EntryMetadata = { etag };
      if (typeof request.value !== "string") meta.bytes = true;
      if (ttl !== undefined) meta.expiresAt = Date.now() + ttl * 1000;
      // Bytes are copied, so the caller's later changes cannot reach what is stored.
      const value = typeof request.value === "string" ? request.value : new Uint8Array(request.value);
      // A put replaces value, metadata and expiration together: a save without a TTL clears one.
      await kv().put(request.key, value, ttl === undefined ? { metadata: meta } : { metadata: meta, expirationTtl: ttl });
      return { etag };
    },

    async delete(request) {
      rejectConcurrency(request, component);
      checkKey(request.key);
      await kv().delete(request.key);
    },

    async close() {
      namespace = undefined;
    },
  };
  return store;
}

/** The state client never sends these to a store without `etag`; a direct caller learns why. */
function rejectConcurrency(request: { etag?: string; concurrency: string }, component: string): void {
  if (request.etag !== undefined) throw new NotSupportedError("etag", type, component);
  if (request.concurrency === "first-write") throw new NotSupportedError("first-write concurrency", type, component);
}

function resolveNamespace(bindings: ComponentOptions["bindings"], binding: string, component: string): KvBinding {
  return workersBinding<KvBinding>({
    bindings,
    name: binding,
    kind: "KV namespace",
    methods: ["getWithMetadata", "put"],
    wranglerEntry: `[[kv_namespaces]] binding = "${binding}" id = "<the namespace id>"`,
    component,
    field: "binding",
  });
}
