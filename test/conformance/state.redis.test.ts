import { startTcpProxy } from "../support/tcp-proxy.ts";
import { Redis } from "ioredis";
import { afterAll, describe, expect, it } from "vitest";
import { createStateClient, type StateStoreComponent } from "../../src/blocks/state.ts";
import { create } from "../../src/components/state/redis.ts";
import { ComponentMetadata } from "../../src/config/metadata.ts";
import type { Logger } from "../../src/core/logger.ts";
import { ErrorCodes, EtagMismatchError, MechaError } from "../../src/errors.ts";
import { deleteKeys, killAndAwaitReconnect } from "../support/redis-connections.ts";
import { serviceOrSkip, services } from "../support/services.ts";
import { freshName, waitFor } from "../support/wait.ts";
import { describeStateConformance } from "./state-suite.ts";
import { configErrorFrom } from "../support/config-error.ts";
import { rejectionOf } from "../support/rejection.ts";

const type = "state.redis";
const up = await serviceOrSkip("redis", "the state.redis tests");
const redisHost = `${services.redis.host}:${services.redis.port}`;
/** Every app id of this file's own tests starts with this, so afterAll removes exactly their keys. */
const run = freshName("state-redis");

const opened: StateStoreComponent[] = [];
const open = (metadata: Record<string, string> = {}, name = freshName("orders")): StateStoreComponent => {
  const store = create({ name, appId: "app", baseDir: "/", metadata: new ComponentMetadata({ redisHost, ...metadata }, name) });
  opened.push(store);
  return store;
};
/** A client with a fresh app id: its keys are its own. */
const client = (store: StateStoreComponent, appId = freshName(run)) => createStateClient({ name: "orders", appId, store });
const admin = up ? new Redis({ host: services.redis.host, port: services.redis.port }) : undefined;
afterAll(async () => {
  await Promise.all(opened.splice(0).map((store) => store.close()));
  if (admin) {
    await deleteKeys(admin, `${run}*`);
    admin.disconnect();
  }
});

describe.skipIf(!up)(`${type} on Redis`, () => {
  describeStateConformance(type, async () => ({ store: create({ name: "orders", appId: "app", baseDir: "/", metadata: new ComponentMetadata({ redisHost }, "orders") }) }));

  describe("Dapr's layout", () => {
    it("stores a hash of data (the JSON text) and version (the etag), with Redis's expiry for a TTL", async () => {
      const appId = freshName(run);
      const state = client(open(), appId);
      const { etag } = await state.set("json", { n: 1 }, { ttlInSeconds: 60 });
      const key = `${appId}||json`;
      expect(await admin!.hgetall(key)).toEqual({ data: '{"n":1}', version: etag });
      expect(await admin!.ttl(key)).toBeGreaterThan(55);
      await state.set("json", { n: 2 });
      expect(await admin!.ttl(key)).toBe(-1);
    });

    it("marks bytes, so bytes that are valid JSON still read back as bytes", async () => {
      const appId = freshName(run);
      const state = client(open(), appId);
      const jsonLooking = new TextEncoder().encode('{"a":1}');
      await state.set("bytes", jsonLooking);
      expect(await admin!.hget(`${appId}||bytes`, "mecha-encoding")).toBe("bytes");
      expect((await state.get("bytes"))?.value).toStrictEqual(jsonLooking);
    });

    it("reads a value Dapr wrote, and writes it back with Dapr's etag", async () => {
      const appId = freshName(run);
      const key = `${appId}||from-dapr`;
      await admin!.hset(key, "data", '{"owner":"dapr"}', "version", "1");
      const state = client(open(), appId);
      expect(await state.get("from-dapr")).toEqual({ value: { owner: "dapr" }, etag: "1" });
      const { etag } = await state.set("from-dapr", { owner: "mecha" }, { etag: "1" });
      expect(etag).toBe("2");
      // Dapr's next write increments the same version field.
      await admin!.hset(key, "data", '{"owner":"dapr again"}');
      await admin!.hincrby(key, "version", 1);
      await expect(rejectionOf(state.set("from-dapr", "stale", { etag: "2" }))).resolves.toBeInstanceOf(EtagMismatchError);
      expect(await state.get("from-dapr")).toEqual({ value: { owner: "dapr again" }, etag: "3" });
    });

    it("reads data Dapr stored that is not JSON as bytes, verbatim", async () => {
      const appId = freshName(run);
      const raw = Buffer.from([0xff, 0x00, 0x68, 0x69]);
      await admin!.hset(`${appId}||raw`, "data", raw, "version", "7");
      await admin!.hset(`${appId}||text`, "data", "plain text", "version", "1");
      const state = client(open(), appId);
      expect(await state.get("raw")).toEqual({ value: new Uint8Array(raw), etag: "7" });
      expect((await state.get("text"))?.value).toStrictEqual(new TextEncoder().encode("plain text"));
    });

    it("fails with the Redis error WRONGTYPE, and overwrites nothing, when a key holds another type", async () => {
      const appId = freshName(run);
      await admin!.set(`${appId}||plain`, "not a hash");
      const state = client(open(), appId);
      const read = await rejectionOf(state.get("plain"));
      expect(read).toMatchObject({ code: ErrorCodes.stateGet });
      expect(read.message).toContain("WRONGTYPE");
      expect((await rejectionOf(state.set("plain", 1))).message).toContain("WRONGTYPE");
      expect(await admin!.get(`${appId}||plain`)).toBe("not a hash");
    });
  });

  describe("etags and transactions", () => {
    it("lets exactly one of two instances win a concurrent first-write of the same key", async () => {
      const appId = freshName(run);
      const [a, b] = [client(open(), appId), client(open(), appId)];
      const outcomes = await Promise.allSettled([a.set("race", "a", { concurrency: "first-write" }), b.set("race", "b", { concurrency: "first-write" })]);
      expect(outcomes.filter((o) => o.status === "fulfilled")).toHaveLength(1);
      expect((outcomes.find((o) => o.status === "rejected") as PromiseRejectedResult).reason).toBeInstanceOf(EtagMismatchError);
    });

    it("names the key whose etag failed inside a transaction", async () => {
      const state = client(open());
      const { etag: stale } = await state.set("b", "b0");
      await state.set("b", "b1");
      const error = await rejectionOf(
        state.transaction([
          { operation: "upsert", key: "a", value: "a1" },
          { operation: "upsert", key: "b", value: "b2", etag: stale },
        ]),
      );
      expect(error).toBeInstanceOf(EtagMismatchError);
      expect((error as EtagMismatchError).key).toBe("b");
      expect(await state.get("a")).toBeUndefined();
    });

    it("fails a first-write inside a transaction on an existing key, applying nothing", async () => {
      const state = client(open());
      await state.set("exists", 1);
      const error = await rejectionOf(
        state.transaction([
          { operation: "upsert", key: "new", value: 1 },
          { operation: "upsert", key: "exists", value: 2, concurrency: "first-write" },
        ]),
      );
      expect(error).toBeInstanceOf(EtagMismatchError);
      expect((await state.getBulk(["new", "exists"])).map((e) => e.value)).toEqual([undefined, 1]);
    });

    it("applies TTLs set inside a transaction", async () => {
      const appId = freshName(run);
      const state = client(open(), appId);
      await state.transaction([
        { operation: "upsert", key: "short", value: 1, ttlInSeconds: 30 },
        { operation: "upsert", key: "kept", value: 2 },
      ]);
      expect(await admin!.ttl(`${appId}||short`)).toBeGreaterThan(25);
      expect(await admin!.ttl(`${appId}||kept`)).toBe(-1);
    });
  });

  describe("odd input", () => {
    const keys = ["it's \"quoted\" \\", "100% _ * ? [a-z]", "ключ 🚀", "nul\u0000byte", "{braces}", "  spaced  "];
    it.each(keys)("keeps the key %j as it is, apart from every other key", async (key) => {
      const appId = freshName(run);
      const state = client(open(), appId);
      await state.set(key, { key });
      await state.set("other", "x");
      expect((await state.get(key))?.value).toEqual({ key });
      expect(await admin!.exists(`${appId}||${key}`)).toBe(1);
      await state.delete(key);
      expect((await state.get("other"))?.value).toBe("x");
    });

    it("stores a 1 MB value and reads it back verbatim", async () => {
      const state = client(open());
      const big = "x%_'\"\u0000é".repeat(150_000).slice(0, 1_048_576);
      await state.set("big", big);
      expect((await state.get("big"))?.value).toBe(big);
      const bytes = new Uint8Array(1_048_576).map((_, i) => (i * 31) % 256);
      await state.set("big-bytes", bytes);
      const read = (await state.get("big-bytes"))?.value;
      expect(read).toBeInstanceOf(Uint8Array);
      // Buffer comparison: a deep equality over a million elements takes seconds.
      expect(Buffer.compare(Buffer.from(read as Uint8Array), Buffer.from(bytes))).toBe(0);
    });

    it("stores values that look like Lua or Redis syntax as plain data", async () => {
      const state = client(open());
      const value = 'return redis.call("FLUSHALL") -- ]] \r\n*1\r\n$4\r\nPING\r\n';
      await state.set("lua", value);
      expect((await state.get("lua"))?.value).toBe(value);
    });
  });

  describe("connections", () => {
    it("reconnects after its connection is killed, logs the loss and the return, and the next calls succeed", async () => {
      const name = freshName("orders");
      const logged: string[] = [];
      const record = (level: string) => (message: string) => void logged.push(`${level}: ${message}`);
      const logger: Logger = { debug: record("debug"), info: record("info"), warn: record("warn"), error: record("error"), child: () => logger };
      const store = create({ name, appId: "app", baseDir: "/", logger, metadata: new ComponentMetadata({ redisHost }, name) });
      opened.push(store);
      const state = client(store);
      await state.set("before", 1);
      await killAndAwaitReconnect(admin!, name);
      await state.set("after", 2);
      expect((await state.getBulk(["before", "after"])).map((e) => e.value)).toEqual([1, 2]);
      expect(logged).toEqual([`warn: lost the connection to Redis at ${redisHost}; reconnecting`, `info: reconnected to Redis at ${redisHost}`]);
    });

    it("fails a write in flight when the connection drops with ERR_STATE_SAVE (ETIMEDOUT, outcome unknown), never sends it again, and then works", async () => {
      const proxy = await startTcpProxy(services.redis.port);
      try {
        const state = client(open({ redisHost: `127.0.0.1:${proxy.port}`, readTimeout: "1s" }));
        await state.set("k", "before");
        proxy.swallow();
        const pending = rejectionOf(state.set("k", "lost"));
        await waitFor(() => proxy.swallowed > 0, { what: "the write to reach the proxy" });
        proxy.cut();
        const error = await pending;
        expect(error).toBeInstanceOf(MechaError);
        expect(error.code).toBe(ErrorCodes.stateSave);
        expect(error.message).toContain("ETIMEDOUT");
        expect((error.cause as Error).message).toContain("outcome of a write is unknown");
        expect((await state.get("k"))?.value).toBe("before");
        await state.set("k", "after");
        expect((await state.get("k"))?.value).toBe("after");
      } finally {
        await proxy.close();
      }
    });

    it("fails a call while Redis is unreachable with a clear error, then works once Redis is back", async () => {
      const proxy = await startTcpProxy(services.redis.port);
      try {
        const state = client(open({ redisHost: `127.0.0.1:${proxy.port}` }));
        await state.set("k", 1);
        await proxy.stop();
        const error = await rejectionOf(state.get("k"));
        expect(error).toMatchObject({ code: ErrorCodes.stateGet });
        expect(error.message).toContain("ECONNREFUSED");
        expect((error.cause as Error).message).toContain(`could not reach Redis at 127.0.0.1:${proxy.port}`);
        await proxy.start();
        await waitFor(async () => (await state.get("k"))?.value === 1, { what: "the store to reconnect" });
      } finally {
        await proxy.close();
      }
    });

    it("never puts the password in an error when Redis cannot be reached", async () => {
      const password = "Pa55-state-do-not-leak";
      const error = await rejectionOf(client(open({ redisHost: "127.0.0.1:1", redisPassword: password })).set("k", 1));
      expect(error).toMatchObject({ code: ErrorCodes.stateSave });
      expect(JSON.stringify({ message: error.message, cause: (error.cause as Error).message, stack: error.stack })).not.toContain(password);
    });

    it("fails with WRONGPASS, and no password in the error, when Redis refuses the credentials", async () => {
      const password = "Pa55-wrong-do-not-leak";
      const error = await rejectionOf(client(open({ redisUsername: freshName("nobody"), redisPassword: password })).get("k"));
      expect(error).toMatchObject({ code: ErrorCodes.stateGet });
      expect(error.message).toContain("WRONGPASS");
      expect(JSON.stringify({ message: error.message, cause: (error.cause as Error).message, stack: error.stack })).not.toContain(password);
    });

    it("uses the database redisDB names", async () => {
      const appId = freshName(run);
      await client(open({ redisDB: "3" }), appId).set("k", "in db 3");
      const db3 = new Redis({ host: services.redis.host, port: services.redis.port, db: 3 });
      try {
        expect(await db3.hget(`${appId}||k`, "data")).toBe('"in db 3"');
        expect(await admin!.exists(`${appId}||k`)).toBe(0);
        await db3.del(`${appId}||k`);
      } finally {
        db3.disconnect();
      }
    });
  });
});

describe(`${type} metadata`, () => {
  const configError = (metadata: Record<string, string>) => configErrorFrom(() => create({ name: "orders", appId: "app", baseDir: "/", metadata: new ComponentMetadata(metadata, "orders") }));;

  it.each([
    ["a missing redisHost", {}, "redisHost"],
    ["a redisHost that is not host:port", { redisHost: "redis://localhost:6379" }, "redisHost"],
    ["a port out of range", { redisHost: "localhost:70000" }, "redisHost"],
    ["a list of hosts without failover", { redisHost: "a:6379,b:6379" }, "redisHost"],
    ["a redisPort that contradicts redisHost", { redisHost: "localhost:6379", redisPort: "6380" }, "redisPort"],
    ["a redisDB that is not a number", { redisHost, redisDB: "one" }, "redisDB"],
    ["redisType cluster", { redisHost, redisType: "cluster" }, "redisType"],
    ["a dialTimeout that is not a duration", { redisHost, dialTimeout: "soon" }, "dialTimeout"],
    ["readTimeout -1", { redisHost, readTimeout: "-1" }, "readTimeout"],
    ["a clientCert without a clientKey", { redisHost, enableTLS: "true", clientCert: "-----BEGIN CERTIFICATE-----" }, "clientKey"],
    ["enableTLS that is not a boolean", { redisHost, enableTLS: "maybe" }, "enableTLS"],
    ["failover without sentinelMasterName", { redisHost, failover: "true" }, "sentinelMasterName"],
    ["useEntraID", { redisHost, useEntraID: "true" }, "useEntraID"],
    ["a store-wide ttlInSeconds", { redisHost, ttlInSeconds: "60" }, "ttlInSeconds"],
  ])("rejects %s with a ComponentConfigError naming the field", (_label, metadata, field) => {
    expect(configError(metadata)).toMatchObject({ code: ErrorCodes.componentConfig, field });
  });

  it("accepts Dapr's pool and timeout fields it has no use for, and a bare host", async () => {
    const store = open({
      redisHost: "localhost",
      poolSize: "20",
      minIdleConns: "2",
      poolTimeout: "5s",
      maxConnAge: "30m",
      idleTimeout: "5m",
      idleCheckFrequency: "-1",
      writeTimeout: "3s",
      queryIndexes: "[]",
      redisMinRetryInterval: "-1",
      maxRetryBackoff: "2s",
      redisMaxRetries: "-1",
    });
    expect(store.features).toEqual(["etag", "transactional", "ttl"]);
  });

  it("connects on first use: create and close touch no network", async () => {
    const store = create({ name: "orders", appId: "app", baseDir: "/", metadata: new ComponentMetadata({ redisHost: "127.0.0.1:1" }, "orders") });
    await expect(store.close()).resolves.toBeUndefined();
  });
});

