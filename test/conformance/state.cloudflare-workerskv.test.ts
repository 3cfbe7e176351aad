import { afterAll, describe, expect, it } from "vitest";
import { createStateClient, type StateStoreComponent } from "../../src/blocks/state.ts";
import { create } from "../../src/components/state/cloudflare-workerskv.ts";
import { ComponentMetadata } from "../../src/config/metadata.ts";
import { ComponentConfigError, ErrorCodes, InvalidRequestError, NotSupportedError } from "../../src/errors.ts";
import { startMiniflareBridge, type MiniflareBridge } from "../support/miniflare-bridge.ts";
import { freshName } from "../support/wait.ts";
import { describeStateConformance } from "./state-suite.ts";
import { rejectionOf } from "../support/rejection.ts";

const type = "state.cloudflare.workerskv";

/** One Miniflare for the file, started by whichever test needs it first. */
let bridge: Promise<MiniflareBridge> | undefined;
const shared = () => (bridge ??= startMiniflareBridge());
afterAll(async () => {
  await (await bridge)?.dispose();
});

const freshStore = async (metadata: Record<string, string> = {}) => (await shared()).store({ type, metadata });

/** A client with a fresh app id: its keys are its own in the shared namespace. */
const client = (store: StateStoreComponent) => createStateClient({ name: "cache", appId: freshName("app"), store });

describeStateConformance(type, async () => ({ store: await freshStore() }));

describe(`${type} on workerd`, () => {
  it("declares ttl only: no etag, no transactions (KV is eventually consistent)", async () => {
    const store = await freshStore();
    expect(store.features).toEqual(["ttl"]);
    expect(store.limits).toEqual({ minTtlSeconds: 60 });
  });

  it("rejects a ttl below 60 seconds with ERR_STATE_INVALID_TTL, naming KV's minimum, and writes nothing", async () => {
    const state = client(await freshStore());
    const error = await rejectionOf(state.set("k", "v", { ttlInSeconds: 30 }));
    expect(error).toBeInstanceOf(InvalidRequestError);
    expect(error.code).toBe(ErrorCodes.invalidTtl);
    expect(error.message).toMatch(/at least 60/);
    expect(await state.get("k")).toBeUndefined();
  });

  it("accepts a ttl of 60 seconds and keeps the value readable until then", async () => {
    const state = client(await freshStore());
    const { etag } = await state.set("k", { n: 1 }, { ttlInSeconds: 60 });
    expect(await state.get("k")).toEqual({ value: { n: 1 }, etag });
  });

  it("returns an informational etag that changes with every write", async () => {
    const state = client(await freshStore());
    const first = await state.set("k", 1);
    const second = await state.set("k", 2);
    expect(second.etag).not.toBe(first.etag);
    expect((await state.get("k"))?.etag).toBe(second.etag);
  });

  it("fails the first call with a ComponentConfigError naming a binding missing from env", async () => {
    const store = await freshStore({ binding: "NO_SUCH_KV" });
    const error = await rejectionOf(client(store).get("k"));
    expect(error).toBeInstanceOf(ComponentConfigError);
    expect(error).toMatchObject({ code: ErrorCodes.componentConfig, field: "binding" });
    expect(error.message).toContain('"NO_SUCH_KV"');
    expect(error.message).toContain("[[kv_namespaces]]");
  });

  it("rejects a key longer than KV's 512 bytes with ERR_STATE_INVALID_KEY", async () => {
    const error = await rejectionOf(client(await freshStore()).set("k".repeat(600), "v"));
    expect(error.code).toBe(ErrorCodes.invalidKey);
  });
});

describe(`${type} metadata`, () => {
  const open = (metadata: Record<string, string>, bindings?: Record<string, unknown>) =>
    create({ name: "cache", appId: "app", baseDir: "/", metadata: new ComponentMetadata(metadata, "cache"), bindings });

  it("loads on Node and does no I/O in create: the binding is read on first use", async () => {
    const store = open({});
    expect(store).toMatchObject({ type, features: ["ttl"] });
    await expect(store.get("k")).rejects.toThrow(/"MECHA_KV" is missing .*needs Cloudflare Workers/);
  });

  it("accepts Dapr's Worker-management fields, so a Dapr component file loads unchanged", () => {
    const dapr = { kvNamespaceID: "123456789abcdef8b5588f3d134f74ac", workerName: "mydaprkv", key: "-----BEGIN PRIVATE KEY-----", cfAccountID: "abc", cfAPIToken: "t" };
    expect(open(dapr).type).toBe(type);
  });

  it("refuses etags and first-write when called directly, without the state client", async () => {
    const store = open({}, {});
    await expect(store.set({ key: "k", value: "1", etag: "e", concurrency: "last-write" })).rejects.toBeInstanceOf(NotSupportedError);
    await expect(store.delete({ key: "k", concurrency: "first-write" })).rejects.toBeInstanceOf(NotSupportedError);
  });
});
