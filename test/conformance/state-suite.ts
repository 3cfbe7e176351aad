/**
 * The state conformance suite: one set of specifications that every state component passes,
 * run through `createStateClient`, the same client a function gets from `ctx.state(name)`.
 *
 * The cases a store gets follow its declared `features`, both ways: a declared feature must work,
 * and an undeclared one must fail with a clear NotSupportedError instead of half-working. Every
 * test uses a client with a fresh app id, so its keys never meet another test's or run's keys.
 */
import { afterAll, describe, expect, it } from "vitest";
import {
  createStateClient,
  StateFeatures,
  type KeyPrefix,
  type StateClient,
  type StateFeature,
  type StateStoreComponent,
} from "../../src/blocks/state.ts";
import { BulkStateError, ErrorCodes, EtagMismatchError, NotSupportedError } from "../../src/errors.ts";
import { incrementWithEtags } from "../support/etag-increments.ts";
import { freshName, waitFor } from "../support/wait.ts";
import { rejectionOf } from "../support/rejection.ts";

export interface StateStoreFixture {
  store: StateStoreComponent;
  /** Removes whatever the factory created besides the store (temp dirs, tables). */
  cleanup?: () => Promise<void>;
}

/** Builds the store under test. Called once, when the suite is collected. */
export type StateStoreFactory = () => Promise<StateStoreFixture>;

/** The TTL cases use 1 s TTLs; expiry must be visible well within this. */
const ttlDeadlineMs = 5_000;

const valueKinds: ReadonlyArray<[string, unknown]> = [
  ["an object", { name: "mecha", count: 3, nested: { ok: true, list: [1, "two", null] } }],
  ["a string", "hello"],
  ["a number", 42.5],
  ["zero", 0],
  ["a boolean", false],
  ["null", null],
  ["bytes as a Uint8Array", new Uint8Array([0, 1, 127, 128, 255])],
  ["empty bytes", new Uint8Array(0)],
  ["an empty string", ""],
  ["nested arrays", [[1, [2, [3, []]]], [], ["a", ["b"]]]],
  ["unicode text", "héllo wörld — 日本語 🚀 \u2028 \u0000"],
];

async function expectEtagMismatch(call: Promise<unknown>): Promise<void> {
  const error = await rejectionOf(call);
  expect(error).toBeInstanceOf(EtagMismatchError);
  expect(error.code).toBe(ErrorCodes.etagMismatch);
}

/**
 * Registers the conformance cases for one state store.
 *
 * @example
 * describeStateConformance("state.in-memory", async () => ({ store: create(options) }));
 */
export function describeStateConformance(name: string, factory: StateStoreFactory): void {
  describe(`state conformance: ${name}`, async () => {
    const { store, cleanup } = await factory();
    afterAll(async () => {
      await store.close();
      await cleanup?.();
    });

    const declares = (feature: StateFeature) => store.features.includes(feature);
    /** The expiry cases use 1 s TTLs; a store with a longer minimum (Workers KV: 60 s) skips them. */
    const minTtlSeconds = store.limits?.minTtlSeconds ?? 1;

    /** A client whose keys no other test or run uses (a fresh app id is a fresh key prefix). */
    const freshClient = (options: { appId?: string; keyPrefix?: KeyPrefix } = {}): StateClient =>
      createStateClient({ name: "conformance-store", appId: options.appId ?? freshName("app"), keyPrefix: options.keyPrefix, store });

    async function expectNotSupported(call: Promise<unknown>): Promise<void> {
      const error = await rejectionOf(call);
      expect(error).toBeInstanceOf(NotSupportedError);
      expect(error.code).toBe(ErrorCodes.notSupported);
      expect(error.message).toContain(store.type);
    }

    describe("declared features", () => {
      it("declares only known state features", () => {
        expect(StateFeatures).toEqual(expect.arrayContaining([...store.features]));
      });

      it("implements transaction() exactly when it declares transactional", () => {
        expect(typeof store.transaction === "function").toBe(declares("transactional"));
      });
    });

    describe("get, set and delete", () => {
      it.each(valueKinds)("set then get returns %s unchanged", async (_kind, value) => {
        const state = freshClient();
        await state.set("value", value);
        expect((await state.get("value"))?.value).toStrictEqual(value);
      });

      it("keeps stored bytes unchanged when the caller mutates its array after set", async () => {
        const state = freshClient();
        const bytes = new Uint8Array([1, 2, 3]);
        await state.set("bytes", bytes);
        bytes[0] = 99;
        expect((await state.get("bytes"))?.value).toStrictEqual(new Uint8Array([1, 2, 3]));
      });

      it("accepts keys with unicode, spaces and slashes", async () => {
        const state = freshClient();
        await state.set("dir/ä key 🚀", "v");
        expect((await state.get("dir/ä key 🚀"))?.value).toBe("v");
      });

      it("returns undefined for a missing key", async () => {
        expect(await freshClient().get("missing")).toBeUndefined();
      });

      it("overwrites a value when set again without an etag (last-write-wins)", async () => {
        const state = freshClient();
        await state.set("k", "first");
        await state.set("k", "second");
        expect((await state.get("k"))?.value).toBe("second");
      });

      it("treats an empty etag as none: a set with etag '' overwrites", async () => {
        const state = freshClient();
        await state.set("k", "first");
        await state.set("k", "second", { etag: "" });
        expect((await state.get("k"))?.value).toBe("second");
      });

      it("removes a key on delete", async () => {
        const state = freshClient();
        await state.set("k", "v");
        await state.delete("k");
        expect(await state.get("k")).toBeUndefined();
      });

      it("treats an empty etag as none: a delete with etag '' removes the key", async () => {
        const state = freshClient();
        await state.set("k", "v");
        await state.delete("k", { etag: "" });
        expect(await state.get("k")).toBeUndefined();
      });

      it("accepts a delete of a missing key", async () => {
        await expect(freshClient().delete("missing")).resolves.toBeUndefined();
      });

      it("rejects a key containing || with ERR_STATE_INVALID_KEY", async () => {
        const state = freshClient();
        for (const call of [state.set("a||b", 1), state.get("a||b"), state.delete("a||b")]) {
          expect((await rejectionOf(call)).code).toBe(ErrorCodes.invalidKey);
        }
      });
    });

    describe("bulk", () => {
      it("getBulk returns each key's value and etag, and undefined for a missing key", async () => {
        const state = freshClient();
        const { etag: etagA } = await state.set("a", { n: 1 });
        const { etag: etagB } = await state.set("b", new Uint8Array([7]));
        expect(await state.getBulk(["a", "missing", "b"])).toStrictEqual([
          { key: "a", value: { n: 1 }, etag: etagA },
          { key: "missing", value: undefined, etag: undefined },
          { key: "b", value: new Uint8Array([7]), etag: etagB },
        ]);
      });

      it("setBulk applies every entry and returns each new etag", async () => {
        const state = freshClient();
        const results = await state.setBulk([
          { key: "a", value: 1 },
          { key: "b", value: 2 },
        ]);
        const stored = await state.getBulk(["a", "b"]);
        expect(stored.map((s) => s.value)).toEqual([1, 2]);
        expect(results).toEqual(stored.map(({ key, etag }) => ({ key, etag })));
      });

      it("deleteBulk removes every entry", async () => {
        const state = freshClient();
        await state.setBulk([
          { key: "a", value: 1 },
          { key: "b", value: 2 },
        ]);
        await state.deleteBulk([{ key: "a" }, { key: "b" }]);
        expect((await state.getBulk(["a", "b"])).map((s) => s.value)).toEqual([undefined, undefined]);
      });
    });

    describe("key prefix", () => {
      it("keeps apps apart: clients with different app ids do not see each other's keys", async () => {
        const a = freshClient({ appId: freshName("app-a") });
        const b = freshClient({ appId: freshName("app-b") });
        await a.set("k", "from a");
        expect(await b.get("k")).toBeUndefined();
        await b.set("k", "from b");
        expect((await a.get("k"))?.value).toBe("from a");
      });

      it("shares keys between app ids when keyPrefix is none", async () => {
        const key = freshName("shared");
        const a = freshClient({ appId: "app-a", keyPrefix: "none" });
        const b = freshClient({ appId: "app-b", keyPrefix: "none" });
        await a.set(key, "from a");
        expect((await b.get(key))?.value).toBe("from a");
        await b.delete(key);
      });
    });

    if (declares("etag")) {
      describe("etags (declared)", () => {
        it("returns a new etag on every write, and get returns the latest", async () => {
          const state = freshClient();
          const etags = [];
          for (const value of [1, 2, 3]) etags.push((await state.set("k", value)).etag);
          expect(new Set(etags).size).toBe(3);
          expect((await state.get("k"))?.etag).toBe(etags[2]);
        });

        it("applies a set with the current etag", async () => {
          const state = freshClient();
          const { etag } = await state.set("k", "v1");
          await state.set("k", "v2", { etag });
          expect((await state.get("k"))?.value).toBe("v2");
        });

        it("fails a set with a stale etag with EtagMismatchError and keeps the value", async () => {
          const state = freshClient();
          const { etag: stale } = await state.set("k", "v1");
          await state.set("k", "v2");
          await expectEtagMismatch(state.set("k", "v3", { etag: stale }));
          expect((await state.get("k"))?.value).toBe("v2");
        });

        it("fails a set with an etag on a missing key with EtagMismatchError", async () => {
          const state = freshClient();
          await expectEtagMismatch(state.set("missing", "v", { etag: "no-such-etag" }));
          expect(await state.get("missing")).toBeUndefined();
        });

        it("removes a key on delete with the current etag", async () => {
          const state = freshClient();
          const { etag } = await state.set("k", "v");
          await state.delete("k", { etag });
          expect(await state.get("k")).toBeUndefined();
        });

        it("fails a delete with a stale etag and keeps the value", async () => {
          const state = freshClient();
          const { etag: stale } = await state.set("k", "v1");
          await state.set("k", "v2");
          await expectEtagMismatch(state.delete("k", { etag: stale }));
          expect((await state.get("k"))?.value).toBe("v2");
        });

        it("first-write without an etag inserts a missing key", async () => {
          const state = freshClient();
          await state.set("k", "v", { concurrency: "first-write" });
          expect((await state.get("k"))?.value).toBe("v");
        });

        it("first-write without an etag fails when the key exists", async () => {
          const state = freshClient();
          await state.set("k", "existing");
          await expectEtagMismatch(state.set("k", "v", { concurrency: "first-write" }));
          expect((await state.get("k"))?.value).toBe("existing");
        });

        it("first-write with an empty etag fails when the key exists (empty counts as none)", async () => {
          const state = freshClient();
          await state.set("k", "existing");
          await expectEtagMismatch(state.set("k", "v", { concurrency: "first-write", etag: "" }));
        });

        it("first-write with the current etag applies", async () => {
          const state = freshClient();
          const { etag } = await state.set("k", "v1");
          await state.set("k", "v2", { concurrency: "first-write", etag });
          expect((await state.get("k"))?.value).toBe("v2");
        });

        it("first-write with a stale etag fails with EtagMismatchError", async () => {
          const state = freshClient();
          const { etag: stale } = await state.set("k", "v1");
          await state.set("k", "v2");
          await expectEtagMismatch(state.set("k", "v3", { concurrency: "first-write", etag: stale }));
        });

        it("clears the etag on delete: a re-insert gets a new etag and the old one fails", async () => {
          const state = freshClient();
          const { etag: old } = await state.set("k", "v1");
          await state.delete("k");
          const { etag: fresh } = await state.set("k", "v2");
          expect(fresh).not.toBe(old);
          await expectEtagMismatch(state.set("k", "v3", { etag: old }));
          expect((await state.get("k"))?.value).toBe("v2");
        });

        it("setBulk with one stale etag applies the good entries and names exactly the bad key", async () => {
          const state = freshClient();
          const { etag: stale } = await state.set("bad", "v1");
          await state.set("bad", "v2");
          const error = await rejectionOf(
            state.setBulk([
              { key: "good1", value: "g1" },
              { key: "bad", value: "v3", etag: stale },
              { key: "good2", value: "g2" },
            ]),
          );
          expect(error).toBeInstanceOf(BulkStateError);
          expect((error as BulkStateError).keys).toEqual(["bad"]);
          expect((error as BulkStateError).failures[0]?.error).toBeInstanceOf(EtagMismatchError);
          expect((await state.getBulk(["good1", "bad", "good2"])).map((s) => s.value)).toEqual(["g1", "v2", "g2"]);
        });

        it("deleteBulk with one stale etag deletes the others and names exactly the bad key", async () => {
          const state = freshClient();
          await state.setBulk([
            { key: "good1", value: 1 },
            { key: "good2", value: 2 },
          ]);
          const { etag: stale } = await state.set("bad", "v1");
          await state.set("bad", "v2");
          const error = await rejectionOf(
            state.deleteBulk([{ key: "good1" }, { key: "bad", etag: stale }, { key: "good2" }]),
          );
          expect(error).toBeInstanceOf(BulkStateError);
          expect((error as BulkStateError).keys).toEqual(["bad"]);
          expect((await state.getBulk(["good1", "bad", "good2"])).map((s) => s.value)).toEqual([undefined, "v2", undefined]);
        });

        it("concurrent read-increment-write cycles with etags lose no update (10 writers x 20)", async () => {
          const state = freshClient();
          await state.set("counter", 0);
          await incrementWithEtags(Array.from({ length: 10 }, () => state), "counter", 20);
          expect((await state.get("counter"))?.value).toBe(200);
        });
      });
    } else {
      describe("etags (not declared)", () => {
        it("fails a set with an etag with NotSupportedError", async () => {
          const state = freshClient();
          const { etag } = await state.set("k", "v1");
          await expectNotSupported(state.set("k", "v2", { etag }));
          expect((await state.get("k"))?.value).toBe("v1");
        });

        it("fails first-write concurrency with NotSupportedError", async () => {
          const state = freshClient();
          await expectNotSupported(state.set("k", "v", { concurrency: "first-write" }));
          expect(await state.get("k")).toBeUndefined();
        });

        it("fails a delete with an etag with NotSupportedError", async () => {
          const state = freshClient();
          const { etag } = await state.set("k", "v");
          await expectNotSupported(state.delete("k", { etag }));
          expect((await state.get("k"))?.value).toBe("v");
        });
      });
    }

    if (declares("transactional")) {
      describe("transactions (declared)", () => {
        it("applies operations in order", async () => {
          const state = freshClient();
          await state.set("k1", "one");
          await state.set("k2", "two");
          await state.transaction([
            { operation: "delete", key: "k1" },
            { operation: "upsert", key: "k2", value: "two-b" },
            { operation: "delete", key: "k2" },
            { operation: "upsert", key: "k3", value: "three" },
          ]);
          expect((await state.getBulk(["k1", "k2", "k3"])).map((s) => s.value)).toEqual([undefined, undefined, "three"]);
        });

        it("accepts deleting a missing key inside a transaction", async () => {
          const state = freshClient();
          await state.transaction([
            { operation: "delete", key: "missing" },
            { operation: "upsert", key: "k", value: "v" },
          ]);
          expect((await state.get("k"))?.value).toBe("v");
        });

        it.runIf(declares("etag"))("applies nothing when one operation has a stale etag (atomic)", async () => {
          const state = freshClient();
          await state.set("a", "a0");
          const { etag: stale } = await state.set("b", "b0");
          await state.set("b", "b1");
          await expectEtagMismatch(
            state.transaction([
              { operation: "upsert", key: "a", value: "a1" },
              { operation: "delete", key: "c" },
              { operation: "upsert", key: "b", value: "b2", etag: stale },
              { operation: "upsert", key: "d", value: "d1" },
            ]),
          );
          expect((await state.getBulk(["a", "b", "d"])).map((s) => s.value)).toEqual(["a0", "b1", undefined]);
        });

        it.runIf(declares("etag"))("checks a later operation on a key against the earlier ones: the stored etag is stale once the key was written", async () => {
          const state = freshClient();
          const { etag } = await state.set("k", "v0");
          // The upsert replaces the etag, so the delete's etag (the one stored before) no longer matches.
          await expectEtagMismatch(
            state.transaction([
              { operation: "upsert", key: "other", value: 1 },
              { operation: "upsert", key: "k", value: "v1", etag },
              { operation: "delete", key: "k", etag },
            ]),
          );
          expect(await state.getBulk(["k", "other"])).toEqual([
            { key: "k", value: "v0", etag },
            { key: "other", value: undefined, etag: undefined },
          ]);
        });
      });
    } else {
      describe("transactions (not declared)", () => {
        it("fails a transaction with NotSupportedError and applies nothing", async () => {
          const state = freshClient();
          await expectNotSupported(state.transaction([{ operation: "upsert", key: "k", value: "v" }]));
          expect(await state.get("k")).toBeUndefined();
        });
      });
    }

    describe("TTL validation", () => {
      const invalid: ReadonlyArray<[string, { ttlInSeconds?: number; metadata?: Record<string, string> }]> = [
        ["0", { ttlInSeconds: 0 }],
        ["-5", { ttlInSeconds: -5 }],
        ["1.5", { ttlInSeconds: 1.5 }],
        ['"abc" in metadata', { metadata: { ttlInSeconds: "abc" } }],
        ['"0" in metadata', { metadata: { ttlInSeconds: "0" } }],
      ];
      it.each(invalid)("rejects ttlInSeconds %s with ERR_STATE_INVALID_TTL and writes nothing", async (_label, options) => {
        const state = freshClient();
        expect((await rejectionOf(state.set("k", "v", options))).code).toBe(ErrorCodes.invalidTtl);
        expect(await state.get("k")).toBeUndefined();
      });
    });

    if (declares("ttl") && minTtlSeconds > 1) {
      describe(`TTL (declared, at least ${minTtlSeconds} s)`, () => {
        it("rejects a ttlInSeconds below the store's minimum with ERR_STATE_INVALID_TTL and writes nothing", async () => {
          const state = freshClient();
          expect((await rejectionOf(state.set("k", "v", { ttlInSeconds: minTtlSeconds - 1 }))).code).toBe(ErrorCodes.invalidTtl);
          expect(await state.get("k")).toBeUndefined();
        });

        it("accepts a ttlInSeconds at the store's minimum and keeps the value until then", async () => {
          const state = freshClient();
          const { etag } = await state.set("k", "v", { ttlInSeconds: minTtlSeconds });
          expect(await state.get("k")).toEqual({ value: "v", etag });
        });
      });
    } else if (declares("ttl")) {
      // These cases wait for real time to pass, so they run side by side.
      describe.concurrent("TTL (declared)", () => {
        const untilAbsent = (state: StateClient, key: string, notBefore = 0) =>
          waitFor(async () => Date.now() >= notBefore && (await state.get(key)) === undefined, {
            timeoutMs: ttlDeadlineMs,
            intervalMs: 50,
            what: `"${key}" to expire`,
          });

        it("expires a key set with ttlInSeconds within the deadline", async () => {
          const state = freshClient();
          await state.set("k", "v", { ttlInSeconds: 1 });
          expect((await state.get("k"))?.value).toBe("v");
          await untilAbsent(state, "k");
        });

        it("expires a key set with ttlInSeconds given as a metadata string", async () => {
          const state = freshClient();
          await state.set("k", "v", { metadata: { ttlInSeconds: "1" } });
          expect((await state.get("k"))?.value).toBe("v");
          await untilAbsent(state, "k");
        });

        it("removes the TTL when the key is re-saved with ttlInSeconds -1", async () => {
          const state = freshClient();
          const start = Date.now();
          await state.set("kept", "v1", { ttlInSeconds: 1 });
          // Set after "kept": once it is gone, "kept"'s first TTL has run out too.
          await state.set("clock", "c", { ttlInSeconds: 1 });
          await state.set("kept", "v2", { ttlInSeconds: -1 });
          await untilAbsent(state, "clock", start + 1_100);
          expect((await state.get("kept"))?.value).toBe("v2");
        });

        it("removes the TTL when the key is re-saved without one", async () => {
          const state = freshClient();
          const start = Date.now();
          await state.set("kept", "v1", { ttlInSeconds: 1 });
          await state.set("clock", "c", { ttlInSeconds: 1 });
          await state.set("kept", "v2");
          await untilAbsent(state, "clock", start + 1_100);
          expect((await state.get("kept"))?.value).toBe("v2");
        });

        it.runIf(declares("etag"))("treats an expired key as absent for etag checks and first-write", async () => {
          const state = freshClient();
          const { etag } = await state.set("k", "old", { ttlInSeconds: 1 });
          await state.set("clock", "c", { ttlInSeconds: 1 });
          // Wait on another key, so the first touch of "k" after expiry is the write itself.
          await untilAbsent(state, "clock");
          await expectEtagMismatch(state.set("k", "stale", { etag }));
          await state.set("k", "new", { concurrency: "first-write" });
          expect((await state.get("k"))?.value).toBe("new");
        });
      });
    } else {
      describe("TTL (not declared)", () => {
        it("fails a set with ttlInSeconds with NotSupportedError", async () => {
          const state = freshClient();
          await expectNotSupported(state.set("k", "v", { ttlInSeconds: 1 }));
          expect(await state.get("k")).toBeUndefined();
        });

        it("fails a set with ttlInSeconds in metadata with NotSupportedError", async () => {
          await expectNotSupported(freshClient().set("k", "v", { metadata: { ttlInSeconds: "1" } }));
        });
      });
    }
  });
}
