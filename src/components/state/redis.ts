/**
 * `state.redis`: state in Redis, in Dapr's layout, so a Dapr app's data reads back and the other
 * way round: each key is a hash with `data` (the JSON text, or the bytes) and `version` (an
 * integer, which is the etag). A value stored as bytes also gets `mecha-encoding: bytes`, so it
 * reads back as bytes even when the bytes happen to be valid JSON; a hash without it (what Dapr
 * writes) reads back as JSON text when it is valid UTF-8 JSON, else as bytes.
 *
 * Every write — a set, a delete, a whole transaction — is one Lua script, which Redis runs
 * atomically: it checks every etag and first-write rule against the stored versions (and the
 * versions the transaction's own earlier operations leave), and writes nothing unless all pass.
 * TTLs are Redis's own key expiry, set in the same script, so a read never sees an expired value
 * and a re-save without a TTL (or with -1) removes it.
 *
 * A key deleted and written again starts from a random version rather than Dapr's 1, so an etag
 * from before the delete never matches the new value. Versions stay below 2^53.
 */
import type { Redis } from "ioredis";
import type { StateStoreComponent, StoredItem, StoreTransactionOperation } from "../../blocks/state.ts";
import { EtagMismatchError } from "../../errors.ts";
import { connectRedis } from "../redis-connection.ts";
import type { ComponentOptions } from "../types.ts";

const type = "state.redis";
const fields = ["data", "version", "mecha-encoding"] as const;
/** The values the write script takes per operation, after the start version. */
const argsPerOperation = 6;

/**
 * KEYS[i] is operation i's key. ARGV[1] is the version a new key starts at; then six values per
 * operation: kind ("set" | "del"), etag ("" = none), first-write ("1" | ""), data, encoding
 * ("bytes" | ""), TTL seconds ("" = none). Returns the index (1-based) of the first operation
 * whose etag or first-write rule fails, having written nothing; else each operation's new
 * version ("" for a delete).
 */
const writeScript = `
local start = ARGV[1]
local versions = {}
local function current(key)
  local version = versions[key]
  if version == nil then
    version = redis.call("HGET", key, "version")
    versions[key] = version
  end
  return version
end
local planned = {}
for i = 1, #KEYS do
  local at = 1 + (i - 1) * ${argsPerOperation}
  local kind, etag, firstWrite = ARGV[at + 1], ARGV[at + 2], ARGV[at + 3]
  local version = current(KEYS[i])
  if etag ~= "" then
    if version ~= etag then return i end
  elseif kind == "set" and firstWrite == "1" and version then
    return i
  end
  if kind == "set" then
    local n = version and tonumber(version)
    if n and n >= 1 and n < 9007199254740000 then planned[i] = string.format("%d", n + 1) else planned[i] = start end
  else
    planned[i] = false
  end
  versions[KEYS[i]] = planned[i]
end
local etags = {}
for i = 1, #KEYS do
  local at = 1 + (i - 1) * ${argsPerOperation}
  redis.call("DEL", KEYS[i])
  etags[i] = ""
  if planned[i] then
    if ARGV[at + 5] == "bytes" then
      redis.call("HSET", KEYS[i], "data", ARGV[at + 4], "version", planned[i], "mecha-encoding", "bytes")
    else
      redis.call("HSET", KEYS[i], "data", ARGV[at + 4], "version", planned[i])
    end
    if ARGV[at + 6] ~= "" then redis.call("EXPIRE", KEYS[i], ARGV[at + 6]) end
    etags[i] = planned[i]
  end
end
return etags
`;

/**
 * The common write — one key, no etag, last write wins — without the general script's tables and
 * loops. ARGV: start version, data, encoding ("bytes" | ""), TTL seconds ("" = none). Returns the new version.
 */
const setScript = `
local version = redis.call("HGET", KEYS[1], "version")
local n = version and tonumber(version)
local next
if n and n >= 1 and n < 9007199254740000 then next = string.format("%d", n + 1) else next = ARGV[1] end
if ARGV[3] == "bytes" then
  redis.call("HSET", KEYS[1], "data", ARGV[2], "version", next, "mecha-encoding", "bytes")
else
  redis.call("HSET", KEYS[1], "data", ARGV[2], "version", next)
  redis.call("HDEL", KEYS[1], "mecha-encoding")
end
if ARGV[4] ~= "" then redis.call("EXPIRE", KEYS[1], ARGV[4]) else redis.call("PERSIST", KEYS[1]) end
return next
`;

interface ScriptCommands {
  mechaStateWrite(numberOfKeys: number, ...keysAndArgs: Array<string | Buffer>): Promise<number | string[]>;
  mechaStateSet(key: string, start: string, data: string | Buffer, encoding: string, ttl: string): Promise<string>;
}

/**
 * Creates a Redis state store from Dapr's metadata (see src/components/redis-connection.ts for
 * the connection fields). Dapr's component-wide `ttlInSeconds` is rejected: a request's TTL of -1
 * could not remove it here. `queryIndexes` and `actorStateStore` are accepted and ignored (mecha
 * has no query API and no actors). ioredis is loaded and the client made on first use.
 *
 * @example
 * const store = create({ name: "orders", appId: "app", baseDir: process.cwd(),
 *   metadata: new ComponentMetadata({ redisHost: "localhost:6379" }, "orders") });
 */
export function create(options: ComponentOptions): StateStoreComponent {
  const { metadata, name: component, logger } = options;
  if (metadata.has("ttlInSeconds")) {
    throw metadata.error("ttlInSeconds", "a store-wide default TTL is not supported by mecha's state.redis: pass ttlInSeconds with each write");
  }
  const redis = connectRedis(metadata, component, { logger, scripts: { mechaStateWrite: { lua: writeScript }, mechaStateSet: { numberOfKeys: 1, lua: setScript } } });

  /** Runs operations through the write script; an etag rule that fails names its key. */
  async function write(operations: readonly StoreTransactionOperation[]): Promise<string[]> {
    const keys = operations.map((op) => op.key);
    const args = operations.flatMap((op): Array<string | Buffer> => {
      const etag = op.etag ?? "";
      if (op.operation === "delete") return ["del", etag, "", "", "", ""];
      const bytes = typeof op.value !== "string";
      return [
        "set",
        etag,
        op.concurrency === "first-write" ? "1" : "",
        bytes ? Buffer.from(op.value as Uint8Array) : (op.value as string),
        bytes ? "bytes" : "",
        op.ttlInSeconds === undefined ? "" : String(op.ttlInSeconds),
      ];
    });
    const result = await redis.use((client) =>
      (client as Redis & ScriptCommands).mechaStateWrite(keys.length, ...keys, startVersion(), ...args),
    );
    if (typeof result === "number") throw new EtagMismatchError(operations[result - 1]!.key, component);
    return result;
  }

  return {
    type,
    features: ["etag", "transactional", "ttl"],

    async get(key) {
      return toItem(await redis.use((client) => client.hmgetBuffer(key, ...fields)));
    },

    async getBulk(keys) {
      return redis.use(async (client) => {
        const pipeline = client.pipeline();
        for (const key of keys) pipeline.hmgetBuffer(key, ...fields);
        return ((await pipeline.exec()) ?? []).map(([error, reply]) => {
          if (error) throw error;
          return toItem(reply as Array<Buffer | null>);
        });
      });
    },

    async set(request) {
      if (request.etag === undefined && request.concurrency === "last-write") {
        const bytes = typeof request.value !== "string";
        const data = bytes ? Buffer.from(request.value as Uint8Array) : (request.value as string);
        const ttl = request.ttlInSeconds === undefined ? "" : String(request.ttlInSeconds);
        return { etag: await redis.use((client) => (client as Redis & ScriptCommands).mechaStateSet(request.key, startVersion(), data, bytes ? "bytes" : "", ttl)) };
      }
      const [etag] = await write([{ operation: "upsert", ...request }]);
      return { etag: etag! };
    },

    async delete(request) {
      await write([{ operation: "delete", ...request }]);
    },

    async transaction(operations) {
      if (operations.length) await write(operations);
    },

    close: () => redis.close(),
  };
}

/** A random version for a new key: a later delete and re-insert never reuses an etag. */
function startVersion(): string {
  if (poolOffset + 2 > pool.length) {
    crypto.getRandomValues(pool);
    poolOffset = 0;
  }
  const high = pool[poolOffset++]!;
  const low = pool[poolOffset++]!;
  return String((high % 2 ** 16) * 2 ** 32 + low + 1);
}
/** Random words drawn 4 KiB at a time: one getRandomValues call per write cost about 5 µs. */
const pool = new Uint32Array(1024);
let poolOffset = pool.length;

const utf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

/** A hash's `data`, `version` and `mecha-encoding` as a stored item; no `data` is no item. */
function toItem([data, version, encoding]: Array<Buffer | null>): StoredItem | undefined {
  if (!data) return undefined;
  const etag = version?.toString() ?? "";
  if (encoding?.toString() === "bytes") return { value: new Uint8Array(data), etag };
  return { value: jsonText(data) ?? new Uint8Array(data), etag };
}

/** The data as text when it is UTF-8 JSON (what mecha and Dapr's JSON writes store). */
function jsonText(data: Buffer): string | undefined {
  try {
    const text = utf8.decode(data);
    JSON.parse(text);
    return text;
  } catch {
    return undefined;
  }
}
