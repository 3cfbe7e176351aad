import { execFile } from "node:child_process";
import { startTcpProxy } from "../support/tcp-proxy.ts";
import { inspect, promisify } from "node:util";
import { connect, type Channel } from "amqplib";
import { afterAll, describe, expect, it } from "vitest";
import type { InboundMessage, PubSubComponent } from "../../src/blocks/pubsub.ts";
import { create } from "../../src/components/pubsub/rabbitmq.ts";
import { delayLevelMs, delayQueueName } from "../../src/components/pubsub/rabbitmq-consumer.ts";
import { deadLetterNames, exchangeName, queueName } from "../../src/components/pubsub/rabbitmq-settings.ts";
import { ComponentMetadata } from "../../src/config/metadata.ts";
import { ComponentConfigError, InvalidRequestError, MechaError } from "../../src/errors.ts";
import { serviceOrSkip, services } from "../support/services.ts";
import { freshName, waitFor } from "../support/wait.ts";
import { describePubSubConformance } from "./pubsub-suite.ts";
import { configErrorFrom } from "../support/config-error.ts";
import { publishText, record, text } from "../support/pubsub-recorder.ts";

const type = "pubsub.rabbitmq";
const up = await serviceOrSkip("rabbitmq", `the ${type} suite`);
const { host, port } = services.rabbitmq;
const connectionString = `amqp://guest:guest@${host}:${port}`;
/** Short, so the reconnection cases do not wait long. */
const reconnectWait = "200ms";

const rabbitmq = (metadata: Record<string, string>): PubSubComponent =>
  create({ name: "bus", appId: "conformance-app", baseDir: "/", metadata: new ComponentMetadata(metadata, "bus") });

/** The exchanges and queues the components of this file declared: deleted in afterAll. */
const exchanges = new Set<string>();
const queues = new Set<string>();
const opened: PubSubComponent[] = [];

/**
 * A component that records the exchanges and queues it declares (the delay queues too, from the
 * delays its messages are retried with), closed in afterAll if a test does not.
 */
function open(extra: Record<string, string> = {}): PubSubComponent {
  const component = rabbitmq({ ...(extra.hostname ? {} : { connectionString }), reconnectWait, ...extra });
  opened.push(component);
  return {
    type: component.type,
    features: component.features,
    publish: (request) => (exchanges.add(exchangeName(request.topic)), component.publish(request)),
    subscribe: (request) => {
      const queue = queueName(request.subscription);
      const dead = deadLetterNames(queue);
      exchanges.add(exchangeName(request.topic)).add(dead.exchange);
      queues.add(queue).add(dead.queue);
      const retried = (message: InboundMessage): InboundMessage => ({
        ...message,
        retry: (delayMs) => (queues.add(delayQueueName(queue, delayLevelMs(delayMs))), message.retry(delayMs)),
      });
      return component.subscribe({ ...request, deliver: (message) => request.deliver(retried(message)) });
    },
    close: () => component.close(),
  };
}

/** Runs `work` on a channel of a connection of its own (a failed call closes only that channel). */
async function admin<T>(work: (channel: Channel) => Promise<T>): Promise<T> {
  const connection = await connect(connectionString);
  try {
    const channel = await connection.createChannel();
    channel.on("error", () => {});
    return await work(channel);
  } finally {
    await connection.close().catch(() => {});
  }
}

const messagesIn = (queue: string) => admin(async (channel) => (await channel.checkQueue(queue)).messageCount);

/** Subscribes and closes at once: the queue exists and is bound, and nothing consumes it. */
const provision = async (bus: PubSubComponent, topic: string, subscription: string) =>
  (await bus.subscribe({ topic, subscription, deliver: async () => {} })).close();

/** Everything an error says, its causes included. */
function describeError(error: unknown): string {
  return `${inspect(error, { depth: 10 })}\n${JSON.stringify(error, Object.getOwnPropertyNames(error))}`;
}

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => expect.fail("expected a rejection"),
    (error: unknown) => error,
  );
}

describe.skipIf(!up)(`${type} against RabbitMQ on ${host}:${port}`, () => {
  afterAll(async () => {
    await Promise.all(opened.splice(0).map((component) => component.close()));
    await admin(async (channel) => {
      for (const queue of queues) await channel.deleteQueue(queue);
      for (const exchange of exchanges) await channel.deleteExchange(exchange);
    });
  });

  describePubSubConformance(type, () => ({ component: open() }));

  describe("one subscription, several consumers", () => {
    it("shares a subscription's messages among the components consuming it, each message once", async () => {
      const [a, b] = [open(), open()];
      const topic = freshName("shared");
      const subscription = freshName("shared-sub");
      const hold = (m: InboundMessage) => new Promise((resolve) => setTimeout(resolve, 5)).then(() => m.ack());
      const [onA, onB] = [await record(a, { topic, subscription }, hold), await record(b, { topic, subscription }, hold)];
      const count = 60;
      await Promise.all(Array.from({ length: count }, (_, n) => publishText(a, topic, `${n}`)));

      await waitFor(() => onA.seen.length + onB.seen.length >= count, { what: `${count} messages` });
      expect(new Set([...onA.bodies(), ...onB.bodies()]).size).toBe(count);
      expect(onA.seen.length + onB.seen.length).toBe(count);
      expect(onA.seen.length).toBeGreaterThan(0);
      expect(onB.seen.length).toBeGreaterThan(0);
    });

    it("gives the messages a closed component held unsettled to another consumer of the subscription", async () => {
      const [holder, taker] = [open(), open()];
      const topic = freshName("held");
      const subscription = freshName("held-sub");
      const held = await record(holder, { topic, subscription }, () => {});
      for (const n of [1, 2, 3, 4, 5]) await publishText(holder, topic, `${n}`);
      await waitFor(() => held.seen.length === 5, { what: "the holder to hold all five" });
      const took = await record(taker, { topic, subscription });
      expect(took.seen).toHaveLength(0);

      await holder.close();
      await waitFor(() => took.seen.length === 5, { what: "the five held messages at the other consumer" });
      expect(took.bodies().sort()).toEqual(["1", "2", "3", "4", "5"]);
      expect(new Set(took.seen.map((s) => s.message.id))).toEqual(new Set(held.seen.map((s) => s.message.id)));
      expect(took.attempts()).toEqual([2, 2, 2, 2, 2]);
    });
  });

  describe("attempts", () => {
    const leave = () => {};
    const retry = (m: InboundMessage) => m.retry(300);
    const ack = (m: InboundMessage) => m.ack();

    /**
     * Publishes one message and takes it once per `settles` entry: each time a new consumer
     * (concurrency 1) takes one delivery, settles it so, and closes. A retry's delay (300 ms)
     * outlasts the close, so no consumer sees the copy early. Answers the deliveries and the queue.
     */
    async function deliveriesOf(extra: Record<string, string>, settles: Array<(m: InboundMessage) => Promise<void> | void>) {
      const bus = open(extra);
      const topic = freshName("attempts");
      const subscription = freshName("attempts-sub");
      await provision(bus, topic, subscription);
      await publishText(bus, topic, "counted");
      const deliveries: InboundMessage[] = [];
      for (const settle of settles) {
        const taken = await record(bus, { topic, subscription, concurrency: 1 }, settle);
        await waitFor(() => taken.seen.length > 0, { what: `delivery ${deliveries.length + 1}` });
        await taken.active.close();
        deliveries.push(taken.seen[0]!.message);
      }
      return { deliveries, queue: queueName(subscription) };
    }

    it("counts every redelivery on a quorum queue: a consumer closed unsettled, a retry, a consumer closed again", async () => {
      const { deliveries, queue } = await deliveriesOf({}, [leave, retry, leave, leave, ack]);
      expect(deliveries.map((m) => m.attempt)).toEqual([1, 2, 3, 4, 5]);
      expect(new Set(deliveries.map((m) => m.id)).size).toBe(1);
      expect(await messagesIn(queue)).toBe(0);
      // The queue is a quorum queue: declaring it as one succeeds.
      await admin((channel) => channel.assertQueue(queue, { durable: true, arguments: { "x-queue-type": "quorum" } }));
    });

    it("counts consecutive redeliveries as one on a classic queue, which marks them but does not count them, and counts every retry", async () => {
      const { deliveries } = await deliveriesOf({ queueType: "classic" }, [leave, leave, retry, leave, ack]);
      expect(deliveries.map((m) => m.attempt)).toEqual([1, 2, 2, 3, 4]);
    });
  });

  describe("retries", () => {
    it("keeps a retried message in a delay queue on the broker until its delay has passed", async () => {
      const bus = open();
      const topic = freshName("delay");
      const subscription = freshName("delay-sub");
      const seen = await record(bus, { topic, subscription }, (m, i) => (i === 0 ? m.retry(1500) : m.ack()));
      await publishText(bus, topic, "later");

      await waitFor(() => seen.seen.length === 1);
      const delayQueue = delayQueueName(queueName(subscription), delayLevelMs(1500));
      await waitFor(async () => (await messagesIn(delayQueue)) === 1, { what: "the message in the delay queue" });
      await waitFor(() => seen.seen.length === 2, { what: "the redelivery" });
      expect(seen.seen[1]!.at - seen.seen[0]!.at).toBeGreaterThanOrEqual(1500);
      expect(seen.attempts()).toEqual([1, 2]);
      expect(seen.seen[1]!.message.id).toBe(seen.seen[0]!.message.id);
      expect(await messagesIn(delayQueue)).toBe(0);
    });

    it("does not lose a retried message when every consumer is gone before its delay ends", async () => {
      const first = open();
      const topic = freshName("retry-gone");
      const subscription = freshName("retry-gone-sub");
      const seen = await record(first, { topic, subscription }, (m) => m.retry(300));
      await publishText(first, topic, "kept");
      await waitFor(() => seen.seen.length === 1);
      await first.close();

      const back = await record(open(), { topic, subscription });
      await waitFor(() => back.seen.length === 1, { what: "the retried message" });
      expect(back.bodies()).toEqual(["kept"]);
      expect(back.attempts()).toEqual([2]);
    });

    it("rounds a retry delay up to one of four steps per doubling", () => {
      expect([0, 1, 5, 20, 300, 1000, 1500, 60_000].map(delayLevelMs)).toEqual([0, 1, 5, 20, 320, 1024, 1536, 65_536]);
      for (const ms of [3, 17, 99, 333, 4321, 86_400_000]) {
        expect(delayLevelMs(ms)).toBeGreaterThanOrEqual(ms);
        expect(delayLevelMs(ms)).toBeLessThanOrEqual(ms * 1.25);
      }
    });
  });

  describe("connection loss", () => {
    it("consumes again after reconnectWait when the connection drops, and redelivers what was unacked", async () => {
      const proxy = await startTcpProxy(port);
      try {
        const bus = open({ connectionString: `amqp://guest:guest@127.0.0.1:${proxy.port}`, reconnectWait: "300ms" });
        const topic = freshName("reconnect");
        const seen = await record(bus, { topic, subscription: freshName("reconnect-sub") }, (m) => (text(m.data) === "held" && m.attempt === 1 ? undefined : m.ack()));
        await publishText(bus, topic, "held");
        await waitFor(() => seen.seen.length === 1, { what: "the held message" });

        const cutAt = Date.now();
        proxy.cut();
        await waitFor(() => seen.seen.length === 2, { what: "the held message again", timeoutMs: 15_000 });
        expect(seen.seen[1]!.at - cutAt).toBeGreaterThanOrEqual(250);
        expect(seen.seen[1]!.message).toMatchObject({ id: seen.seen[0]!.message.id, attempt: 2 });

        await publishText(bus, topic, "after");
        await waitFor(() => seen.bodies().includes("after"), { what: "a message published after the reconnect" });
        expect(proxy.connections()).toBeGreaterThanOrEqual(2);
      } finally {
        await proxy.close();
      }
    });

    it("declares its queue again and consumes on when the queue is deleted under it", async () => {
      const bus = open();
      const topic = freshName("requeued");
      const subscription = freshName("requeued-sub");
      const seen = await record(bus, { topic, subscription });
      await admin((channel) => channel.deleteQueue(queueName(subscription)));

      await waitFor(() => admin(async (channel) => (await channel.checkQueue(queueName(subscription)), true)).catch(() => false), {
        what: "the queue declared again",
      });
      await publishText(bus, topic, "after");
      await waitFor(() => seen.bodies().includes("after"), { what: "a message on the new queue" });
    });

    it("consumes again when the broker closes the connection (rabbitmqctl close_connection)", async (ctx) => {
      const clientName = freshName("mecha-close-me");
      const bus = open({ clientName });
      const topic = freshName("forced");
      const seen = await record(bus, { topic, subscription: freshName("forced-sub") });
      await publishText(bus, topic, "before");
      await waitFor(() => seen.bodies().includes("before"));

      const pids = await connectionPids(clientName);
      if (!pids) ctx.skip(); // rabbitmqctl needs the broker's Erlang cookie (root, or the rabbitmq user)
      expect(pids).toHaveLength(1);
      await rabbitmqctl(["close_connection", pids![0]!, "closed by the pubsub.rabbitmq test"]);

      await waitFor(async () => ((await connectionPids(clientName)) ?? []).some((pid) => pid !== pids![0]), {
        what: "a new connection",
        timeoutMs: 20_000,
        intervalMs: 300,
      });
      await publishText(bus, topic, "after");
      await waitFor(() => seen.bodies().includes("after"), { what: "a message after the forced close", timeoutMs: 15_000 });
    });
  });

  describe("publishing", () => {
    it("resolves a publish only once the message is in the queue (publisher confirms)", async () => {
      const bus = open();
      const topic = freshName("confirmed");
      const subscription = freshName("confirmed-sub");
      await provision(bus, topic, subscription);
      for (let n = 1; n <= 3; n++) {
        await publishText(bus, topic, `${n}`);
        expect(await messagesIn(queueName(subscription))).toBe(n);
      }
    });

    it("carries bytes, content types and metadata verbatim: NUL bytes, bytes that are not UTF-8, 1 MB, unicode, quotes and %", async () => {
      const bus = open();
      const topic = `odd topic 'quoted' "double" %_ ü ${freshName("✓")}`;
      const seen = await record(bus, { topic, subscription: `odd sub %_ 'q' ✓ ${freshName("s")}` });
      const binary = new Uint8Array([0, 0xff, 0xfe, 0x00, 0x80, 0x41, 0]);
      const big = new Uint8Array(1024 * 1024).map((_, i) => (i * 7919) % 256);
      const metadata = { tenant: "a'b\"c%d_e\u0000f ü ✓", "key with spaces": "%s%n" };
      await bus.publish({ topic, data: binary, contentType: "application/octet-stream", metadata });
      await bus.publish({ topic, data: big, contentType: "application/x-big" });
      await publishText(bus, topic, "ünïcödé ✓ 'q' \"d\" %_\u0000");

      await waitFor(() => seen.seen.length === 3, { what: "three messages" });
      const [first, second, third] = seen.seen.map((s) => s.message);
      expect([...first!.data]).toEqual([...binary]);
      expect(first).toMatchObject({ contentType: "application/octet-stream", metadata });
      expect(second!.data.byteLength).toBe(big.byteLength);
      expect(Buffer.from(second!.data).equals(Buffer.from(big))).toBe(true);
      expect(second!.contentType).toBe("application/x-big");
      expect(text(third!.data)).toBe("ünïcödé ✓ 'q' \"d\" %_\u0000");
    });

    it("maps a topic longer than AMQP allows to a shorter exchange name, and delivers on it", async () => {
      const bus = open();
      const topic = `${"long.topic.".repeat(30)}${freshName("end")}`;
      expect(Buffer.byteLength(exchangeName(topic))).toBeLessThanOrEqual(255);
      const seen = await record(bus, { topic, subscription: `${"long-subscription-".repeat(20)}${freshName("s")}` });
      await publishText(bus, topic, "on a long topic");
      await waitFor(() => seen.bodies().includes("on a long topic"));
    });

    it("routes by the routingKey metadata on a topic exchange: the subscription's empty binding takes only unkeyed messages", async () => {
      const bus = open({ exchangeKind: "topic" });
      const topic = freshName("routed");
      const seen = await record(bus, { topic, subscription: freshName("routed-sub") });
      await publishText(bus, topic, "keyed", { routingKey: "orders.eu" });
      await publishText(bus, topic, "unkeyed");
      await waitFor(() => seen.bodies().includes("unkeyed"));
      expect(seen.bodies()).toEqual(["unkeyed"]);
    });

    it("publishes again when its exchange was deleted behind its back, declaring it anew", async () => {
      const bus = open();
      const topic = freshName("deleted");
      await publishText(bus, topic, "first");
      await admin((channel) => channel.deleteExchange(exchangeName(topic)));

      await expect(publishText(bus, topic, "after")).resolves.toBeUndefined();
      await admin((channel) => channel.checkExchange(exchangeName(topic)));
    });

    it("rejects publish metadata ttlInSeconds or priority that is not a whole number in range", async () => {
      const bus = open();
      for (const metadata of [{ ttlInSeconds: "soon" }, { ttlInSeconds: "0" }, { priority: "256" }] as Array<Record<string, string>>) {
        expect(await rejection(publishText(bus, freshName("bad"), "x", metadata))).toBeInstanceOf(InvalidRequestError);
      }
    });
  });

  describe("queue settings", () => {
    /** The bodies waiting in a queue, taken off it. */
    const drain = (queue: string) =>
      admin(async (channel) => {
        const bodies: string[] = [];
        for (let got = await channel.get(queue, { noAck: true }); got; got = await channel.get(queue, { noAck: true })) bodies.push(got.content.toString());
        return bodies;
      });

    it("dead-letters to dlq-<queue> the oldest messages beyond maxLen, with enableDeadLetter", async () => {
      const bus = open({ enableDeadLetter: "true", maxLen: "2" });
      const topic = freshName("dropped");
      const subscription = freshName("dropped-sub");
      await provision(bus, topic, subscription);
      for (const body of ["one", "two", "three"]) await publishText(bus, topic, body);

      await waitFor(async () => (await messagesIn(deadLetterNames(queueName(subscription)).queue)) === 1, { what: "the dead letter" });
      expect(await drain(deadLetterNames(queueName(subscription)).queue)).toEqual(["one"]);
      expect(await drain(queueName(subscription))).toEqual(["two", "three"]);
    });

    it("dead-letters to dlq-<queue> a message whose ttlInSeconds ran out before anyone took it, with enableDeadLetter", async () => {
      const bus = open({ enableDeadLetter: "true" });
      const topic = freshName("expired");
      const subscription = freshName("expired-sub");
      await provision(bus, topic, subscription);
      const published = Date.now();
      await publishText(bus, topic, "short-lived", { ttlInSeconds: "1" });

      await waitFor(async () => (await messagesIn(deadLetterNames(queueName(subscription)).queue)) === 1, { what: "the expired message" });
      expect(Date.now() - published).toBeGreaterThanOrEqual(900);
      expect(await drain(deadLetterNames(queueName(subscription)).queue)).toEqual(["short-lived"]);
      expect(await messagesIn(queueName(subscription))).toBe(0);
    });

    it.each([
      ["concurrencyMode single", { concurrencyMode: "single" }, 1],
      ["prefetchCount 2", { prefetchCount: "2" }, 2],
    ])("bounds the deliveries in flight by %s, whatever the subscription's concurrency", async (_name, extra, limit) => {
      const bus = open(extra);
      const topic = freshName("bounded");
      let inFlight = 0;
      let most = 0;
      const seen = await record(bus, { topic, subscription: freshName("bounded-sub"), concurrency: 8 }, async (m) => {
        most = Math.max(most, ++inFlight);
        await new Promise((resolve) => setTimeout(resolve, 10));
        inFlight--;
        await m.ack();
      });
      for (let n = 0; n < 10; n++) await publishText(bus, topic, `${n}`);
      await waitFor(() => seen.seen.length === 10);
      expect(most).toBe(limit);
    });

    it("refuses, as a config error, to subscribe to a queue that exists with other settings", async () => {
      const topic = freshName("mismatch");
      const subscription = freshName("mismatch-sub");
      await provision(open({ queueType: "classic" }), topic, subscription);

      const error = await rejection(open().subscribe({ topic, subscription, deliver: async () => {} }));
      expect(error).toBeInstanceOf(ComponentConfigError);
      expect((error as Error).message).toMatch(/PRECONDITION_FAILED.*x-queue-type/);
      expect((error as Error).message).toContain("exists with other settings");
    });

    it("declares durable only for queues that keep messages across restarts", () => {
      expect(rabbitmq({}).features).toEqual(["durable", "delayedRetry"]);
      expect(rabbitmq({ deletedWhenUnused: "true" }).features).toEqual(["delayedRetry"]);
      expect(rabbitmq({ durable: "false" }).features).toEqual(["delayedRetry"]);
      expect(rabbitmq({ queueType: "classic", deliveryMode: "1" }).features).toEqual(["delayedRetry"]);
      expect(rabbitmq({ deliveryMode: "1" }).features).toEqual(["durable", "delayedRetry"]);
    });
  });

  describe("secrets", () => {
    const password = "Pa55-w0rd%40never-shown";
    const decoded = decodeURIComponent(password);

    it.each([
      ["a connection string to a port nothing listens on", { connectionString: `amqp://guest:${password}@127.0.0.1:9` }],
      ["a wrong password in the connection string", { connectionString: `amqp://guest:${password}@${host}:${port}` }],
      ["a wrong password in the password field", { hostname: `${host}:${port}`, username: "guest", password: decoded }],
    ])("never puts the password in an error: %s", async (_name, metadata) => {
      const bus = open(metadata);
      const errors = [
        await rejection(publishText(bus, freshName("secret"), "x")),
        await rejection(bus.subscribe({ topic: freshName("secret"), subscription: freshName("secret-sub"), deliver: async () => {} })),
      ];
      expect(errors[0]).toBeInstanceOf(MechaError);
      for (const error of errors) {
        const described = describeError(error);
        expect(described).not.toContain(password);
        expect(described).not.toContain(decoded);
        expect(described).not.toContain("never-shown");
      }
    });
  });
});

describe(`${type} configuration`, () => {
  it("does no I/O when created", () => {
    // Nothing listens on port 9; a component that connected here would fail.
    expect(() => rabbitmq({ connectionString: "amqp://guest:guest@127.0.0.1:9" })).not.toThrow();
  });

  const pem = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----";
  it.each([
    [{ connectionString: "http://localhost:5672" }, "connectionString"],
    [{ host: "localhost:5672" }, "host"],
    [{ connectionString: "amqp://localhost?heartbeat=often" }, "connectionString"],
    [{ connectionString: "amqp://localhost", username: "user" }, "username"],
    [{ connectionString: "amqps://localhost", protocol: "amqp" }, "protocol"],
    [{ protocol: "stomp" }, "protocol"],
    [{ hostname: "a:b:c" }, "hostname"],
    [{ exchangeKind: "x-delayed-message" }, "exchangeKind"],
    [{ deliveryMode: "3" }, "deliveryMode"],
    [{ prefetchCount: "-1" }, "prefetchCount"],
    [{ reconnectWait: "soon" }, "reconnectWait"],
    [{ heartBeat: "often" }, "heartBeat"],
    [{ autoAck: "true" }, "autoAck"],
    [{ durable: "maybe" }, "durable"],
    [{ queueType: "quorum", durable: "false" }, "queueType"],
    [{ queueType: "stream" }, "queueType"],
    [{ concurrencyMode: "many" }, "concurrencyMode"],
    [{ maxLen: "-5" }, "maxLen"],
    [{ ttlInSeconds: "0" }, "ttlInSeconds"],
    [{ caCert: pem }, "caCert"],
    [{ connectionString: "amqps://localhost", clientCert: pem }, "clientKey"],
    [{ connectionString: "amqps://localhost", saslExternal: "true" }, "saslExternal"],
  ])("rejects bad metadata %j, naming the field", (metadata, field) => {
    const error = configErrorFrom(() => rabbitmq(metadata));
    expect((error as ComponentConfigError).field).toBe(field);
  });

  it("never echoes a connection string it rejects (it may hold a password)", () => {
    expect(() => rabbitmq({ connectionString: "http://user:Hidden-Pa55@localhost" })).toThrow(/must be an AMQP URL/);
    try {
      rabbitmq({ connectionString: "http://user:Hidden-Pa55@localhost" });
    } catch (error) {
      expect(describeError(error)).not.toContain("Hidden-Pa55");
    }
  });
});


const run = promisify(execFile);
const rabbitmqctl = (args: string[]) => run("rabbitmqctl", ["-q", ...args], { timeout: 20_000 });

/** The broker's ids of the connections named `clientName`, or undefined when rabbitmqctl cannot be used here. */
async function connectionPids(clientName: string): Promise<string[] | undefined> {
  try {
    const { stdout } = await rabbitmqctl(["list_connections", "pid", "client_properties"]);
    return stdout
      .split("\n")
      .filter((line) => line.includes(`"${clientName}"`))
      .map((line) => line.split("\t")[0]!);
  } catch {
    return undefined;
  }
}
