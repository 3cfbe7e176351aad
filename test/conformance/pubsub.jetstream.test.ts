import { createServer, type Socket } from "node:net";
import { startTcpProxy } from "../support/tcp-proxy.ts";
import { connect, nkeys } from "@nats-io/transport-node";
import { jetstreamManager, type JetStreamManager } from "@nats-io/jetstream";
import type { NatsConnection } from "@nats-io/transport-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { InboundMessage, PubSubComponent } from "../../src/blocks/pubsub.ts";
import { create, jetstreamName } from "../../src/components/pubsub/jetstream.ts";
import { ComponentConfigError, MechaError } from "../../src/errors.ts";
import { ComponentMetadata } from "../../src/config/metadata.ts";
import { serviceOrSkip, services } from "../support/services.ts";
import { freshName, waitFor } from "../support/wait.ts";
import { describePubSubConformance } from "./pubsub-suite.ts";
import { bytes, publishText, record, text } from "../support/pubsub-recorder.ts";

const type = "pubsub.jetstream";
const up = await serviceOrSkip("nats", `the ${type} suite`);
const natsURL = `nats://${services.nats.host}:${services.nats.port}`;
/** Short, so the "left unsettled" cases do not wait long; every handler here finishes far sooner. */
const ackWait = "1500ms";

const jetstream = (metadata: Record<string, string>): PubSubComponent =>
  create({ name: "bus", appId: "conformance-app", baseDir: "/", metadata: new ComponentMetadata(metadata, "bus") });

/** The topics every component of this file used: their streams are deleted in afterAll. */
const topics = new Set<string>();
const opened: PubSubComponent[] = [];

/** A component that records the topics it touches, closed in afterAll if a test does not. */
function open(extra: Record<string, string> = {}): PubSubComponent {
  const component = jetstream({ natsURL, ackWait, ...extra });
  opened.push(component);
  return {
    type: component.type,
    features: component.features,
    publish: (request) => (topics.add(request.topic), component.publish(request)),
    subscribe: (request) => (topics.add(request.topic), component.subscribe(request)),
    close: () => component.close(),
  };
}


describe.skipIf(!up)(`${type} against NATS on ${natsURL}`, () => {
  let admin: NatsConnection;
  let jsm: JetStreamManager;

  beforeAll(async () => {
    admin = await connect({ servers: natsURL, name: "mecha jetstream test admin" });
    jsm = await jetstreamManager(admin);
  });

  afterAll(async () => {
    await Promise.all(opened.splice(0).map((component) => component.close()));
    const names = new Set<string>();
    for (const topic of topics) names.add(await jsm.streams.find(topic).catch(() => ""));
    names.delete("");
    await Promise.all([...names].map((name) => jsm.streams.delete(name).catch(() => false)));
    await admin?.close();
  });

  describePubSubConformance(type, () => ({ component: open() }));

  describe(`${type} delivery`, () => {
    it("publishes the bytes as the message body, the content type in the Content-Type header and metadata as headers", async () => {
      const bus = open();
      const topic = freshName("wire");
      // Left unsettled, so the message stays in the (interest-retention) stream to be read back.
      const seen = await record(bus, { topic, subscription: freshName("wire-sub") }, () => undefined);
      const cloudEvent = JSON.stringify({ specversion: "1.0", id: "e-1", source: "app", type: "com.dapr.event.sent", data: { n: "é€\"%_" } });
      await bus.publish({ topic, data: bytes(cloudEvent), contentType: "application/cloudevents+json", metadata: { tenant: "acme ünïcode \"q\"" } });

      await waitFor(() => seen.seen.length > 0, { what: "the message" });
      const { message } = seen.seen[0]!;
      expect(text(message.data)).toBe(cloudEvent);
      expect(message).toMatchObject({ topic, contentType: "application/cloudevents+json", metadata: { tenant: "acme ünïcode \"q\"" }, attempt: 1 });
      const stream = await jsm.streams.find(topic);
      expect(stream).toBe(jetstreamName(topic));
      const stored = await jsm.streams.getMessage(stream, { seq: 1 });
      expect(stored).toMatchObject({ subject: topic });
      expect(text(stored!.data)).toBe(cloudEvent);
      expect(stored!.header.get("Content-Type")).toBe("application/cloudevents+json");
      expect(stored!.header.get("tenant")).toBe("acme ünïcode \"q\"");
      expect(message.id).toBe(`${stream}:1`);
    });

    it("carries arbitrary bytes (NUL, every byte value) of half a megabyte verbatim", async () => {
      const bus = open();
      const topic = freshName("binary");
      const seen = await record(bus, { topic, subscription: freshName("binary-sub") });
      const data = new Uint8Array(512 * 1024).map((_, i) => i % 256);
      await bus.publish({ topic, data, contentType: "application/octet-stream" });

      await waitFor(() => seen.seen.length > 0, { what: "the large message" });
      expect(Buffer.compare(Buffer.from(seen.seen[0]!.message.data), Buffer.from(data))).toBe(0);
    });

    it("fails a publish above the server's max_payload with a publish error, instead of hanging", async () => {
      const bus = open();
      const error = await bus
        .publish({ topic: freshName("huge"), data: new Uint8Array(admin.info!.max_payload + 1), contentType: "application/octet-stream" })
        .catch((e: unknown) => e);
      expect(error).toBeInstanceOf(MechaError);
      expect((error as MechaError).code).toBe("ERR_PUBSUB_PUBLISH_MESSAGE");
    });

    it("maps a dotted, unicode topic to a valid stream name and a subscription name to a valid durable name", async () => {
      const bus = open();
      const topic = `commandes.créées.${freshName("v1")}`;
      const subscription = `billing.onOrder ${freshName("x")}`;
      const seen = await record(bus, { topic, subscription });
      await publishText(bus, topic, "dotted");

      await waitFor(() => seen.bodies().includes("dotted"), { what: "the message" });
      const stream = await jsm.streams.find(topic);
      expect(stream).toMatch(/^[A-Za-z0-9_-]+$/);
      const consumer = await jsm.consumers.info(stream, jetstreamName(subscription));
      expect(consumer.config).toMatchObject({ durable_name: jetstreamName(subscription), filter_subject: topic, ack_policy: "explicit" });
      expect(jetstreamName(subscription)).not.toBe(jetstreamName(subscription.replace(" ", "_")));
    });

    it("rejects a topic that is no publishable subject, naming it", async () => {
      const bus = open();
      for (const topic of ["has space", "orders.*", "orders.>", "a..b", ""]) {
        await expect(publishText(bus, topic, "x")).rejects.toThrow(`topic "${topic}"`);
        await expect(bus.subscribe({ topic, subscription: "s", deliver: async () => {} })).rejects.toThrow(`topic "${topic}"`);
      }
    });

    it("uses attempt = JetStream's delivery count, through NAKs and ackWait expiries", async () => {
      const bus = open();
      const topic = freshName("count");
      // 1st: NAK; 2nd: left unsettled until ackWait runs out; 3rd: ack.
      const seen = await record(bus, { topic, subscription: freshName("count-sub") }, (m, i) => (i === 0 ? m.retry(0) : i === 1 ? undefined : m.ack()));
      await publishText(bus, topic, "counted");

      await waitFor(() => seen.seen.length >= 3, { what: "three deliveries", timeoutMs: 15_000 });
      expect(seen.seen.map((s) => s.message.attempt)).toEqual([1, 2, 3]);
      expect(new Set(seen.seen.map((s) => s.message.id)).size).toBe(1);
      // The unsettled second delivery came back after ackWait (1.5 s), not before.
      expect(seen.seen[2]!.at - seen.seen[1]!.at).toBeGreaterThanOrEqual(1_300);
    });

    it("honours a NAK delay: a message retried with 1500 ms comes back no sooner", async () => {
      const bus = open({ ackWait: "30s" });
      const topic = freshName("later");
      const seen = await record(bus, { topic, subscription: freshName("later-sub") }, (m, i) => (i === 0 ? m.retry(1_500) : m.ack()));
      await publishText(bus, topic, "x");

      await waitFor(() => seen.seen.length >= 2, { what: "the redelivery" });
      const gap = seen.seen[1]!.at - seen.seen[0]!.at;
      expect(gap).toBeGreaterThanOrEqual(1_400);
      expect(gap).toBeLessThan(5_000);
    });

    it("redelivers, after ackWait, a message that a closed component held unsettled — to another component of the same subscription", async () => {
      const [first, second] = [open(), open()];
      const topic = freshName("dies");
      const subscription = freshName("dies-sub");
      const held = await record(first, { topic, subscription }, () => undefined);
      await publishText(first, topic, "held");
      await waitFor(() => held.seen.length > 0, { what: "the first delivery" });
      await first.close();
      const closedAt = Date.now();

      const again = await record(second, { topic, subscription });
      await waitFor(() => again.seen.length > 0, { what: "the redelivery", timeoutMs: 10_000 });
      expect(again.seen[0]!.message).toMatchObject({ id: held.seen[0]!.message.id, attempt: 2 });
      expect(again.bodies()).toEqual(["held"]);
      expect(again.seen[0]!.at - held.seen[0]!.at).toBeGreaterThanOrEqual(1_300);
      expect(again.seen[0]!.at - closedAt).toBeLessThan(5_000);
    });

    it("splits one subscription's messages between two components, each message delivered exactly once when all ack", async () => {
      const [a, b] = [open(), open()];
      const topic = freshName("shared");
      const subscription = freshName("shared-sub");
      const slowAck = async (m: InboundMessage) => {
        await new Promise((resolve) => setTimeout(resolve, 10));
        await m.ack();
      };
      const onA = await record(a, { topic, subscription, concurrency: 2 }, slowAck);
      const onB = await record(b, { topic, subscription, concurrency: 2 }, slowAck);
      const count = 60;
      for (let n = 0; n < count; n++) await publishText(a, topic, `m${n}`);

      await waitFor(() => onA.seen.length + onB.seen.length >= count, { what: `${count} deliveries` });
      // Give a duplicate the time to show up, were there one.
      await new Promise((resolve) => setTimeout(resolve, 300));
      const all = [...onA.bodies(), ...onB.bodies()].sort();
      expect(all).toEqual(Array.from({ length: count }, (_, n) => `m${n}`).sort());
      expect(onA.seen.length).toBeGreaterThan(0);
      expect(onB.seen.length).toBeGreaterThan(0);
    });

    it("keeps every subscription's durable consumer after close, and removes nothing from the stream a subscription has not acked", async () => {
      const bus = open();
      const topic = freshName("kept");
      const subscription = freshName("kept-sub");
      await (await bus.subscribe({ topic, subscription, deliver: async () => {} })).close();
      await publishText(bus, topic, "waiting");

      const stream = await jsm.streams.find(topic);
      const consumer = await jsm.consumers.info(stream, jetstreamName(subscription));
      expect(consumer.num_pending).toBe(1);
      const info = await jsm.streams.info(stream);
      expect(info.config).toMatchObject({ retention: "interest", subjects: [topic] });
    });

    it("resumes pulling after its connection is cut and the client reconnects", async () => {
      const proxy = await startTcpProxy(services.nats.port);
      try {
        const bus = open({ natsURL: `nats://127.0.0.1:${proxy.port}` });
        const direct = open();
        const topic = freshName("reconnect");
        const seen = await record(bus, { topic, subscription: freshName("reconnect-sub") });
        await publishText(direct, topic, "before");
        await waitFor(() => seen.bodies().includes("before"), { what: "the first message" });

        proxy.cut();
        await publishText(direct, topic, "while-away");
        await waitFor(() => seen.bodies().includes("while-away"), { what: "the message published while cut off", timeoutMs: 20_000 });
        await publishText(bus, topic, "after");
        await waitFor(() => seen.bodies().includes("after"), { what: "a message published through the reconnected client" });
        expect(proxy.connections()).toBeGreaterThanOrEqual(2);
      } finally {
        await proxy.close();
      }
    });
  });

  it("closes promptly while its server is unreachable", async () => {
    const proxy = await startTcpProxy(services.nats.port);
    const bus = open({ natsURL: `nats://127.0.0.1:${proxy.port}` });
    const topic = freshName("gone");
    await record(bus, { topic, subscription: freshName("gone-sub") });
    await proxy.close();

    const started = Date.now();
    await bus.close();
    expect(Date.now() - started).toBeLessThan(4_000);
  });

  describe(`${type} streams`, () => {
    it("creates the stream named by streamName with the topic's subject, and widens it for further topics", async () => {
      const streamName = freshName("mecha-stream");
      const bus = open({ streamName });
      const [first, second] = [freshName("first"), freshName("second")];
      const onFirst = await record(bus, { topic: first, subscription: freshName("s1") });
      const onSecond = await record(bus, { topic: second, subscription: freshName("s2") });
      await publishText(bus, first, "one");
      await publishText(bus, second, "two");

      await waitFor(() => onFirst.bodies().includes("one") && onSecond.bodies().includes("two"), { what: "both topics" });
      expect(onFirst.bodies()).toEqual(["one"]);
      expect(onSecond.bodies()).toEqual(["two"]);
      const info = await jsm.streams.info(streamName);
      expect([...(info.config.subjects ?? [])].sort()).toEqual([first, second].sort());
    });

    it("uses an existing stream that captures the topic with a wildcard, leaving its subjects alone", async () => {
      const prefix = freshName("orders");
      const name = jetstreamName(`${prefix}-own`);
      await jsm.streams.add({ name, subjects: [`${prefix}.>`] });
      topics.add(`${prefix}.created`);
      const bus = open();
      const seen = await record(bus, { topic: `${prefix}.created`, subscription: freshName("own-sub") });
      await publishText(bus, `${prefix}.created`, "into the operator's stream");

      await waitFor(() => seen.bodies().length > 0, { what: "the message" });
      expect((await jsm.streams.info(name)).config.subjects).toEqual([`${prefix}.>`]);
      expect(seen.seen[0]!.message.id).toBe(`${name}:1`);
    });

    it("re-creates its stream and durable consumer, and consumes again, after the stream was deleted behind its back", async () => {
      const bus = open();
      const topic = freshName("recreated");
      const subscription = freshName("recreated-sub");
      const seen = await record(bus, { topic, subscription });
      await jsm.streams.delete(await jsm.streams.find(topic));

      const stream = jetstreamName(topic);
      await waitFor(() => jsm.consumers.info(stream, jetstreamName(subscription)).then(() => true), { what: "the re-created consumer", timeoutMs: 15_000 });
      await publishText(bus, topic, "after the purge");
      await waitFor(() => seen.bodies().includes("after the purge"), { what: "the message" });
    });

    it("publishes again after the stream was deleted behind its back", async () => {
      const bus = open();
      const topic = freshName("deleted");
      await publishText(bus, topic, "first");
      await jsm.streams.delete(await jsm.streams.find(topic));
      await expect(publishText(bus, topic, "second")).resolves.toBeUndefined();
      expect(await jsm.streams.find(topic)).toBe(jetstreamName(topic));
    });
  });

  describe(`${type} secrets`, () => {
    const password = "Pa55-w0rd-never-shown";
    const token = "t0ken-never-shown";
    const seed = new TextDecoder().decode(nkeys.createUser().getSeed());

    it.each([
      ["a password in natsURL", { natsURL: `nats://admin:${password}@127.0.0.1:9` }, password],
      ["a token", { natsURL: "nats://127.0.0.1:9", token }, token],
      ["a token in natsURL", { natsURL: `nats://${token}@127.0.0.1:9` }, token],
    ])("never puts %s in a publish or subscribe error when the server is unreachable", async (_what, metadata, secret) => {
      const bus = jetstream(metadata);
      try {
        const errors = [
          await publishText(bus, "t", "x").catch((e: unknown) => e),
          await bus.subscribe({ topic: "t", subscription: "s", deliver: async () => {} }).catch((e: unknown) => e),
        ];
        for (const error of errors) {
          expect(error).toBeInstanceOf(Error);
          expect(describeError(error)).not.toContain(secret);
        }
      } finally {
        await bus.close();
      }
    });

    it("never puts a password, token, jwt or seed in the error when the server refuses the credentials", async () => {
      const refusing = await startRefusingServer();
      try {
        const attempts: Array<Record<string, string>> = [
          { natsURL: `nats://admin:${password}@127.0.0.1:${refusing.port}` },
          { natsURL: `nats://127.0.0.1:${refusing.port}`, token },
          { natsURL: `nats://127.0.0.1:${refusing.port}`, jwt: "eyJ0eXAiOiJKV1QiLCJhbGciOiJlZDI1NTE5LW5rZXkifQ.never-shown", seedKey: seed },
        ];
        for (const metadata of attempts) {
          const bus = jetstream(metadata);
          const error = await publishText(bus, "t", "x").catch((e: unknown) => e);
          await bus.close();
          expect(error).toBeInstanceOf(MechaError);
          const described = describeError(error);
          expect(described).toMatch(/authori[sz]ation/i);
          for (const secret of [password, token, seed, "never-shown"]) expect(described).not.toContain(secret);
        }
        // The server did see the credentials: the test would prove nothing otherwise.
        expect(refusing.received()).toContain(password);
      } finally {
        await refusing.close();
      }
    });
  });
});

describe(`${type} configuration`, () => {
  it("does no I/O when created", () => {
    expect(() => jetstream({ natsURL: "nats://127.0.0.1:9" })).not.toThrow();
  });

  it.each([
    [{}, "natsURL"],
    [{ natsURL: "http://localhost:4222" }, "natsURL"],
    [{ natsURL: "nats://" }, "natsURL"],
    [{ natsURL, jwt: "only-half" }, "seedKey"],
    [{ natsURL, seedKey: "only-half" }, "jwt"],
    [{ natsURL, tls_client_cert: "/c.pem" }, "tls_client_key"],
    [{ natsURL, domain: "hub", apiPrefix: "$JS.hub.API" }, "apiPrefix"],
    [{ natsURL, ackWait: "soon" }, "ackWait"],
    [{ natsURL, maxDeliver: "many" }, "maxDeliver"],
    [{ natsURL, backOff: "50ms, later" }, "backOff"],
    [{ natsURL, backOff: "1s, 2s", maxDeliver: "2" }, "maxDeliver"],
    [{ natsURL, deliverPolicy: "sometimes" }, "deliverPolicy"],
    [{ natsURL, deliverPolicy: "sequence" }, "startSequence"],
    [{ natsURL, deliverPolicy: "time" }, "startTime"],
    [{ natsURL, deliverPolicy: "new", startSequence: "5" }, "startSequence"],
    [{ natsURL, ackPolicy: "none" }, "ackPolicy"],
    [{ natsURL, ackPolicy: "all" }, "ackPolicy"],
    [{ natsURL, concurrency: "lots" }, "concurrency"],
    [{ natsURL, memoryStorage: "maybe" }, "memoryStorage"],
    [{ natsURL, streamName: "has.dot" }, "streamName"],
  ])("rejects bad metadata %j, naming the field", (metadata, field) => {
    expect(() => jetstream(metadata)).toThrow(expect.objectContaining({ name: ComponentConfigError.name, field }));
  });

  it("never echoes a natsURL it rejects (it may hold a password)", () => {
    expect(() => jetstream({ natsURL: "http://admin:Pa55@localhost:4222" })).toThrow(expect.objectContaining({ message: expect.not.stringContaining("Pa55") }));
  });

  it("accepts Dapr's full example metadata, fields it ignores included", () => {
    expect(() =>
      jetstream({
        natsURL: "nats://localhost:4222",
        name: "my-conn-name",
        streamName: "my-stream",
        durableName: "my-durable-subscription",
        queueGroupName: "my-queue-group",
        startSequence: "1",
        flowControl: "false",
        ackWait: "10s",
        maxDeliver: "5",
        backOff: "50ms, 1s, 10s",
        maxAckPending: "5000",
        replicas: "1",
        memoryStorage: "false",
        rateLimit: "1024",
        heartbeat: "15s",
        ackPolicy: "explicit",
        deliverPolicy: "sequence",
        domain: "hub",
        concurrency: "single",
      }),
    ).not.toThrow();
  });

  it("names streams and consumers deterministically, keeping valid names as they are", () => {
    expect(jetstreamName("orders")).toBe("orders");
    expect(jetstreamName("orders.created")).toMatch(/^orders_created-[0-9a-f]{8}$/);
    expect(jetstreamName("orders.created")).toBe(jetstreamName("orders.created"));
    expect(jetstreamName("a.b")).not.toBe(jetstreamName("a_b"));
    expect(jetstreamName("x".repeat(300)).length).toBeLessThanOrEqual(209);
  });
});

/** Everything an error shows: message, name, cause chain and own properties. */
function describeError(error: unknown): string {
  const parts: string[] = [];
  for (let e: unknown = error, depth = 0; e && depth < 5; e = (e as { cause?: unknown }).cause, depth++) {
    parts.push(String(e), (e as Error).stack ?? "", JSON.stringify(e, Object.getOwnPropertyNames(e)));
  }
  return parts.join("\n");
}


/**
 * A stand-in NATS server that demands authentication and refuses whatever it is given — the real
 * server on 4222 runs without auth, so it cannot show what a refused login reports.
 */
async function startRefusingServer(): Promise<{ port: number; received(): string; close(): Promise<void> }> {
  let seen = "";
  const sockets = new Set<Socket>();
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
    socket.on("error", () => socket.destroy());
    socket.write(
      `INFO ${JSON.stringify({ server_id: "refusing", server_name: "refusing", version: "2.9.10", proto: 1, headers: true, max_payload: 1048576, auth_required: true, nonce: "bm9uY2U" })}\r\n`,
    );
    socket.on("data", (chunk) => {
      seen += chunk.toString("utf8");
      if (seen.includes("CONNECT")) socket.end("-ERR 'Authorization Violation'\r\n");
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    port: (server.address() as { port: number }).port,
    received: () => seen,
    close: () => {
      for (const socket of sockets) socket.destroy();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}
