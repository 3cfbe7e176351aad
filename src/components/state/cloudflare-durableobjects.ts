/**
 * `state.cloudflare.durableobjects`: strongly consistent state on a Cloudflare Durable Object,
 * for Workers. The store's data lives in one object, `MechaStateObject`
 * (./cloudflare-durableobjects-object.ts), which this client calls over Workers RPC; the etag
 * check and the write run inside the object in one storage transaction.
 *
 * This file imports nothing from `cloudflare:workers`, so Node can load it to type-check and to
 * validate a resources folder; only the object's file needs workerd.
 */
import type { StateFeature, StateStoreComponent, StoredItem, StoreTransactionOperation } from "../../blocks/state.ts";
import { ComponentConfigError, EtagMismatchError } from "../../errors.ts";
import type { ComponentOptions } from "../types.ts";
import { workersBinding } from "../workers-binding.ts";

const type = "state.cloudflare.durableobjects";
const features: readonly StateFeature[] = ["etag", "transactional", "ttl"];

/** The binding and class names the build writes into wrangler.toml unless told otherwise. */
export const defaultBinding = "MECHA_STATE";
export const objectClassName = "MechaStateObject";

/** wrangler accepts JavaScript identifiers as binding names. */
const bindingPattern = /^[A-Za-z_$][A-Za-z0-9_$]*$/;

/**
 * What `apply` reports: every operation applied (with each upsert's new etag, in order), or
 * nothing applied because of the first key whose etag did not match. A mismatch is data, not a
 * thrown error, because Workers RPC keeps only the message of an error, not its class or key.
 */
export type StateObjectApplyResult =
  | { applied: true; etags: Array<string | null> }
  | { applied: false; etagMismatch: string };

/** The RPC methods of `MechaStateObject`, as this client calls them through a stub. */
export interface StateObjectRpc {
  get(key: string): Promise<StoredItem | null>;
  getBulk(keys: string[]): Promise<Array<StoredItem | null>>;
  /** Applies the operations in order, in one transaction: all or none. */
  apply(operations: StoreTransactionOperation[]): Promise<StateObjectApplyResult>;
}

/** The part of a `DurableObjectNamespace` binding this client uses. */
interface StateObjectNamespace {
  idFromName(name: string): unknown;
  get(id: unknown): StateObjectRpc;
}

/**
 * Creates a Durable Object state store. Metadata: `binding`, the Durable Object namespace
 * binding in the Worker's env (default `MECHA_STATE`, bound to class `MechaStateObject`), and
 * `objectName` (default: the component's name).
 *
 * Every key of the store lives in the ONE object named `objectName`
 * (`namespace.idFromName(objectName)`): that is what makes every read strongly consistent and a
 * transaction across any keys atomic. The price is throughput: one object runs one request at a
 * time, and Cloudflare gives an individual object a soft limit of about 1,000 requests per second
 * (fewer when each request does more work), after which callers get "overloaded" errors. A store
 * that needs more spreads its keys over several components with different `objectName`s; keys
 * in different objects share no transaction.
 *
 * The binding is read from `options.bindings` (the Worker's `env`) on first use, so a missing
 * binding fails the first call with a {@link ComponentConfigError} that says what to add to
 * wrangler.toml.
 *
 * @example
 * // wrangler.toml
 * // [[durable_objects.bindings]]
 * // name = "MECHA_STATE"
 * // class_name = "MechaStateObject"
 * // [[migrations]]
 * // tag = "v1"
 * // new_sqlite_classes = ["MechaStateObject"]
 * const store = create({ name: "orders", appId: "app", baseDir: "/", bindings: env,
 *   metadata: new ComponentMetadata({ binding: "MECHA_STATE" }, "orders") });
 */
export function create(options: ComponentOptions): StateStoreComponent {
  const { metadata, name: component } = options;
  const binding = metadata.string("binding", defaultBinding);
  if (!bindingPattern.test(binding)) {
    throw metadata.error("binding", `must be a binding name from wrangler.toml (letters, digits, _ and $); got "${binding}"`);
  }
  const objectName = metadata.string("objectName", component);

  let target: { namespace: StateObjectNamespace; id: unknown } | undefined;
  /**
   * A stub per call, from a namespace and id resolved once: creating a stub does no I/O, and a
   * stub made while serving one request must not be used by another (workerd refuses I/O on
   * behalf of a different request), while this component lives as long as the Worker.
   */
  const object = (): StateObjectRpc => {
    if (!target) {
      const namespace = resolveNamespace(options.bindings, binding, component);
      target = { namespace, id: namespace.idFromName(objectName) };
    }
    return target.namespace.get(target.id);
  };

  const apply = async (operations: StoreTransactionOperation[]): Promise<Array<string | null>> => {
    const result = await object().apply(operations);
    if (!result.applied) throw new EtagMismatchError(result.etagMismatch, component);
    return result.etags;
  };

  return {
    type,
    features,

    async get(key) {
      return (await object().get(key)) ?? undefined;
    },

    async getBulk(keys) {
      if (keys.length === 0) return [];
      const items = await object().getBulk([...keys]);
      return items.map((item) => item ?? undefined);
    },

    async set(request) {
      const [etag] = await apply([{ operation: "upsert", ...request }]);
      return { etag: etag! };
    },

    async delete(request) {
      await apply([{ operation: "delete", ...request }]);
    },

    async transaction(operations) {
      if (operations.length === 0) return;
      await apply([...operations]);
    },

    async close() {
      target = undefined;
    },
  };
}

function resolveNamespace(
  bindings: ComponentOptions["bindings"],
  binding: string,
  component: string,
): StateObjectNamespace {
  return workersBinding<StateObjectNamespace>({
    bindings,
    name: binding,
    kind: "Durable Object namespace",
    methods: ["idFromName", "get"],
    wranglerEntry:
      `[[durable_objects.bindings]] name = "${binding}" class_name = "${objectClassName}", ` +
      `with a [[migrations]] entry whose new_sqlite_classes lists "${objectClassName}"`,
    component,
    field: "binding",
  });
}
