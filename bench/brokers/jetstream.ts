/**
 * NATS JetStream: mecha's `pubsub.jetstream` beside hand-written loops on the same durable pull
 * consumer, with the NATS client a user would use (`@nats-io/jetstream`). Each loop hands a
 * message to a handler as it arrives while fewer than `concurrency` are in flight — `m.json()`,
 * the no-op with the event's data, then the ack:
 *
 * - **`consume()`, `ackAck()`** (the target's baseline): the client's recommended way to read a
 *   pull consumer, `consumer.consume({ max_messages: concurrency })`, acked as mecha acks: with
 *   `ackAck()`, which waits for the server to confirm (a lost ack would mean a redelivery).
 *   `consume()` pulls again as messages arrive, whether or not the loop has taken them, so it
 *   keeps a pull outstanding; its buffer is bounded only by how fast the loop drains it.
 * - **`consume()`, `ack()`**: fire and forget, the client's usual example; the connection is
 *   flushed before the clock stops, so every ack has reached the server.
 * - **`fetch()` per free slot, `ackAck()`**: the shape of mecha's own loop (jetstream-consumer.ts):
 *   `fetch({ max_messages: <free slots> })`, pull again when the batch is in, so no message waits in
 *   a client buffer with its ack timer running. Shown to tell the cost of that choice from the cost
 *   of mecha's per-message pipeline.
 *
 * The stream is made as mecha makes one for a topic (interest retention, file storage) and the
 * durable consumer with the settings mecha gives it by default (explicit acks, 30 s ackWait), both
 * before the messages are published: an interest stream keeps only messages someone will consume.
 * Every connection uses the client's default options, as a user's would.
 */
import { jetstream, jetstreamManager, type JetStreamClient, type JsMsg } from "@nats-io/jetstream";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { jetstreamName } from "../../src/components/pubsub/jetstream.ts";
import { services } from "../../test/support/services.ts";
import { countdown, mechaSide, noop, publishAll, type Broker, type Side } from "./sides.ts";

const natsURL = `nats://${services.nats.host}:${services.nats.port}`;
const ackWaitNanos = 30_000_000_000;

export async function jetstreamBroker(concurrency: number): Promise<Broker> {
  const mecha = await mechaSide({ label: "mecha (pubsub.jetstream + delivery pipeline)", type: "pubsub.jetstream", metadata: { natsURL }, concurrency });
  const admin = await connect({ servers: natsURL, name: "mecha bench admin" });
  const jsm = await jetstreamManager(admin);
  const loops = await Promise.all([
    handWrittenLoop("hand-written consume(), ackAck()", concurrency, "consume", "ackAck"),
    handWrittenLoop("hand-written consume(), ack()", concurrency, "consume", "ack"),
    handWrittenLoop("hand-written fetch() per free slot, ackAck()", concurrency, "fetch", "ackAck"),
  ]);
  return {
    name: "NATS JetStream",
    sides: [mecha, ...loops],
    async fill(topic, subscription, bodies) {
      const stream = jetstreamName(topic);
      await jsm.streams.add({ name: stream, subjects: [topic], retention: "interest", storage: "file", discard: "old" });
      await jsm.consumers.add(stream, {
        durable_name: jetstreamName(subscription),
        filter_subject: topic,
        ack_policy: "explicit",
        replay_policy: "instant",
        deliver_policy: "all",
        ack_wait: ackWaitNanos,
        max_deliver: -1,
      });
      await publishAll(mecha.component, topic, bodies);
      const { state } = await jsm.streams.info(stream);
      if (state.messages !== bodies.length) throw new Error(`stream ${stream} holds ${state.messages} messages, not ${bodies.length}`);
    },
    async remove(topic) {
      await jsm.streams.delete(jetstreamName(topic));
    },
    close: () => admin.close(),
  };
}

async function handWrittenLoop(label: string, concurrency: number, pulls: "consume" | "fetch", acks: "ackAck" | "ack"): Promise<Side> {
  const nc: NatsConnection = await connect({ servers: natsURL, name: `mecha bench ${pulls} ${acks}` });
  const js: JetStreamClient = jetstream(nc);
  return {
    label,
    async drain({ topic, subscription, count }) {
      const acked = countdown(count, `${label} on ${topic}`);
      let inFlight = 0;
      let roomMade: (() => void) | undefined;
      const room = async () => {
        while (inFlight >= concurrency) await new Promise<void>((resolve) => (roomMade = resolve));
        roomMade = undefined;
      };
      const handle = async (message: JsMsg) => {
        try {
          noop(message.json<{ data: unknown }>().data);
          if (acks === "ackAck") await message.ackAck();
          else message.ack();
          acked.tick();
        } catch (error) {
          acked.fail(error as Error);
        } finally {
          inFlight--;
          roomMade?.();
        }
      };
      const started = performance.now();
      const consumer = await js.consumers.get(jetstreamName(topic), jetstreamName(subscription));
      // Each loop stops pulling once every message is in hand (a real loop would go on).
      let taken = 0;
      if (pulls === "consume") {
        for await (const message of await consumer.consume({ max_messages: concurrency })) {
          inFlight++;
          void handle(message);
          if (++taken === count) break;
          await room();
        }
      } else {
        while (taken < count) {
          await room();
          for await (const message of await consumer.fetch({ max_messages: concurrency - inFlight, expires: 5_000 })) {
            inFlight++;
            void handle(message);
            if (++taken === count) break;
          }
        }
      }
      await acked.finished;
      if (acks === "ack") await nc.flush();
      return performance.now() - started;
    },
    close: () => nc.close(),
  };
}
