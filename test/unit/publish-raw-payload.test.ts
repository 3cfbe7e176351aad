/** `metadata.rawPayload` on a publish, read with Dapr's truthiness wherever it comes from (ctx.publish, the Dapr API). */
import { afterAll, describe, expect, it } from "vitest";
import type { InboundMessage } from "../../src/blocks/pubsub.ts";
import { componentCatalog } from "../../src/components/catalog.ts";
import { Runtime } from "../../src/core/runtime.ts";
import { freshName, waitFor } from "../support/wait.ts";

const runtime = new Runtime({
  appId: "raw",
  components: [{ name: "bus", type: "pubsub.in-memory", version: "v1", metadata: [], scopes: [] }],
  catalog: componentCatalog,
  baseDir: ".",
});
afterAll(() => runtime.close());

/** Publishes `{ n }` with the given rawPayload flag and answers the bytes the subscriber got. */
async function publishedBytes(flag: string): Promise<string> {
  const topic = freshName("raw");
  const received: InboundMessage[] = [];
  const subscription = await (await runtime.pubsub("bus")).subscribe({ topic, subscription: topic, deliver: async (m) => void received.push(m) });
  await runtime.publish("bus", topic, { n: 1 }, { metadata: { rawPayload: flag } });
  const [message] = await waitFor(() => received.length > 0 && received, { what: "the published message" });
  await subscription.close();
  return new TextDecoder().decode(message!.data);
}

describe("metadata.rawPayload", () => {
  it.each(["true", "True", "1", "yes", "on"])("%s publishes the data as it is, without an envelope", async (flag) => {
    expect(JSON.parse(await publishedBytes(flag))).toEqual({ n: 1 });
  });

  it.each(["false", "0", ""])("%s wraps the data in a CloudEvent", async (flag) => {
    expect(JSON.parse(await publishedBytes(flag))).toMatchObject({ specversion: "1.0", data: { n: 1 }, topic: expect.any(String) });
  });
});
