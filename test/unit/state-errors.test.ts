import { describe, expect, it } from "vitest";
import { createStateClient, type StateClient, type StateStoreComponent } from "../../src/blocks/state.ts";
import { create } from "../../src/components/state/in-memory.ts";
import { ComponentMetadata } from "../../src/config/metadata.ts";
import { BulkStateError, EtagMismatchError, MechaError } from "../../src/errors.ts";

const client = () =>
  createStateClient({
    name: "store",
    appId: "app",
    store: create({ name: "store", appId: "app", baseDir: ".", metadata: new ComponentMetadata({}, "store") }),
  });

describe("state errors name the key the function used", () => {
  it("reports the unprefixed key on an etag mismatch", async () => {
    const state = client();
    await state.set("k1", 1);
    const error = await state.set("k1", 2, { etag: "stale" }).catch((e) => e);
    expect(error).toBeInstanceOf(EtagMismatchError);
    expect(error.key).toBe("k1");
    expect(error.message).toBe('possible etag mismatch for key "k1"');
    expect(error.component).toBe("store");
  });

  it("reports the unprefixed key from a transaction", async () => {
    const state = client();
    const error = await state.transaction([{ operation: "delete", key: "gone", etag: "stale" }]).catch((e) => e);
    expect(error).toBeInstanceOf(EtagMismatchError);
    expect(error.key).toBe("gone");
  });
});

describe("backend failures", () => {
  const failing = (): StateStoreComponent => {
    const fail = async (): Promise<never> => {
      throw Object.assign(new Error("connect failed for postgres://admin:hunter2@db/prod"), { code: "ECONNREFUSED" });
    };
    return { type: "state.broken", features: ["etag", "transactional"], get: fail, set: fail, delete: fail, transaction: fail, close: async () => {} };
  };
  const state = () => createStateClient({ name: "store", appId: "app", store: failing() });

  it.each([
    ["get", (s: StateClient) => s.get("k"), "ERR_STATE_GET"],
    ["set", (s: StateClient) => s.set("k", 1), "ERR_STATE_SAVE"],
    ["delete", (s: StateClient) => s.delete("k"), "ERR_STATE_DELETE"],
    ["getBulk", (s: StateClient) => s.getBulk(["a", "b"]), "ERR_STATE_GET"],
    ["transaction", (s: StateClient) => s.transaction([{ operation: "delete", key: "k" }]), "ERR_STATE_TRANSACTION"],
  ] as const)("gives a failed %s its stable code, the backend's error code, and the error as cause", async (_name, call, code) => {
    const error = await call(state()).catch((e) => e);
    expect(error).toBeInstanceOf(MechaError);
    expect(error.code).toBe(code);
    expect(error.message).toContain("ECONNREFUSED");
    expect(error.message).toContain('"store"');
    expect(error.message).not.toContain("hunter2");
    expect(error.cause.message).toContain("hunter2");
  });

  it("names every failed key of a bulk save, each with its code", async () => {
    const error = await state().setBulk([{ key: "a", value: 1 }, { key: "b", value: 2 }]).catch((e) => e);
    expect(error).toBeInstanceOf(BulkStateError);
    expect(error.keys).toEqual(["a", "b"]);
    expect(error.failures.map((f: { error: MechaError }) => f.error.code)).toEqual(["ERR_STATE_SAVE", "ERR_STATE_SAVE"]);
  });
});
