import { Redis } from "ioredis";
import { afterAll, describe, expect, it } from "vitest";
import { createLockClient, type LockStoreComponent } from "../../src/blocks/lock.ts";
import { create } from "../../src/components/lock/redis.ts";
import { componentCatalog } from "../../src/components/catalog.ts";
import { ComponentMetadata } from "../../src/config/metadata.ts";
import { Runtime } from "../../src/core/runtime.ts";
import { ComponentConfigError, ComponentNotFoundError, ErrorCodes, MechaError } from "../../src/errors.ts";
import { serviceOrSkip, services } from "../support/services.ts";
import { deleteKeys, killAndAwaitReconnect } from "../support/redis-connections.ts";
import { freshName } from "../support/wait.ts";
import { describeLockConformance } from "./lock-suite.ts";
import { configErrorFrom } from "../support/config-error.ts";
import { rejectionOf } from "../support/rejection.ts";

const type = "lock.redis";
const up = await serviceOrSkip("redis", "the lock.redis tests");
const redisHost = `${services.redis.host}:${services.redis.port}`;
/** Every app id of this file's own tests starts with this, so afterAll removes exactly their keys. */
const run = freshName("lock-redis");

const opened: LockStoreComponent[] = [];
const open = (metadata: Record<string, string> = {}, name = freshName("locks")): LockStoreComponent => {
  const store = create({ name, appId: "app", baseDir: "/", metadata: new ComponentMetadata({ redisHost, ...metadata }, name) });
  opened.push(store);
  return store;
};
const admin = up ? new Redis({ host: services.redis.host, port: services.redis.port }) : undefined;
afterAll(async () => {
  await Promise.all(opened.splice(0).map((store) => store.close()));
  if (admin) {
    await deleteKeys(admin, `lock||${run}*`);
    admin.disconnect();
  }
});

describe.skipIf(!up)(`${type} on Redis`, () => {
  describeLockConformance(type, async () => ({ store: create({ name: "locks", appId: "app", baseDir: "/", metadata: new ComponentMetadata({ redisHost }, "locks") }) }));

  it("keeps a lock where Dapr does: lock||<app id>||<resource> holds the owner, expiring with the lock", async () => {
    const appId = freshName(run);
    const locks = createLockClient({ name: "locks", appId, store: open() });
    await locks.tryLock({ resourceId: "order-1", lockOwner: "owner-a", expiryInSeconds: 30 });
    const key = `lock||${appId}||order-1`;
    expect(await admin!.get(key)).toBe("owner-a");
    const ttl = await admin!.pttl(key);
    expect(ttl).toBeGreaterThan(25_000);
    expect(ttl).toBeLessThanOrEqual(30_000);
  });

  it("contends with a lock a Dapr sidecar took on the same key", async () => {
    const appId = freshName(run);
    await admin!.set(`lock||${appId}||shared`, "dapr-owner", "PX", 30_000, "NX");
    const locks = createLockClient({ name: "locks", appId, store: open() });
    expect(await locks.tryLock({ resourceId: "shared", lockOwner: "mecha-owner", expiryInSeconds: 30 })).toEqual({ success: false });
    expect(await locks.unlock({ resourceId: "shared", lockOwner: "dapr-owner" })).toEqual({ status: "SUCCESS" });
  });

  it("reconnects after its connection is killed, and the next calls succeed", async () => {
    const name = freshName("locks");
    const locks = createLockClient({ name, appId: freshName(run), store: open({}, name) });
    await locks.tryLock({ resourceId: "before", lockOwner: "a", expiryInSeconds: 30 });
    await killAndAwaitReconnect(admin!, name);
    expect(await locks.tryLock({ resourceId: "after", lockOwner: "a", expiryInSeconds: 30 })).toEqual({ success: true });
    expect(await locks.unlock({ resourceId: "before", lockOwner: "a" })).toEqual({ status: "SUCCESS" });
  });

  it("fails with ERR_TRY_LOCK naming the cause, and no password, when Redis cannot be reached", async () => {
    const password = "Pa55-lock-do-not-leak";
    const locks = createLockClient({ name: "locks", appId: "app", store: open({ redisHost: "127.0.0.1:1", redisPassword: password }) });
    const error = await rejectionOf(locks.tryLock({ resourceId: "r", lockOwner: "a", expiryInSeconds: 1 }));
    expect(error).toBeInstanceOf(MechaError);
    expect(error.code).toBe(ErrorCodes.tryLock);
    expect(error.message).toContain("ECONNREFUSED");
    expect((error.cause as Error).message).toContain("127.0.0.1:1");
    expect(JSON.stringify({ message: error.message, cause: (error.cause as Error).message, stack: error.stack })).not.toContain(password);
    const unlockError = await rejectionOf(locks.unlock({ resourceId: "r", lockOwner: "a" }));
    expect(unlockError.code).toBe(ErrorCodes.unlock);
  });

  it("serves ctx.lock(name) through the runtime, with the component's keyPrefix", async () => {
    const name = freshName("locks");
    const prefix = freshName("shared");
    const runtime = new Runtime({
      appId: "runtime-app",
      catalog: componentCatalog,
      baseDir: "/",
      env: {},
      components: [{ name, type, version: "v1", scopes: [], metadata: [{ name: "redisHost", value: redisHost }, { name: "keyPrefix", value: prefix }] }],
    });
    try {
      const ctx = runtime.createContext();
      expect(await ctx.lock(name).tryLock({ resourceId: "job", lockOwner: "me", expiryInSeconds: 30 })).toEqual({ success: true });
      expect(await admin!.get(`lock||${prefix}||job`)).toBe("me");
      expect(await ctx.lock(name).unlock({ resourceId: "job", lockOwner: "me" })).toEqual({ status: "SUCCESS" });
      await expect(ctx.lock("no-such-store").tryLock({ resourceId: "job", lockOwner: "me", expiryInSeconds: 1 })).rejects.toBeInstanceOf(ComponentNotFoundError);
    } finally {
      await runtime.close();
    }
  });
});

describe(`${type} metadata`, () => {
  const configError = (metadata: Record<string, string>) => configErrorFrom(() => create({ name: "locks", appId: "app", baseDir: "/", metadata: new ComponentMetadata(metadata, "locks") }));;

  it("requires redisHost", () => {
    expect(configError({})).toMatchObject({ code: ErrorCodes.componentConfig, field: "redisHost" });
  });

  it("refuses failover, as Dapr's standalone lock does", () => {
    const error = configError({ redisHost, failover: "true", sentinelMasterName: "mymaster" });
    expect(error).toMatchObject({ code: ErrorCodes.componentConfig, field: "failover" });
    expect(error.message).toContain("lost");
  });

  it("refuses redisType cluster", () => {
    expect(configError({ redisHost, redisType: "cluster" })).toMatchObject({ field: "redisType" });
  });

  it("rejects a keyPrefix containing ||", () => {
    expect(() => createLockClient({ name: "locks", appId: "app", keyPrefix: "a||b", store: open() })).toThrow(ComponentConfigError);
  });

  it("connects on first use: create and close touch no network", async () => {
    const store = create({ name: "locks", appId: "app", baseDir: "/", metadata: new ComponentMetadata({ redisHost: "127.0.0.1:1" }, "locks") });
    await expect(store.close()).resolves.toBeUndefined();
  });
});
