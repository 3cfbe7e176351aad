/**
 * The state building block: the interface a state component implements, and the semantics every
 * store shares (keys, etags, TTL validation, bulk fallbacks), which live here once so that a
 * component stays small.
 */
import {
  BulkStateError,
  type ErrorCode,
  ErrorCodes,
  MechaError,
  EtagMismatchError,
  InvalidRequestError,
  NotSupportedError,
} from "../errors.ts";

export const StateFeatures = ["etag", "transactional", "ttl"] as const;
export type StateFeature = (typeof StateFeatures)[number];

/** How a write without an etag behaves. Dapr's names. */
export type Concurrency = "first-write" | "last-write";

/** A stored value: JSON text, or raw bytes (`Uint8Array`) that are kept as they are. */
export type EncodedValue = string | Uint8Array;

/** What a component returns for a key. */
export interface StoredItem {
  value: EncodedValue;
  etag: string;
}

/** A write as a component receives it: key already prefixed, etag already normalised. */
export interface StoreSetRequest {
  key: string;
  value: EncodedValue;
  /** Compare-and-set against this etag. `undefined` = no etag given. */
  etag?: string;
  concurrency: Concurrency;
  /** Seconds until expiry; `undefined` = no TTL (a re-save without one removes the old TTL). */
  ttlInSeconds?: number;
}

export interface StoreDeleteRequest {
  key: string;
  etag?: string;
  concurrency: Concurrency;
}

export type StoreTransactionOperation =
  | ({ operation: "upsert" } & StoreSetRequest)
  | ({ operation: "delete" } & StoreDeleteRequest);

/** What a backend cannot do below or above the block's own rules. */
export interface StateStoreLimits {
  /**
   * The shortest TTL the backend accepts, in seconds (Workers KV: 60). The state client rejects a
   * shorter one with ERR_STATE_INVALID_TTL before the store sees it.
   */
  readonly minTtlSeconds?: number;
}

/**
 * What a state component implements. `get`, `set` and `delete` are required; a store that can
 * do more says so in `features` and implements `transaction`. A set or delete with an etag that
 * does not match throws {@link EtagMismatchError}; first-write without an etag means insert only
 * if absent. Reads must never return an expired item.
 */
export interface StateStoreComponent {
  /** The Dapr `spec.type`, e.g. `state.sqlite`. */
  readonly type: string;
  readonly features: readonly StateFeature[];
  /** Backend limits the client enforces up front; absent = none beyond the block's. */
  readonly limits?: StateStoreLimits;
  get(key: string): Promise<StoredItem | undefined>;
  set(request: StoreSetRequest): Promise<{ etag: string }>;
  delete(request: StoreDeleteRequest): Promise<void>;
  /** Several gets; the core loops over `get` when a store has nothing faster. */
  getBulk?(keys: readonly string[]): Promise<Array<StoredItem | undefined>>;
  /** Apply the operations in order, all or none. Required when `transactional` is declared. */
  transaction?(operations: readonly StoreTransactionOperation[]): Promise<void>;
  close(): Promise<void>;
}

// ---------------------------------------------------------------------------------------------
// The client a function sees: `ctx.state(name)`.

export interface StateSetOptions {
  etag?: string;
  concurrency?: Concurrency;
  /** Expire the key after this many seconds; `-1` removes a TTL. */
  ttlInSeconds?: number;
  /** Dapr-style per-request metadata; `ttlInSeconds` is read from here too. */
  metadata?: Record<string, string>;
}

export interface StateDeleteOptions {
  etag?: string;
  concurrency?: Concurrency;
}

export interface StateEntry<T = unknown> {
  value: T;
  etag: string;
}

export interface BulkGetEntry<T = unknown> {
  key: string;
  /** `undefined` when the key is absent. */
  value: T | undefined;
  etag: string | undefined;
}

export interface BulkSetItem<T = unknown> extends StateSetOptions {
  key: string;
  value: T;
}

export interface BulkDeleteItem extends StateDeleteOptions {
  key: string;
}

export type TransactionOperation =
  | ({ operation: "upsert"; key: string; value: unknown } & StateSetOptions)
  | ({ operation: "delete"; key: string } & StateDeleteOptions);

/** `ctx.state(name)`: a state store as a function uses it. */
export interface StateClient {
  get<T = unknown>(key: string): Promise<StateEntry<T> | undefined>;
  set(key: string, value: unknown, options?: StateSetOptions): Promise<{ etag: string }>;
  delete(key: string, options?: StateDeleteOptions): Promise<void>;
  getBulk<T = unknown>(keys: readonly string[]): Promise<Array<BulkGetEntry<T>>>;
  /** Good entries apply; a {@link BulkStateError} names exactly the keys that failed. */
  setBulk(items: readonly BulkSetItem[]): Promise<Array<{ key: string; etag: string }>>;
  deleteBulk(items: readonly BulkDeleteItem[]): Promise<void>;
  /** Ordered and atomic; deleting a missing key is not an error. */
  transaction(operations: readonly TransactionOperation[]): Promise<void>;
}

/** Dapr's `keyPrefix`: `appid` (default), `name`, `none`, or any other literal. */
export type KeyPrefix = string;

export interface StateClientOptions {
  /** The component's name in the resources folder. */
  name: string;
  appId: string;
  keyPrefix?: KeyPrefix;
  store: StateStoreComponent;
}

const keySeparator = "||";

/** Builds the `ctx.state(name)` client around a component. */
export function createStateClient(options: StateClientOptions): StateClient {
  const { name, store } = options;
  const prefix = resolveKeyPrefix(options.keyPrefix ?? "appid", options.appId, name);
  const has = (feature: StateFeature) => store.features.includes(feature);
  const require = (feature: StateFeature, what: string) => {
    if (!has(feature)) throw new NotSupportedError(what, store.type, name);
  };

  const storeKey = (key: string): string => {
    if (typeof key !== "string" || key.length === 0) {
      throw new InvalidRequestError(`state key must be a non-empty string`, {
        code: ErrorCodes.invalidKey,
        component: name,
      });
    }
    if (key.includes(keySeparator)) {
      throw new InvalidRequestError(`state key "${key}" must not contain "||"`, {
        code: ErrorCodes.invalidKey,
        component: name,
      });
    }
    return prefix === undefined ? key : `${prefix}${keySeparator}${key}`;
  };

  const toSetRequest = (key: string, value: unknown, opts: StateSetOptions = {}): StoreSetRequest => {
    const etag = normaliseEtag(opts.etag);
    if (etag !== undefined) require("etag", "etag");
    if (opts.concurrency === "first-write") require("etag", "first-write concurrency");
    const ttl = parseTtl(opts.ttlInSeconds ?? opts.metadata?.["ttlInSeconds"], name);
    if (ttl !== undefined) require("ttl", "ttlInSeconds");
    const minTtl = store.limits?.minTtlSeconds;
    if (ttl !== undefined && minTtl !== undefined && ttl < minTtl) {
      throw new InvalidRequestError(`ttlInSeconds must be at least ${minTtl} on ${store.type}; got ${ttl}`, {
        code: ErrorCodes.invalidTtl,
        component: name,
      });
    }
    return {
      key: storeKey(key),
      value: encodeValue(value, name),
      etag,
      concurrency: opts.concurrency ?? "last-write",
      ttlInSeconds: ttl,
    };
  };

  const toDeleteRequest = (key: string, opts: StateDeleteOptions = {}): StoreDeleteRequest => {
    const etag = normaliseEtag(opts.etag);
    if (etag !== undefined) require("etag", "etag");
    return { key: storeKey(key), etag, concurrency: opts.concurrency ?? "last-write" };
  };

  /**
   * What a store throws, as a function should see it: an etag mismatch names the key the
   * function used (components know only the prefixed one); a backend failure gets the stable
   * code of its operation, with the backend's error as `cause`. Messages carry the backend's
   * error code, never its text, which can hold connection details.
   */
  const translate = async <R>(pending: Promise<R>, code: ErrorCode, what: () => string): Promise<R> => {
    try {
      return await pending;
    } catch (error) {
      throw translateError(error, code, what);
    }
  };

  const translateError = (error: unknown, code: ErrorCode, what: () => string): Error => {
    if (error instanceof EtagMismatchError) {
      const storeKeyPrefix = prefix === undefined ? undefined : `${prefix}${keySeparator}`;
      if (storeKeyPrefix && error.key.startsWith(storeKeyPrefix)) return new EtagMismatchError(error.key.slice(storeKeyPrefix.length), name);
      return error;
    }
    if (error instanceof MechaError) return error;
    const reason = (error as { code?: unknown })?.code ?? (error as Error)?.name ?? "error";
    return new MechaError(code, `${what()} on state store "${name}" (${store.type}) failed: ${String(reason)}`, { component: name, cause: error });
  };

  /** Runs one call per item; good items apply, failures are collected and named. */
  async function eachItem<I extends { key: string }, R>(
    items: readonly I[],
    run: (item: I) => Promise<R>,
  ): Promise<R[]> {
    const settled = await Promise.allSettled(items.map(run));
    const failures: Array<{ key: string; error: Error }> = [];
    const results: R[] = [];
    settled.forEach((outcome, i) => {
      if (outcome.status === "fulfilled") results.push(outcome.value);
      else failures.push({ key: items[i]!.key, error: asError(outcome.reason) });
    });
    if (failures.length) throw new BulkStateError(failures, name);
    return results;
  }

  const client: StateClient = {
    async get<T>(key: string) {
      const item = await translate(store.get(storeKey(key)), ErrorCodes.stateGet, () => `get "${key}"`);
      return item && { value: decodeValue(item.value) as T, etag: item.etag };
    },

    async set(key, value, opts) {
      return translate(store.set(toSetRequest(key, value, opts)), ErrorCodes.stateSave, () => `save "${key}"`);
    },

    async delete(key, opts) {
      await translate(store.delete(toDeleteRequest(key, opts)), ErrorCodes.stateDelete, () => `delete "${key}"`);
    },

    async getBulk<T>(keys: readonly string[]) {
      const storeKeys = keys.map(storeKey);
      const items = await translate(
        store.getBulk ? store.getBulk(storeKeys) : Promise.all(storeKeys.map((k) => store.get(k))),
        ErrorCodes.stateGet,
        () => `bulk get of ${keys.length} key(s)`,
      );
      return keys.map((key, i) => {
        const item = items[i];
        return {
          key,
          value: item === undefined ? undefined : (decodeValue(item.value) as T),
          etag: item?.etag,
        };
      });
    },

    async setBulk(items) {
      return eachItem(items, async (item) => ({
        key: item.key,
        ...(await translate(store.set(toSetRequest(item.key, item.value, item)), ErrorCodes.stateSave, () => `save "${item.key}"`)),
      }));
    },

    async deleteBulk(items) {
      await eachItem(items, (item) =>
        translate(store.delete(toDeleteRequest(item.key, item)), ErrorCodes.stateDelete, () => `delete "${item.key}"`),
      );
    },

    async transaction(operations) {
      require("transactional", "transaction");
      if (!store.transaction) throw new NotSupportedError("transaction", store.type, name);
      const storeOps = operations.map((op, i): StoreTransactionOperation => {
        if (op?.operation === "upsert") return { operation: "upsert", ...toSetRequest(op.key, op.value, op) };
        if (op?.operation === "delete") return { operation: "delete", ...toDeleteRequest(op.key, op) };
        throw new InvalidRequestError(
          `transaction operation ${i} must be "upsert" or "delete", got ${JSON.stringify((op as { operation?: unknown })?.operation)}`,
          { component: name },
        );
      });
      await translate(store.transaction(storeOps), ErrorCodes.stateTransaction, () => `transaction of ${storeOps.length} operation(s)`);
    },
  };
  return client;
}

function resolveKeyPrefix(keyPrefix: KeyPrefix, appId: string, storeName: string): string | undefined {
  switch (keyPrefix.toLowerCase()) {
    case "appid":
      return appId;
    case "name":
      return storeName;
    case "none":
      return undefined;
    default:
      return keyPrefix;
  }
}

/** Dapr treats an empty etag as none. */
function normaliseEtag(etag: string | undefined): string | undefined {
  return etag === undefined || etag === null || etag === "" ? undefined : String(etag);
}

/**
 * Parses a TTL: a whole number of seconds > 0, or -1 (meaning "no TTL"). Returns `undefined`
 * for no TTL.
 */
export function parseTtl(raw: unknown, component?: string): number | undefined {
  if (raw === undefined || raw === null || raw === "") return undefined;
  const ttl = typeof raw === "string" ? Number(raw.trim()) : raw;
  if (typeof ttl !== "number" || !Number.isInteger(ttl) || (ttl < 1 && ttl !== -1)) {
    throw new InvalidRequestError(
      `ttlInSeconds must be a whole number of seconds > 0, or -1 to remove the TTL; got ${JSON.stringify(raw)}`,
      { code: ErrorCodes.invalidTtl, component },
    );
  }
  return ttl === -1 ? undefined : ttl;
}

/** Values are stored as JSON unless they are bytes. */
export function encodeValue(value: unknown, component?: string): EncodedValue {
  if (value instanceof Uint8Array) return value;
  if (value instanceof ArrayBuffer) return new Uint8Array(value);
  if (value === undefined) {
    throw new InvalidRequestError("state value must not be undefined (use delete to remove a key)", {
      component,
    });
  }
  try {
    return JSON.stringify(value);
  } catch (cause) {
    throw new InvalidRequestError("state value cannot be serialised as JSON", { component, cause });
  }
}

export function decodeValue(value: EncodedValue): unknown {
  return typeof value === "string" ? JSON.parse(value) : value;
}

function asError(reason: unknown): Error {
  return reason instanceof Error ? reason : new Error(String(reason));
}

/**
 * The etag rule every store applies before a write, against the item currently stored (absent or
 * expired = `undefined`): a given etag must match; first-write without an etag means "only if
 * absent". Deletes pass `concurrency: "last-write"` so that only the etag counts.
 */
export function checkEtag(
  key: string,
  current: StoredItem | undefined,
  request: { etag?: string; concurrency: Concurrency },
  component?: string,
): void {
  const mismatch =
    request.etag !== undefined
      ? current?.etag !== request.etag
      : request.concurrency === "first-write" && current !== undefined;
  if (mismatch) throw new EtagMismatchError(key, component);
}
