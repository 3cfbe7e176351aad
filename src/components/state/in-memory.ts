/**
 * `state.in-memory`: a state store in a `Map`, for tests and single-process development. It is
 * strongly consistent and supports etags, transactions and TTL. Nothing survives a restart.
 */
import {
  checkEtag,
  type EncodedValue,
  type StateFeature,
  type StateStoreComponent,
  type StoreDeleteRequest,
  type StoreSetRequest,
  type StoredItem,
  type StoreTransactionOperation,
} from "../../blocks/state.ts";
import type { ComponentOptions } from "../types.ts";

const type = "state.in-memory";

const features: readonly StateFeature[] = ["etag", "transactional", "ttl"];

interface Entry {
  value: EncodedValue;
  etag: string;
  /** Epoch milliseconds; `undefined` = never expires. */
  expiresAt: number | undefined;
}

/**
 * Etags come from one counter shared by every instance in the process, so a value is never
 * handed out twice: after delete + re-insert, an etag read before the delete cannot match the
 * new item by accident (the ABA problem a per-key version number would have).
 */
let etagCounter = 0;
const nextEtag = (): string => String(++etagCounter);

/**
 * Bytes are copied in and out, so neither the writer nor a reader can change what is stored.
 * `new Uint8Array(bytes)` rather than `bytes.slice()`: on a Buffer, `slice` is a view, not a copy.
 */
const copyValue = (value: EncodedValue): EncodedValue => (typeof value === "string" ? value : new Uint8Array(value));

/**
 * Creates an in-memory state store. It takes no metadata.
 *
 * @example
 * const store = create({ name: "cache", appId: "app", baseDir: ".", metadata: new ComponentMetadata({}, "cache") });
 * await store.set({ key: "app||k", value: '"v"', concurrency: "last-write" });
 */
export function create(options: ComponentOptions): StateStoreComponent {
  const component = options.name;
  const items = new Map<string, Entry>();

  /** The live entry for a key; an expired one is dropped here, because TTL is honoured at read time. */
  const live = (key: string, now: number): Entry | undefined => {
    const entry = items.get(key);
    if (entry?.expiresAt !== undefined && entry.expiresAt <= now) {
      items.delete(key);
      return undefined;
    }
    return entry;
  };

  const toItem = (entry: Entry): StoredItem => ({ value: copyValue(entry.value), etag: entry.etag });

  const newEntry = (request: StoreSetRequest, now: number): Entry => ({
    value: copyValue(request.value),
    etag: nextEtag(),
    expiresAt: request.ttlInSeconds === undefined ? undefined : now + request.ttlInSeconds * 1000,
  });

  /**
   * Validates every operation against a simulated view (the store plus the earlier operations'
   * effects) and returns the changes; nothing is applied until every check has passed, so a
   * transaction is all or none.
   */
  const plan = (operations: readonly StoreTransactionOperation[], now: number): Map<string, Entry | undefined> => {
    const changes = new Map<string, Entry | undefined>();
    const current = (key: string) => (changes.has(key) ? changes.get(key) : live(key, now));
    for (const op of operations) {
      if (op.operation === "upsert") {
        checkEtag(op.key, current(op.key), op, component);
        changes.set(op.key, newEntry(op, now));
      } else {
        checkEtag(op.key, current(op.key), { etag: op.etag, concurrency: "last-write" }, component);
        changes.set(op.key, undefined);
      }
    }
    return changes;
  };

  const apply = (changes: Map<string, Entry | undefined>): void => {
    for (const [key, entry] of changes) {
      if (entry === undefined) items.delete(key);
      else items.set(key, entry);
    }
  };

  return {
    type,
    features,

    async get(key) {
      const entry = live(key, Date.now());
      return entry && toItem(entry);
    },

    async getBulk(keys) {
      const now = Date.now();
      return keys.map((key) => {
        const entry = live(key, now);
        return entry && toItem(entry);
      });
    },

    async set(request: StoreSetRequest) {
      const changes = plan([{ operation: "upsert", ...request }], Date.now());
      apply(changes);
      return { etag: changes.get(request.key)!.etag };
    },

    async delete(request: StoreDeleteRequest) {
      apply(plan([{ operation: "delete", ...request }], Date.now()));
    },

    async transaction(operations) {
      apply(plan(operations, Date.now()));
    },

    async close() {
      items.clear();
    },
  };
}
