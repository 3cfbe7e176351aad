/**
 * The lock conformance suite: the specifications every lock store passes, run through
 * `createLockClient`, the client a function gets from `ctx.lock(name)`. Dapr's lock semantics:
 * a lock is held by one owner until it unlocks it or it expires; a held lock is refused to
 * everyone (its owner too) without an error; unlock answers SUCCESS, LOCK_DOES_NOT_EXIST or
 * LOCK_BELONGS_TO_OTHERS. Every test uses a client with a fresh app id, so its locks never meet
 * another test's or run's locks.
 */
import { afterAll, describe, expect, it } from "vitest";
import { createLockClient, type LockClient, type LockStoreComponent } from "../../src/blocks/lock.ts";
import { ErrorCodes } from "../../src/errors.ts";
import { freshName, waitFor } from "../support/wait.ts";
import { rejectionOf } from "../support/rejection.ts";

export interface LockStoreFixture {
  store: LockStoreComponent;
  /** Removes whatever the factory created besides the store. */
  cleanup?: () => Promise<void>;
}

/** Builds the store under test. Called once, when the suite is collected. */
export type LockStoreFactory = () => Promise<LockStoreFixture>;

/** The expiry cases use 1 s locks; a lock must be free again well within this. */
const expiryDeadlineMs = 5_000;

/**
 * Registers the conformance cases for one lock store.
 *
 * @example
 * describeLockConformance("lock.redis", async () => ({ store: create(options) }));
 */
export function describeLockConformance(name: string, factory: LockStoreFactory): void {
  describe(`lock conformance: ${name}`, async () => {
    const { store, cleanup } = await factory();
    afterAll(async () => {
      await store.close();
      await cleanup?.();
    });

    const freshClient = (options: { appId?: string; keyPrefix?: string } = {}): LockClient =>
      createLockClient({ name: "conformance-locks", appId: options.appId ?? freshName("app"), keyPrefix: options.keyPrefix, store });
    const lock = (resourceId: string, lockOwner: string, expiryInSeconds = 60) => ({ resourceId, lockOwner, expiryInSeconds });

    describe("tryLock and unlock", () => {
      it("takes a free lock", async () => {
        expect(await freshClient().tryLock(lock("r", "alice"))).toEqual({ success: true });
      });

      it("refuses a held lock to another owner without an error", async () => {
        const locks = freshClient();
        await locks.tryLock(lock("r", "alice"));
        expect(await locks.tryLock(lock("r", "bob"))).toEqual({ success: false });
      });

      it("is not reentrant: the owner's second tryLock is refused too", async () => {
        const locks = freshClient();
        await locks.tryLock(lock("r", "alice"));
        expect(await locks.tryLock(lock("r", "alice"))).toEqual({ success: false });
      });

      it("keeps resources apart: a lock on one resource does not hold another", async () => {
        const locks = freshClient();
        await locks.tryLock(lock("a", "alice"));
        expect(await locks.tryLock(lock("b", "bob"))).toEqual({ success: true });
      });

      it("releases on unlock by the owner (SUCCESS), after which another owner takes it", async () => {
        const locks = freshClient();
        await locks.tryLock(lock("r", "alice"));
        expect(await locks.unlock({ resourceId: "r", lockOwner: "alice" })).toEqual({ status: "SUCCESS" });
        expect(await locks.tryLock(lock("r", "bob"))).toEqual({ success: true });
      });

      it("refuses unlock by another owner (LOCK_BELONGS_TO_OTHERS) and keeps the lock", async () => {
        const locks = freshClient();
        await locks.tryLock(lock("r", "alice"));
        expect(await locks.unlock({ resourceId: "r", lockOwner: "bob" })).toEqual({ status: "LOCK_BELONGS_TO_OTHERS" });
        expect(await locks.tryLock(lock("r", "bob"))).toEqual({ success: false });
        expect(await locks.unlock({ resourceId: "r", lockOwner: "alice" })).toEqual({ status: "SUCCESS" });
      });

      it("answers LOCK_DOES_NOT_EXIST for a lock nobody holds, and for a second unlock", async () => {
        const locks = freshClient();
        expect(await locks.unlock({ resourceId: "never", lockOwner: "alice" })).toEqual({ status: "LOCK_DOES_NOT_EXIST" });
        await locks.tryLock(lock("r", "alice"));
        await locks.unlock({ resourceId: "r", lockOwner: "alice" });
        expect(await locks.unlock({ resourceId: "r", lockOwner: "alice" })).toEqual({ status: "LOCK_DOES_NOT_EXIST" });
      });

      it("gives a lock to exactly one of 20 owners racing for it", async () => {
        const locks = freshClient();
        const outcomes = await Promise.all(Array.from({ length: 20 }, (_, i) => locks.tryLock(lock("race", `owner-${i}`))));
        expect(outcomes.filter((o) => o.success)).toHaveLength(1);
      });

      it.each([
        ["quotes and a backslash", `it's "quoted" \\ too`],
        ["glob and percent characters", "100% * ? [a-z] _ %s"],
        ["unicode", "ключ 🚀 日本"],
        ["a NUL byte", "a\u0000b"],
        ["a 10 kB string", "x".repeat(10_000)],
      ])("takes and releases a lock whose resource and owner hold %s", async (_kind, text) => {
        const locks = freshClient();
        expect(await locks.tryLock(lock(text, text))).toEqual({ success: true });
        expect(await locks.tryLock(lock(text, `${text}-other`))).toEqual({ success: false });
        expect(await locks.unlock({ resourceId: text, lockOwner: `${text}-other` })).toEqual({ status: "LOCK_BELONGS_TO_OTHERS" });
        expect(await locks.unlock({ resourceId: text, lockOwner: text })).toEqual({ status: "SUCCESS" });
      });
    });

    // These cases wait for real time to pass, so they run side by side.
    describe.concurrent("expiry", () => {
      const untilFree = (locks: LockClient, resourceId: string) =>
        waitFor(async () => (await locks.tryLock(lock(resourceId, freshName("probe"), 1))).success, {
          timeoutMs: expiryDeadlineMs,
          intervalMs: 50,
          what: `lock "${resourceId}" to expire`,
        });

      it("frees a lock when its expiry passes, for another owner to take", async () => {
        const locks = freshClient();
        await locks.tryLock(lock("r", "alice", 1));
        expect(await locks.tryLock(lock("r", "bob", 1))).toEqual({ success: false });
        await waitFor(async () => (await locks.tryLock(lock("r", "bob", 60))).success, {
          timeoutMs: expiryDeadlineMs,
          intervalMs: 50,
          what: "the lock to expire",
        });
        expect(await locks.unlock({ resourceId: "r", lockOwner: "alice" })).toEqual({ status: "LOCK_BELONGS_TO_OTHERS" });
      });

      it("answers LOCK_DOES_NOT_EXIST to an owner whose lock has expired", async () => {
        const locks = freshClient();
        await locks.tryLock(lock("r", "alice", 1));
        // Taken after "r": once it is free, "r" has expired too.
        await locks.tryLock(lock("clock", "clock", 1));
        await untilFree(locks, "clock");
        expect(await locks.unlock({ resourceId: "r", lockOwner: "alice" })).toEqual({ status: "LOCK_DOES_NOT_EXIST" });
      });

      it("holds a lock until its expiry, not only until the next second", async () => {
        const locks = freshClient();
        const start = Date.now();
        await locks.tryLock(lock("r", "alice", 2));
        await untilFree(locks, "r");
        expect(Date.now() - start).toBeGreaterThanOrEqual(1_900);
      });
    });

    describe("key prefix", () => {
      it("keeps apps apart by default: the same resource in two app ids is two locks", async () => {
        const a = freshClient({ appId: freshName("app-a") });
        const b = freshClient({ appId: freshName("app-b") });
        expect(await a.tryLock(lock("r", "alice"))).toEqual({ success: true });
        expect(await b.tryLock(lock("r", "bob"))).toEqual({ success: true });
      });

      it("shares locks between app ids with keyPrefix none", async () => {
        const resource = freshName("shared");
        const a = freshClient({ appId: "app-a", keyPrefix: "none" });
        const b = freshClient({ appId: "app-b", keyPrefix: "none" });
        await a.tryLock(lock(resource, "alice"));
        expect(await b.tryLock(lock(resource, "bob"))).toEqual({ success: false });
        expect(await b.unlock({ resourceId: resource, lockOwner: "alice" })).toEqual({ status: "SUCCESS" });
      });

      it("shares locks between app ids with a literal keyPrefix", async () => {
        const prefix = freshName("team");
        const a = freshClient({ appId: "app-a", keyPrefix: prefix });
        const b = freshClient({ appId: "app-b", keyPrefix: prefix });
        await a.tryLock(lock("r", "alice"));
        expect(await b.tryLock(lock("r", "bob"))).toEqual({ success: false });
      });
    });

    describe("malformed requests", () => {
      const malformed: ReadonlyArray<[string, () => Promise<unknown>]> = [
        ["an empty resourceId", () => freshClient().tryLock(lock("", "alice"))],
        ["a resourceId containing ||", () => freshClient().tryLock(lock("a||b", "alice"))],
        ["an empty lockOwner", () => freshClient().tryLock(lock("r", ""))],
        ["expiryInSeconds 0", () => freshClient().tryLock(lock("r", "alice", 0))],
        ["expiryInSeconds -1", () => freshClient().tryLock(lock("r", "alice", -1))],
        ["expiryInSeconds 1.5", () => freshClient().tryLock(lock("r", "alice", 1.5))],
        ['expiryInSeconds "10"', () => freshClient().tryLock({ resourceId: "r", lockOwner: "alice", expiryInSeconds: "10" as unknown as number })],
        ["an unlock with an empty resourceId", () => freshClient().unlock({ resourceId: "", lockOwner: "alice" })],
        ["an unlock with an empty lockOwner", () => freshClient().unlock({ resourceId: "r", lockOwner: "" })],
      ];
      it.each(malformed)("rejects %s with ERR_MALFORMED_REQUEST", async (_label, call) => {
        expect((await rejectionOf(call())).code).toBe(ErrorCodes.invalidRequest);
      });

      it("takes no lock when the request is malformed", async () => {
        const locks = freshClient();
        await rejectionOf(locks.tryLock(lock("r", "alice", 0)));
        expect(await locks.tryLock(lock("r", "bob"))).toEqual({ success: true });
      });
    });
  });
}
