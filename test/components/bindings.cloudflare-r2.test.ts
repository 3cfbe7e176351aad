import { afterAll, describe, expect, it } from "vitest";
import type { OutputBindingComponent } from "../../src/blocks/bindings.ts";
import { ComponentConfigError, ErrorCodes } from "../../src/errors.ts";
import { describeObjectBindingConformance } from "../conformance/object-binding-suite.ts";
import { rejectionOf } from "../support/rejection.ts";
import { startQueuesBridge, type QueuesBridge } from "../support/queues-bridge.ts";

const type = "bindings.cloudflare.r2";

/** One Miniflare (with a local R2 bucket) for the file, started by the first test. */
let bridge: Promise<QueuesBridge> | undefined;
const shared = () => (bridge ??= startQueuesBridge({ poolSize: 0 }));
afterAll(async () => {
  await (await bridge)?.dispose();
});

/** The real component inside workerd, on the bridge's bucket. */
const r2 = async (metadata: Record<string, string> = {}): Promise<OutputBindingComponent> =>
  (await shared()).outputBinding({ type, name: "receipts", metadata });

describeObjectBindingConformance(`${type} on workerd`, () => r2());

describe(`${type} on workerd`, () => {
  it("fails the first call with a ComponentConfigError naming a binding missing from env", async () => {
    const b = await r2({ binding: "NO_SUCH_R2" });
    const error = await rejectionOf(b.invoke({ operation: "get", metadata: { key: "k" } }));
    expect(error).toBeInstanceOf(ComponentConfigError);
    expect(error).toMatchObject({ code: ErrorCodes.componentConfig, field: "binding" });
    expect(error.message).toContain('"NO_SUCH_R2"');
    expect(error.message).toContain("[[r2_buckets]]");
  });
});
