/**
 * `lock.redis`: Dapr's standalone Redis lock. A lock is a plain string key (`lock||<app id>||<id>`,
 * the key Dapr uses) holding the owner, taken with `SET key owner NX PX <expiry>`, so Redis's own
 * expiry releases it; unlock is one Lua script that deletes the key only for its owner. A Dapr
 * sidecar and a mecha app with the same app id therefore contend for the same locks.
 *
 * As in Dapr, a Redis with replicas or behind Sentinel is refused: a lock written to a master
 * that fails over before replicating would be lost, and two owners would hold it.
 */
import type { Redis } from "ioredis";
import type { LockStoreComponent, UnlockStatus } from "../../blocks/lock.ts";
import { ComponentConfigError } from "../../errors.ts";
import { connectRedis } from "../redis-connection.ts";
import type { ComponentOptions } from "../types.ts";

const type = "lock.redis";

/** Deletes KEYS[1] if it holds ARGV[1]; -1 when there is no lock, -2 when another owner holds it. */
const unlockScript = `
local owner = redis.call("GET", KEYS[1])
if owner == false then return -1 end
if owner ~= ARGV[1] then return -2 end
return redis.call("DEL", KEYS[1])
`;

interface ScriptCommands {
  mechaUnlock(key: string, owner: string): Promise<number>;
}

/**
 * Creates a Redis lock store from Dapr's metadata (see src/components/redis-connection.ts for the
 * connection fields). `failover: true` is rejected, and so — on first use — is a Redis that
 * reports connected replicas. Dapr's lock-retry fields (`maxRetries` aside, which is the
 * connection's) are accepted and ignored: `tryLock` answers at once.
 *
 * @example
 * const locks = create({ name: "locks", appId: "app", baseDir: process.cwd(),
 *   metadata: new ComponentMetadata({ redisHost: "localhost:6379" }, "locks") });
 */
export function create(options: ComponentOptions): LockStoreComponent {
  const { metadata, name: component, logger } = options;
  if (metadata.boolean("failover", false)) {
    throw metadata.error("failover", "is not supported by lock.redis (as in Dapr): a lock taken on a master that fails over before replicating is lost");
  }
  const redis = connectRedis(metadata, component, { logger, scripts: { mechaUnlock: { lua: unlockScript, numberOfKeys: 1 } } });

  /** Dapr's check, made on first use: a replica could lose a lock on failover. */
  let standalone: Promise<void> | undefined;
  const checkStandalone = (client: Redis): Promise<void> =>
    (standalone ??= client.info("replication").then(
      (info) => {
        const replicas = Number(/connected_slaves:(\d+)/.exec(info)?.[1] ?? 0);
        if (replicas > 0) {
          throw new ComponentConfigError(`${redis.label} has ${replicas} connected replica(s); lock.redis needs a standalone Redis, as in Dapr (a lock can be lost when a replica takes over)`, {
            component,
            field: "redisHost",
          });
        }
      },
      (error: unknown) => {
        standalone = undefined;
        throw error;
      },
    ));

  return {
    type,

    async tryLock({ resourceId, lockOwner, expiryInSeconds }) {
      const reply = await redis.use(async (client) => {
        await checkStandalone(client);
        return client.set(resourceId, lockOwner, "PX", expiryInSeconds * 1000, "NX");
      });
      return { success: reply === "OK" };
    },

    async unlock({ resourceId, lockOwner }) {
      const result = await redis.use(async (client) => {
        await checkStandalone(client);
        return (client as Redis & ScriptCommands).mechaUnlock(resourceId, lockOwner);
      });
      const status: UnlockStatus = result === -1 ? "LOCK_DOES_NOT_EXIST" : result === -2 ? "LOCK_BELONGS_TO_OTHERS" : "SUCCESS";
      return { status };
    },

    async close() {
      standalone = undefined;
      await redis.close();
    },
  };
}
