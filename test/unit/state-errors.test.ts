import { describe, expect, it } from "vitest";
import { createStateClient } from "../../src/blocks/state.ts";
import { create } from "../../src/components/state/in-memory.ts";
import { ComponentMetadata } from "../../src/config/metadata.ts";
import { EtagMismatchError } from "../../src/errors.ts";

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
