import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { inspect } from "node:util";
import mqtt from "mqtt";
import { afterAll, afterEach, describe, expect, it } from "vitest";
import type { InboundMessage, PubSubComponent, SubscribeRequest } from "../../src/blocks/pubsub.ts";
import { create } from "../../src/components/pubsub/mqtt3.ts";
import { subscriptionClientId } from "../../src/components/pubsub/mqtt3-client.ts";
import { ComponentMetadata } from "../../src/config/metadata.ts";
import { ComponentConfigError, ErrorCodes, InvalidRequestError } from "../../src/errors.ts";
import { isListening, serviceOrSkip } from "../support/services.ts";
import { freshName, waitFor } from "../support/wait.ts";
import { describePubSubConformance } from "./pubsub-suite.ts";

const type = "pubsub.mqtt3";
const url = "tcp://127.0.0.1:1883";
const up = await serviceOrSkip("mosquitto", `the ${type} suite`);

const mqtt3 = (metadata: Record<string, string>): PubSubComponent =>
  create({ name: "bus", appId: "conformance-app", baseDir: "/", metadata: new ComponentMetadata(metadata, "bus") });

/**
 * Every persistent session a test opens, by client id: Mosquitto keeps them (and queues for
 * them) for ever, so the run ends by connecting each once with a clean session.
 */
const sessions = new Set<string>();
const tracked = (component: PubSubComponent, consumerID?: string): PubSubComponent => ({
  ...component,
  subscribe: (request) => {
    sessions.add(subscriptionClientId(request.subscription, consumerID));
    return component.subscribe(request);
  },
});

afterAll(async () => {
  if (!up) return;
  const ids = [...sessions];
  for (let i = 0; i < ids.length; i += 20) {
    await Promise.all(ids.slice(i, i + 20).map(async (clientId) => (await mqtt.connectAsync(url, { clientId, clean: true })).endAsync()));
  }
});

const bytes = (text: string) => new TextEncoder().encode(text);
const thrown = (run: () => unknown): unknown => {
  try {
    run();
  } catch (error) {
    return error;
  }
  return undefined;
};
const text = (message: InboundMessage) => new TextDecoder().decode(message.data);

/** Subscribes with a handler that records every delivery and settles it (acks, by default). */
const record = async (
  component: PubSubComponent,
  request: Omit<SubscribeRequest, "deliver">,
  settle: (m: InboundMessage) => Promise<void> = (m) => m.ack(),
) => {
  const seen: InboundMessage[] = [];
  const active = await component.subscribe({ ...request, deliver: async (m) => void (seen.push(m), await settle(m)) });
  return { seen, active, texts: () => seen.map(text) };
};

describe.skipIf(!up)(`${type} on Mosquitto`, () => {
  describePubSubConformance(type, () => ({ component: tracked(mqtt3({ url })) }));

  const opened: PubSubComponent[] = [];
  const open = (metadata: Record<string, string> = {}) => {
    const component = tracked(mqtt3({ url, ...metadata }), metadata["consumerID"]);
    opened.push(component);
    return component;
  };
  afterEach(async () => {
    await Promise.all(opened.splice(0).map((c) => c.close()));
  });

  it("declares durable and delayedRetry with Dapr's defaults (QoS 1, persistent sessions)", () => {
    expect([...mqtt3({ url }).features].sort()).toEqual(["delayedRetry", "durable"]);
  });

  it("delivers every message published while the subscribing host was down, once it is back", async () => {
    const topic = freshName("away");
    const subscription = freshName("away-sub");
    const first = open();
    await record(first, { topic, subscription });
    // The host goes away without unsubscribing.
    await first.close();

    const count = 50;
    const publisher = open();
    for (let n = 0; n < count; n++) await publisher.publish({ topic, data: bytes(`m${n}`), contentType: "text/plain" });

    const back = await record(open(), { topic, subscription });
    await waitFor(() => new Set(back.texts()).size === count, { what: `${count} kept messages` });
    expect(back.texts()).toEqual(Array.from({ length: count }, (_, n) => `m${n}`));
    expect(back.seen.every((m) => m.attempt === 1)).toBe(true);
  });

  it("gives each of two subscriptions on one topic every message", async () => {
    const topic = freshName("two");
    const bus = open();
    const [a, b] = [await record(bus, { topic, subscription: freshName("two-a") }), await record(bus, { topic, subscription: freshName("two-b") })];
    for (let n = 0; n < 20; n++) await bus.publish({ topic, data: bytes(`m${n}`), contentType: "text/plain" });

    await waitFor(() => a.seen.length === 20 && b.seen.length === 20, { what: "both subscriptions" });
    expect(a.texts()).toEqual(b.texts());
  });

  it("hands a subscription one message at a time, in the order published", async () => {
    const topic = freshName("ordered");
    const bus = open();
    let inFlight = 0;
    let most = 0;
    const order: string[] = [];
    await bus.subscribe({
      topic,
      subscription: freshName("ordered-sub"),
      concurrency: 8,
      deliver: async (m) => {
        most = Math.max(most, ++inFlight);
        await new Promise((resolve) => setTimeout(resolve, 2));
        order.push(text(m));
        inFlight--;
        await m.ack();
      },
    });
    for (let n = 0; n < 30; n++) await bus.publish({ topic, data: bytes(`m${n}`), contentType: "text/plain" });

    await waitFor(() => order.length === 30);
    expect(order).toEqual(Array.from({ length: 30 }, (_, n) => `m${n}`));
    expect(most).toBe(1);
  });

  it("waits out a retry with the PUBACK withheld, and a restart during the wait delivers again, counted from the DUP flag", async () => {
    const topic = freshName("retry-away");
    const subscription = freshName("retry-away-sub");
    const first = open();
    const before = await record(first, { topic, subscription }, (m) => m.retry(60_000));
    await first.publish({ topic, data: bytes("later"), contentType: "text/plain" });
    await waitFor(() => before.seen.length > 0, { what: "the first delivery" });
    await first.close();

    const back = await record(open(), { topic, subscription });
    await waitFor(() => back.seen.length > 0, { what: "the redelivery" });
    expect(back.texts()).toEqual(["later"]);
    expect(back.seen[0]!.id).toBe(before.seen[0]!.id);
    expect(back.seen[0]!.attempt).toBe(2);
    expect(before.seen).toHaveLength(1);
  });

  it("redelivers a message whose host was killed mid-handler, counted from the DUP flag", async () => {
    const topic = freshName("crash");
    const subscription = freshName("crash-sub");
    sessions.add(subscriptionClientId(subscription));
    const host = spawnSubscriber(topic, subscription);
    try {
      await waitFor(() => host.output().includes("subscribed"), { what: "the child host to subscribe", timeoutMs: 20_000 });
      await open().publish({ topic, data: bytes("in progress"), contentType: "text/plain" });
      const [, id] = await waitFor(() => /handling (\S+) 1/.exec(host.output()) ?? undefined, { what: "the child host's handler to start" });
      host.child.kill("SIGKILL");
      await host.exited;

      const back = await record(open(), { topic, subscription });
      await waitFor(() => back.seen.length > 0, { what: "the redelivery" });
      expect(back.texts()).toEqual(["in progress"]);
      expect(back.seen[0]).toMatchObject({ id, attempt: 2 });
    } finally {
      host.child.kill("SIGKILL");
    }
  });

  it("keeps a healthy connection while a handler runs longer than the keep-alive", async () => {
    const topic = freshName("slow");
    const bus = open({ keepAlive: "1s" });
    const seen = await record(bus, { topic, subscription: freshName("slow-sub") }, async (m) => {
      if (text(m) === "slow") await new Promise((resolve) => setTimeout(resolve, 4_000));
      await m.ack();
    });
    await bus.publish({ topic, data: bytes("slow"), contentType: "text/plain" });
    await bus.publish({ topic, data: bytes("next"), contentType: "text/plain" });

    await waitFor(() => seen.texts().includes("next"), { what: "the message after the slow one", timeoutMs: 15_000 });
    // A dropped connection would have brought "slow" back a second time, with a higher attempt.
    expect(seen.texts()).toEqual(["slow", "next"]);
    expect(seen.seen.map((m) => m.attempt)).toEqual([1, 1]);
  });

  it("publishes to the MQTT topic of the same name, dots and all, and reads what plain MQTT clients publish", async () => {
    const topic = `orders.created/${freshName("ünï'\"%_")}`;
    const plain = await mqtt.connectAsync(url, { clean: true });
    try {
      const heard: Array<{ topic: string; payload: string }> = [];
      plain.on("message", (t, payload) => heard.push({ topic: t, payload: payload.toString() }));
      await plain.subscribeAsync(topic, { qos: 1 });
      const bus = open();
      const seen = await record(bus, { topic, subscription: freshName("plain-sub") });
      await bus.publish({ topic, data: bytes("from mecha"), contentType: "text/plain" });
      const cloudEvent = JSON.stringify({ specversion: "1.0", id: "e-1", source: "dapr-app", type: "com.dapr.event.sent", data: { n: 1 } });
      await plain.publishAsync(topic, cloudEvent, { qos: 1 });
      await plain.publishAsync(topic, '{"n":2}', { qos: 1 });

      await waitFor(() => heard.length >= 3 && seen.seen.length >= 3, { what: "both sides" });
      expect(heard[0]).toEqual({ topic, payload: "from mecha" });
      expect(seen.seen.map((m) => [text(m), m.contentType, m.topic])).toEqual([
        ["from mecha", undefined, topic],
        [cloudEvent, "application/cloudevents+json", topic],
        ['{"n":2}', undefined, topic],
      ]);
    } finally {
      await plain.endAsync();
    }
  });

  it("carries a 1 MB payload with NUL and non-UTF-8 bytes verbatim", async () => {
    const topic = freshName("big");
    const bus = open();
    const seen = await record(bus, { topic, subscription: freshName("big-sub") });
    const data = new Uint8Array(1024 * 1024).map((_, i) => (i * 7919) % 256);
    data.set([0x00, 0xff, 0xfe, 0x00], 0);
    await bus.publish({ topic, data, contentType: "application/octet-stream" });

    await waitFor(() => seen.seen.length > 0, { what: "the big message" });
    expect(Buffer.from(seen.seen[0]!.data).equals(Buffer.from(data))).toBe(true);
  });

  it("rejects topics MQTT cannot name, on publish and on subscribe", async () => {
    const bus = open();
    for (const topic of ["orders/+", "orders/#", "$SYS/x", "", "a\u0000b", "bad\ud800"]) {
      await expect(bus.publish({ topic, data: bytes("x"), contentType: "text/plain" }), `publish to ${JSON.stringify(topic)}`).rejects.toBeInstanceOf(
        InvalidRequestError,
      );
      await expect(bus.subscribe({ topic, subscription: freshName("bad"), deliver: async () => {} })).rejects.toBeInstanceOf(InvalidRequestError);
    }
  });

  it("retains a message published with retain metadata, and marks it retained on delivery", async () => {
    const topic = freshName("retained");
    const bus = open();
    await bus.publish({ topic, data: bytes("last known"), contentType: "text/plain", metadata: { retain: "true" } });
    try {
      const seen = await record(bus, { topic, subscription: freshName("retained-sub") });
      await waitFor(() => seen.seen.length > 0, { what: "the retained message" });
      expect(seen.seen[0]!.metadata).toEqual({ retained: "true" });
    } finally {
      // An empty retained message clears the topic's retained one.
      await bus.publish({ topic, data: new Uint8Array(), contentType: "text/plain", metadata: { retain: "true" } });
    }
    await expect(bus.publish({ topic, data: bytes("x"), contentType: "text/plain", metadata: { retain: "maybe" } })).rejects.toThrow(/retain/);
  });

  it("keeps nothing for an absent host with cleanSession true, and declares no durable", async () => {
    const bus = open({ cleanSession: "true" });
    expect(bus.features).toEqual(["delayedRetry"]);
    const topic = freshName("clean");
    const subscription = freshName("clean-sub");
    await (await record(bus, { topic, subscription })).active.close();
    await bus.publish({ topic, data: bytes("lost"), contentType: "text/plain" });

    const back = await record(bus, { topic, subscription });
    await bus.publish({ topic, data: bytes("barrier"), contentType: "text/plain" });
    await waitFor(() => back.texts().includes("barrier"));
    expect(back.texts()).toEqual(["barrier"]);
  });

  it("declares no durable with qos 0", () => {
    expect(mqtt3({ url, qos: "0" }).features).toEqual(["delayedRetry"]);
  });

  it("prefixes each subscription's client id with consumerID", async () => {
    const topic = freshName("prefixed");
    const subscription = freshName("prefixed-sub");
    const consumerID = freshName("tenant");
    await record(open({ consumerID }), { topic, subscription });
    const probe = await mqtt.connectAsync(url, { clientId: `${consumerID}:${subscription}`, clean: false });
    // The broker resumes the session the component opened under that id.
    expect(probe.connected).toBe(true);
    await probe.endAsync();
  });

  it("refuses a second active subscription with the same name in one component", async () => {
    const bus = open();
    const request = { topic: freshName("twice"), subscription: freshName("twice-sub"), deliver: async () => {} };
    await bus.subscribe(request);
    await expect(bus.subscribe(request)).rejects.toThrow(/already active/);
  });
});

const [tls, restartable] = up ? await Promise.all([startBroker({ tls: true }), startBroker({ tls: false })]) : [];
// At the top level, so the brokers stop even when a filter skips every test that uses them.
afterAll(() => Promise.all([tls?.stop(), restartable?.stop()]));

describe.skipIf(!tls)(`${type} over TLS (a second Mosquitto that requires client certificates)`, () => {
  const broker = tls!;
  const roundTrip = async (metadata: Record<string, string>) => {
    const bus = mqtt3({ url: broker.url, cleanSession: "true", ...metadata });
    try {
      const topic = freshName("tls");
      const seen: string[] = [];
      await bus.subscribe({ topic, subscription: freshName("tls-sub"), deliver: async (m) => void (seen.push(text(m)), await m.ack()) });
      await bus.publish({ topic, data: bytes("over TLS"), contentType: "text/plain" });
      await waitFor(() => seen.length > 0, { what: "the message over TLS" });
      return seen;
    } finally {
      await bus.close();
    }
  };

  it("connects with caCert, clientCert and clientKey, and delivers", async () => {
    expect(await roundTrip({ caCert: broker.ca, clientCert: broker.clientCert, clientKey: broker.clientKey })).toEqual(["over TLS"]);
  });

  it("trusts only the given caCert", async () => {
    await expect(roundTrip({ clientCert: broker.clientCert, clientKey: broker.clientKey })).rejects.toThrow(/SELF_SIGNED_CERT_IN_CHAIN|certificate/);
  });

  it("presents the client certificate the broker requires", async () => {
    await expect(roundTrip({ caCert: broker.ca })).rejects.toThrow(/CERTIFICATE_REQUIRED|certificate/i);
  });
});

describe.skipIf(!restartable)(`${type} across a broker restart (a Mosquitto of its own that persists sessions)`, () => {
  const broker = restartable!;
  const opened: PubSubComponent[] = [];
  const open = () => {
    const component = mqtt3({ url: broker.url });
    opened.push(component);
    return component;
  };
  afterEach(async () => {
    await Promise.all(opened.splice(0).map((c) => c.close()));
  });

  it("reconnects on its own, resumes its session, and delivers what is published after the restart", async () => {
    const bus = open();
    const topic = freshName("restart");
    const seen = await record(bus, { topic, subscription: freshName("restart-sub") });
    await bus.publish({ topic, data: bytes("before"), contentType: "text/plain" });
    await waitFor(() => seen.texts().includes("before"));

    await broker.restart();
    await bus.publish({ topic, data: bytes("after"), contentType: "text/plain" });
    await waitFor(() => seen.texts().includes("after"), { what: "the message published after the restart", timeoutMs: 15_000 });
    expect(seen.texts()).toEqual(["before", "after"]);
  });

  it("acks the broker's resend of a message whose handler finished after the connection was lost, without handling it twice", async () => {
    const topic = freshName("lost");
    const subscription = freshName("lost-sub");
    let openGate!: () => void;
    const gate = new Promise<void>((resolve) => (openGate = resolve));
    const first = open();
    const seen = await record(first, { topic, subscription }, async (m) => {
      if (text(m) === "held") await gate;
      await m.ack();
    });
    await first.publish({ topic, data: bytes("held"), contentType: "text/plain" });
    await waitFor(() => seen.seen.length > 0, { what: "the handler to start" });

    await broker.restart();
    openGate();
    await first.publish({ topic, data: bytes("next"), contentType: "text/plain" });
    await waitFor(() => seen.texts().includes("next"), { what: "the message after the held one", timeoutMs: 15_000 });
    expect(seen.texts()).toEqual(["held", "next"]);

    // The broker has its PUBACK: a new host of the subscription gets nothing back.
    await first.close();
    const again = open();
    const back = await record(again, { topic, subscription });
    await again.publish({ topic, data: bytes("barrier"), contentType: "text/plain" });
    await waitFor(() => back.texts().includes("barrier"));
    expect(back.texts()).toEqual(["barrier"]);
  });
});

/**
 * Runs a subscriber in a child process (through tsx) whose handler never finishes, so the test
 * can kill it mid-delivery the way a crash would.
 */
function spawnSubscriber(topic: string, subscription: string): { child: ChildProcess; output(): string; exited: Promise<void> } {
  const script = `
    const { create } = await import(process.env.MQTT3_MODULE);
    const { ComponentMetadata } = await import(process.env.METADATA_MODULE);
    const bus = create({ name: "bus", appId: "crash", baseDir: "/", metadata: new ComponentMetadata({ url: process.env.MQTT_URL }, "bus") });
    await bus.subscribe({
      topic: process.env.TOPIC,
      subscription: process.env.SUBSCRIPTION,
      deliver: (m) => { console.log("handling " + m.id + " " + m.attempt); return new Promise(() => {}); },
    });
    console.log("subscribed");`;
  const child = spawn(process.execPath, ["--import", "tsx", "--input-type=module", "-e", script], {
    env: {
      ...process.env,
      MQTT3_MODULE: new URL("../../src/components/pubsub/mqtt3.ts", import.meta.url).href,
      METADATA_MODULE: new URL("../../src/config/metadata.ts", import.meta.url).href,
      MQTT_URL: url,
      TOPIC: topic,
      SUBSCRIPTION: subscription,
    },
    stdio: ["ignore", "pipe", "inherit"],
  });
  let output = "";
  child.stdout!.on("data", (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  return { child, output: () => output, exited };
}

interface OwnBroker {
  url: string;
  /** The TLS broker's CA and a client certificate it accepts. */
  ca: string;
  clientCert: string;
  clientKey: string;
  /** Stops the broker (it saves its sessions) and starts it again on the same port. */
  restart(): Promise<void>;
  stop(): Promise<void>;
}

/**
 * A Mosquitto of its own on a free port, persisting its sessions in a temporary folder: with
 * `tls`, a TLS listener that requires client certificates, and a CA and client certificate made
 * with openssl. Undefined (its tests skip) when mosquitto or openssl is missing.
 */
async function startBroker({ tls }: { tls: boolean }): Promise<OwnBroker | undefined> {
  const dir = mkdtempSync(join(tmpdir(), "mecha-mqtt3-broker-"));
  const path = (name: string) => join(dir, name);
  const openssl = (...args: string[]) => execFileSync("openssl", args, { cwd: dir, stdio: "ignore" });
  const remove = () => rmSync(dir, { recursive: true, force: true });
  try {
    openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out", "ca.pem", "-days", "1", "-subj", "/CN=mecha test CA");
    for (const [name, subject, extensions] of [["server", "/CN=127.0.0.1", "subjectAltName=IP:127.0.0.1"], ["client", "/CN=client", "basicConstraints=CA:FALSE"]] as const) {
      writeFileSync(path(`${name}.ext`), `${extensions}\n`);
      openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", `${name}.key`, "-out", `${name}.csr`, "-subj", subject);
      openssl("x509", "-req", "-in", `${name}.csr`, "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial", "-out", `${name}.pem`, "-days", "1", "-extfile", `${name}.ext`);
    }
  } catch {
    console.warn(`skipping the ${type} tests on a broker of their own: openssl could not make test certificates`);
    remove();
    return undefined;
  }
  const port = await new Promise<number>((resolve) => {
    const server = createServer().listen(0, "127.0.0.1", () => {
      const { port: free } = server.address() as { port: number };
      server.close(() => resolve(free));
    });
  });
  const config = [
    ...(process.getuid?.() === 0 ? ["user root"] : []),
    `listener ${port} 127.0.0.1`,
    ...(tls ? [`cafile ${path("ca.pem")}`, `certfile ${path("server.pem")}`, `keyfile ${path("server.key")}`, "require_certificate true"] : []),
    "allow_anonymous true",
    "persistence true",
    `persistence_location ${dir}/`,
  ];
  writeFileSync(path("mosquitto.conf"), `${config.join("\n")}\n`);
  let stopBroker = async () => {};
  const launch = async (): Promise<boolean> => {
    const child = spawn("mosquitto", ["-c", path("mosquitto.conf")], { stdio: "ignore" });
    const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()).once("error", () => resolve()));
    stopBroker = async () => {
      child.kill();
      await exited;
    };
    return waitFor(() => isListening("127.0.0.1", port, 200), { what: "the broker", timeoutMs: 5_000 }).catch(() => false);
  };
  if (!(await launch())) {
    console.warn(`skipping the ${type} tests on a broker of their own: mosquitto could not start`);
    await stopBroker();
    remove();
    return undefined;
  }
  const pem = (name: string) => readFileSync(path(name), "utf8");
  return {
    url: `${tls ? "ssl" : "tcp"}://127.0.0.1:${port}`,
    ca: pem("ca.pem"),
    clientCert: pem("client.pem"),
    clientKey: pem("client.key"),
    restart: async () => {
      await stopBroker();
      if (!(await launch())) throw new Error("the test broker did not start again");
    },
    stop: async () => {
      await stopBroker();
      remove();
    },
  };
}

describe(`${type} configuration`, () => {
  it("does no I/O when created", () => {
    expect(() => mqtt3({ url: "tcp://127.0.0.1:9" })).not.toThrow();
  });

  it.each([
    [{}, "url"],
    [{ url: "127.0.0.1:1883" }, "url"],
    [{ url: "http://127.0.0.1:1883" }, "url"],
    [{ url: "tcp://127.0.0.1:1883/topic" }, "url"],
    [{ url, qos: "3" }, "qos"],
    [{ url, qos: "one" }, "qos"],
    [{ url, retain: "maybe" }, "retain"],
    [{ url, cleanSession: "maybe" }, "cleanSession"],
    [{ url: "ssl://127.0.0.1:8883", caCert: "not a certificate" }, "caCert"],
    [{ url: "ssl://127.0.0.1:8883", clientCert: "-----BEGIN CERTIFICATE-----\nAA==\n-----END CERTIFICATE-----" }, "clientKey"],
    [{ url, caCert: "-----BEGIN CERTIFICATE-----\nAA==\n-----END CERTIFICATE-----" }, "caCert"],
    [{ url, keepAlive: "0s" }, "keepAlive"],
  ])("rejects bad metadata %j, naming the field", (metadata, field) => {
    const error = thrown(() => mqtt3(metadata));
    expect(error).toBeInstanceOf(ComponentConfigError);
    expect((error as ComponentConfigError).field).toBe(field);
  });

  it("derives a stable client id from the subscription, within 128 characters", () => {
    expect(subscriptionClientId("shop.onOrder")).toBe("shop.onOrder");
    expect(subscriptionClientId("shop.onOrder", "eu")).toBe("eu:shop.onOrder");
    const long = `shop.${"x".repeat(200)}`;
    expect(subscriptionClientId(long)).toHaveLength(128);
    expect(subscriptionClientId(long)).toBe(subscriptionClientId(long));
    expect(subscriptionClientId(long)).not.toBe(subscriptionClientId(`${long}y`));
  });

  describe("never shows the url's password", () => {
    const password = "Sup3r-S3cret-pa55word";
    const shown = (error: unknown) => `${String(error)} ${inspect(error, { depth: 10 })} ${JSON.stringify(error)}`;

    it("in a publish to a broker that is not there", async () => {
      const bus = mqtt3({ url: `tcp://mecha:${password}@127.0.0.1:9` });
      try {
        const error = await bus.publish({ topic: "t", data: bytes("x"), contentType: "text/plain" }).catch((e: unknown) => e);
        expect(error).toMatchObject({ code: ErrorCodes.publish });
        expect((error as Error).message).toMatch(/mqtt:\/\/127\.0\.0\.1:9.*ECONNREFUSED/);
        expect(shown(error)).not.toContain(password);
      } finally {
        await bus.close();
      }
    });

    it("in a subscribe to a broker that is not there", async () => {
      const bus = mqtt3({ url: `tcp://mecha:${encodeURIComponent(password)}@127.0.0.1:9` });
      try {
        const error = await bus.subscribe({ topic: "t", subscription: "s", deliver: async () => {} }).catch((e: unknown) => e);
        expect((error as Error).message).toMatch(/could not subscribe.*ECONNREFUSED/);
        expect(shown(error)).not.toContain(password);
      } finally {
        await bus.close();
      }
    });

    it("in a config error about the url", () => {
      const error = thrown(() => mqtt3({ url: `tcp://mecha:${password}@127.0.0.1:1883/path` }));
      expect(error).toBeInstanceOf(ComponentConfigError);
      expect(shown(error)).not.toContain(password);
    });
  });
});
