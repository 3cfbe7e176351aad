/**
 * Redis: mecha's `state.redis` through the state client beside ioredis used by hand.
 *
 * - **mecha**: `runtime.state(name)` (the state client over the component): `get` is one HMGET of
 *   the key's hash (`data`, `version`, `mecha-encoding`); `set` is one EVALSHA of the component's
 *   write script (checks the etag rules, replaces the hash, bumps `version`).
 * - **same layout by hand** (the target's baseline): the data model mecha keeps — a hash per key
 *   with the JSON in `data` and a `version` that every write increments — written the way one
 *   would by hand: `HMGET key data version`, then a two-line Lua script (`HSET data`, `HINCRBY
 *   version 1`), so the write stays one atomic round trip. The same round trips as mecha.
 * - **plain GET/SET**: a JSON string per key, no version: the least a cache-style user would do,
 *   for context.
 */
import { Redis } from "ioredis";
import { componentCatalog } from "../../src/components/catalog.ts";
import { createConsoleLogger } from "../../src/core/logger.ts";
import { Runtime } from "../../src/core/runtime.ts";
import { services } from "../../test/support/services.ts";
import { counterValue, type StateBackend, type StateSide } from "./load.ts";

const { host, port } = services.redis;
type Counter = { n: number };

/** The hand-written write: the JSON into `data`, `version` incremented, in one atomic step. */
const hashWrite = `redis.call("HSET", KEYS[1], "data", ARGV[1])
return redis.call("HINCRBY", KEYS[1], "version", 1)`;

/** `keys` are the names a function uses; each side stores them under its own prefix. */
export async function redisStateBackend(prefix: string, keys: readonly string[]): Promise<StateBackend> {
  const runtime = new Runtime({
    appId: `${prefix}-mecha`,
    components: [{ name: "bench", type: "state.redis", version: "v1", metadata: [{ name: "redisHost", value: `${host}:${port}` }], scopes: [] }],
    catalog: componentCatalog,
    baseDir: process.cwd(),
    logger: createConsoleLogger({ level: "warn" }),
  });
  const state = await runtime.state("bench");
  const mecha: StateSide = {
    label: "mecha (state client + state.redis)",
    async pair(key) {
      const current = await state.get<Counter>(key);
      await state.set(key, { n: counterValue(current?.value) + 1 });
    },
    close: () => runtime.close(),
  };

  const byHand = (label: string, prefixed: string, pair: (redis: Redis & HashWrite, key: string) => Promise<void>): StateSide => {
    const redis = new Redis({ host, port, scripts: { hashWrite: { numberOfKeys: 1, lua: hashWrite } } }) as Redis & HashWrite;
    return { label, pair: (key) => pair(redis, `${prefixed}||${key}`), close: async () => void (await redis.quit()) };
  };
  const sameLayout = byHand("same layout by hand: HMGET + Lua HSET/HINCRBY", `${prefix}-hash`, async (redis, key) => {
    const [data] = await redis.hmget(key, "data", "version");
    const current = data ? (JSON.parse(data) as Counter) : undefined;
    await redis.hashWrite(key, JSON.stringify({ n: counterValue(current) + 1 }));
  });
  const plain = byHand("plain GET + SET of a JSON string", `${prefix}-plain`, async (redis, key) => {
    const data = await redis.get(key);
    const current = data ? (JSON.parse(data) as Counter) : undefined;
    await redis.set(key, JSON.stringify({ n: counterValue(current) + 1 }));
  });

  return {
    name: "Redis",
    sides: [mecha, sameLayout, plain],
    async close() {
      const admin = new Redis({ host, port });
      await admin.del(...[`${prefix}-mecha`, `${prefix}-hash`, `${prefix}-plain`].flatMap((p) => keys.map((key) => `${p}||${key}`)));
      await admin.quit();
    },
  };
}

interface HashWrite {
  hashWrite(key: string, data: string): Promise<number>;
}
