/**
 * Dapr's publish API on the Node host: what subscribers receive for each kind of body (JSON, text,
 * bytes, the publisher's own CloudEvent, raw payloads), bulk publish, and the error answers.
 */
import { join, resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { TopicEvent } from "../../src/core/cloudevent.ts";
import { componentYaml } from "../support/app-fixture.ts";
import { json, startDaprApiHost, type DaprApiHost } from "../support/dapr-api-host.ts";
import { serviceOrSkip } from "../support/services.ts";
import { freshName, waitFor } from "../support/wait.ts";

const repo = resolve(import.meta.dirname, "../..");
const run = freshName("api");
const topic = `${run}.events`;
const rawTopic = `${run}.raw`;
const slashTopic = `${run}/with/slashes`;
const received = new Map<string, TopicEvent[]>();
(globalThis as { daprApiReceived?: Map<string, TopicEvent[]> }).daprApiReceived = received;

const functions = `import { subscribe } from ${JSON.stringify(join(repo, "src/index.ts"))};
const record = (e: any) => {
  const all = (globalThis as any).daprApiReceived as Map<string, unknown[]>;
  all.set(e.topic, [...(all.get(e.topic) ?? []), e]);
};
export const events = subscribe({ pubsub: "bus", topic: ${JSON.stringify(topic)} }, record);
export const raw = subscribe({ pubsub: "bus", topic: ${JSON.stringify(rawTopic)}, rawPayload: true }, record);
export const slashes = subscribe({ pubsub: "bus", topic: ${JSON.stringify(slashTopic)} }, record);
`;

let app: DaprApiHost;
beforeAll(async () => {
  app = await startDaprApiHost({
    appId: "publisher",
    files: { "components/bus.yaml": componentYaml("bus", "pubsub.in-memory"), "functions/subscribers.ts": functions },
  });
});
afterAll(() => app?.close());

/** Publishes and waits for the one event it makes to arrive (events are told apart by `marker`). */
async function publishAndReceive(path: string, init: RequestInit, find: (e: TopicEvent) => boolean, on = topic): Promise<TopicEvent> {
  const response = await app.api(path, init);
  expect(response.status, await response.clone().text()).toBe(204);
  return waitFor(() => received.get(on)?.find(find), { what: `the event published to ${path}` });
}

const errorOf = async (response: Response) => ({ status: response.status, body: (await response.json()) as { errorCode: string; message: string } });

describe("POST /v1.0/publish/{pubsub}/{topic}", () => {
  it("wraps a JSON body in a CloudEvent with Dapr's fields, the data as JSON", async () => {
    const marker = freshName("json");
    const event = await publishAndReceive(`/v1.0/publish/bus/${topic}`, json({ marker, n: 1 }), (e) => (e.data as { marker?: string })?.marker === marker);
    expect(event).toMatchObject({
      data: { marker, n: 1 },
      datacontenttype: "application/json",
      source: "publisher",
      type: "com.dapr.event.sent",
      specversion: "1.0",
      topic,
      pubsubname: "bus",
    });
    expect(event.id).toMatch(/.+/);
  });

  it("carries a text body as a string and keeps its content type", async () => {
    const marker = freshName("text");
    const event = await publishAndReceive(`/v1.0/publish/bus/${topic}`, { method: "POST", headers: { "content-type": "text/plain" }, body: marker }, (e) => e.data === marker);
    expect(event.datacontenttype).toBe("text/plain");
  });

  it("carries a binary body as bytes", async () => {
    const bytes = new Uint8Array([0, 255, 1, 254, ...new TextEncoder().encode(freshName("bin"))]);
    const event = await publishAndReceive(
      `/v1.0/publish/bus/${topic}`,
      { method: "POST", headers: { "content-type": "application/octet-stream" }, body: bytes },
      (e) => e.data instanceof Uint8Array && Buffer.from(e.data).equals(Buffer.from(bytes)),
    );
    expect(event.datacontenttype).toBe("application/octet-stream");
  });

  it("passes the publisher's own CloudEvent through, keeping its attributes", async () => {
    const id = freshName("ce");
    const own = { specversion: "1.0", id, source: "billing", type: "invoice.paid", subject: "inv-7", datacontenttype: "application/json", data: { total: 12 }, tenant: "acme" };
    const event = await publishAndReceive(`/v1.0/publish/bus/${topic}`, json(own, { headers: { "content-type": "application/cloudevents+json" } }), (e) => e.id === id);
    expect(event).toMatchObject({ ...own, topic, pubsubname: "bus" });
  });

  it("completes a passed-through CloudEvent that lacks id, source, type or specversion", async () => {
    const marker = freshName("partial");
    const event = await publishAndReceive(
      `/v1.0/publish/bus/${topic}`,
      json({ data: { marker } }, { headers: { "content-type": "application/cloudevents+json" } }),
      (e) => (e.data as { marker?: string })?.marker === marker,
    );
    expect(event).toMatchObject({ specversion: "1.0", source: "publisher", type: "com.dapr.event.sent" });
    expect(event.id).toMatch(/.+/);
  });

  it("with metadata.rawPayload=true, delivers the body as published, without an envelope", async () => {
    const marker = freshName("raw");
    const event = await publishAndReceive(`/v1.0/publish/bus/${rawTopic}?metadata.rawPayload=true`, json({ marker }), (e) => (e.data as { marker?: string })?.marker === marker, rawTopic);
    expect(event.data).toEqual({ marker });
  });

  it("continues the caller's trace: the event carries its trace id", async () => {
    const marker = freshName("trace");
    const traceId = "4bf92f3577b34da6a3ce929d0e0e4736";
    const event = await publishAndReceive(
      `/v1.0/publish/bus/${topic}`,
      json({ marker }, { headers: { traceparent: `00-${traceId}-00f067aa0ba902b7-01` } }),
      (e) => (e.data as { marker?: string })?.marker === marker,
    );
    expect(event.traceparent).toContain(traceId);
  });

  it("takes a topic with slashes", async () => {
    const marker = freshName("slash");
    const event = await publishAndReceive(`/v1.0/publish/bus/${slashTopic}`, json({ marker }), (e) => (e.data as { marker?: string })?.marker === marker, slashTopic);
    expect(event.topic).toBe(slashTopic);
  });

  it("answers 404 ERR_PUBSUB_NOT_FOUND for an unknown pub/sub and 404 ERR_TOPIC_EMPTY without a topic", async () => {
    expect(await errorOf(await app.api(`/v1.0/publish/nobus/${topic}`, json({})))).toEqual({
      status: 404,
      body: { errorCode: "ERR_PUBSUB_NOT_FOUND", message: "pubsub nobus not found" },
    });
    expect(await errorOf(await app.api(`/v1.0/publish/bus`, json({})))).toMatchObject({ status: 404, body: { errorCode: "ERR_TOPIC_EMPTY" } });
  });

  it.each([
    ["not JSON", "{"],
    ["an array", "[]"],
    ["a bad specversion", JSON.stringify({ specversion: "0.3", data: 1 })],
    ["a numeric id", JSON.stringify({ id: 5, data: 1 })],
  ])("answers 400 ERR_PUBSUB_CLOUD_EVENTS_SER for a CloudEvent body that is %s", async (_case, body) => {
    const response = await app.api(`/v1.0/publish/bus/${topic}`, { method: "POST", headers: { "content-type": "application/cloudevents+json" }, body });
    expect(await errorOf(response)).toMatchObject({ status: 400, body: { errorCode: "ERR_PUBSUB_CLOUD_EVENTS_SER" } });
  });
});

describe("POST /v1.0-alpha1/publish/bulk/{pubsub}/{topic}", () => {
  it("publishes every entry, each with its content type, and answers 204", async () => {
    const marker = freshName("bulk");
    const entries = [
      { entryId: "1", event: { marker, n: 1 }, contentType: "application/json" },
      { entryId: "2", event: `${marker}-text`, contentType: "text/plain" },
      { entryId: "3", event: { specversion: "1.0", id: `${marker}-ce`, source: "s", type: "t", data: { marker, n: 3 } }, contentType: "application/cloudevents+json" },
    ];
    expect((await app.api(`/v1.0-alpha1/publish/bulk/bus/${topic}`, json(entries))).status).toBe(204);
    const events = await waitFor(() => {
      const mine = (received.get(topic) ?? []).filter((e) => JSON.stringify(e.data).includes(marker));
      return mine.length === 3 && mine;
    });
    const byKind = (test: (e: TopicEvent) => boolean) => events.find(test);
    expect(byKind((e) => (e.data as { n?: number })?.n === 1)?.datacontenttype).toBe("application/json");
    expect(byKind((e) => e.data === `${marker}-text`)?.datacontenttype).toBe("text/plain");
    // The publisher's CloudEvent is passed through as it was: its own source, no added content type.
    expect(byKind((e) => e.id === `${marker}-ce`)).toMatchObject({ source: "s", type: "t", data: { marker, n: 3 } });
  });

  it("is served on /v1.0/publish/bulk too", async () => {
    expect((await app.api(`/v1.0/publish/bulk/bus/${topic}`, json([{ entryId: "a", event: { v: 1 }, contentType: "application/json" }]))).status).toBe(204);
  });

  it.each([
    ["an entry without an entryId", [{ event: 1, contentType: "application/json" }]],
    ["two entries with one entryId", [{ entryId: "x", event: 1 }, { entryId: "x", event: 2 }]],
    ["an object instead of an array", { entryId: "x", event: 1 }],
    ["malformed JSON", "["],
  ])("answers 400 ERR_PUBSUB_EVENTS_SER for %s, publishing nothing", async (_case, body) => {
    const before = received.get(topic)?.length ?? 0;
    const response = await app.api(`/v1.0-alpha1/publish/bulk/bus/${topic}`, { method: "POST", body: typeof body === "string" ? body : JSON.stringify(body) });
    expect(await errorOf(response)).toMatchObject({ status: 400, body: { errorCode: "ERR_PUBSUB_EVENTS_SER" } });
    // A valid publish afterwards arrives, and nothing from the refused batch came before it.
    const marker = freshName("after");
    await publishAndReceive(`/v1.0/publish/bus/${topic}`, json({ marker }), (e) => (e.data as { marker?: string })?.marker === marker);
    expect((received.get(topic) ?? []).slice(before, -1).filter((e) => typeof e.data === "number")).toEqual([]);
  });
});

const natsUp = await serviceOrSkip("nats", "bulk publish with a failing entry (pubsub.jetstream)");
describe.skipIf(!natsUp)("bulk publish to a broker that refuses one entry", () => {
  let jet: DaprApiHost;
  beforeAll(async () => {
    jet = await startDaprApiHost({ files: { "components/jet.yaml": componentYaml("jet", "pubsub.jetstream", { natsURL: "nats://127.0.0.1:4222" }) } });
  });
  afterAll(() => jet?.close());

  it("answers 500 with failedEntries naming exactly the entry the broker refused", async () => {
    // NATS refuses a message above its max_payload (1 MiB by default); the API's own limit is 4 MiB.
    const tooBig = "x".repeat(1_500_000);
    const entries = [
      { entryId: "small-1", event: { n: 1 }, contentType: "application/json" },
      { entryId: "huge", event: tooBig, contentType: "text/plain" },
      { entryId: "small-2", event: { n: 2 }, contentType: "application/json" },
    ];
    const response = await jet.api(`/v1.0-alpha1/publish/bulk/jet/${freshName("bulk-fail")}`, json(entries));
    expect(response.status).toBe(500);
    const body = (await response.json()) as { errorCode: string; failedEntries: Array<{ entryId: string; error: string }> };
    expect(body.errorCode).toBe("ERR_PUBSUB_PUBLISH_MESSAGE");
    expect(body.failedEntries.map((f) => f.entryId)).toEqual(["huge"]);
    expect(body.failedEntries[0]!.error).toMatch(/.+/);
  });
});
