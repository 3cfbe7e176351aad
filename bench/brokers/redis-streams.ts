/**
 * Redis Streams: mecha's `pubsub.redis` beside two hand-written consumer-group loops on ioredis,
 * each doing the same at-least-once work per message — read it with XREADGROUP, `JSON.parse` the
 * CloudEvent in its `data` field, call the no-op with the event's data, XACK it — with at most
 * `concurrency` messages in flight:
 *
 * - **XACK per message** (the baseline the target is about): the loop mecha's consumer is built
 *   like — a blocking `XREADGROUP COUNT <free slots>` on a connection of its own, each entry handled
 *   on its own and XACKed as soon as it is done, on a second connection. Handlers that finish at
 *   different times never wait for each other, which is why a careful loop acks one by one.
 * - **XACK per batch**: read up to `concurrency` entries, handle them all, XACK their ids in one
 *   command, read again. Fewer round trips, but a slow message holds back the whole batch's acks
 *   and the next read: shown for context, not as the target's baseline.
 */
import { Redis } from "ioredis";
import { services } from "../../test/support/services.ts";
import { countdown, mechaSide, noop, publishAll, type Broker, type Side } from "./sides.ts";

const { host, port } = services.redis;
/** How long one XREADGROUP waits for entries (mecha's is 2 s too). */
const blockMs = 2_000;

export async function redisStreamsBroker(concurrency: number): Promise<Broker> {
  const mecha = await mechaSide({ label: "mecha (pubsub.redis + delivery pipeline)", type: "pubsub.redis", metadata: { redisHost: `${host}:${port}` }, concurrency });
  const admin = new Redis({ host, port });
  return {
    name: "Redis Streams",
    sides: [mecha, handWrittenLoop("hand-written loop, XACK per message", concurrency, "each"), handWrittenLoop("hand-written loop, XACK per batch", concurrency, "batch")],
    async fill(topic, _subscription, bodies) {
      // Through mecha's component, so the entries have its layout (data, contentType); each side's
      // drain makes its group at 0, as mecha's subscribe does.
      await publishAll(mecha.component, topic, bodies);
      const length = await admin.xlen(topic);
      if (length !== bodies.length) throw new Error(`stream ${topic} holds ${length} entries, not ${bodies.length}`);
    },
    async remove(topic) {
      await admin.del(topic);
    },
    async close() {
      admin.disconnect();
    },
  };
}

/** One hand-written consumer-group loop; see the file's comment for the two ways it acks. */
function handWrittenLoop(label: string, concurrency: number, acks: "each" | "batch"): Side {
  // One connection blocks in XREADGROUP; the acks go on the other, as in mecha's component.
  const reader = new Redis({ host, port });
  const commands = new Redis({ host, port });
  const consumer = `bench-${process.pid}`;

  /** The CloudEvent in an entry's `data` field, parsed, its data handed to the no-op. */
  const handle = (fields: string[]) => {
    const at = fields.indexOf("data");
    const event = JSON.parse(fields[at + 1]!) as { data: unknown };
    noop(event.data);
  };
  const read = async (topic: string, group: string, count: number) => {
    const reply = (await reader.xreadgroup("GROUP", group, consumer, "COUNT", count, "BLOCK", blockMs, "STREAMS", topic, ">")) as Array<[string, Array<[string, string[]]>]> | null;
    return reply?.[0]?.[1] ?? [];
  };

  return {
    label,
    async drain({ topic, subscription: group, count }) {
      const acked = countdown(count, `${label} on ${topic}`);
      const started = performance.now();
      await commands.xgroup("CREATE", topic, group, "0", "MKSTREAM");
      let taken = 0;
      if (acks === "batch") {
        while (taken < count) {
          const entries = await read(topic, group, concurrency);
          taken += entries.length;
          await Promise.all(entries.map(async ([, fields]) => handle(fields)));
          if (entries.length) await commands.xack(topic, group, ...entries.map(([id]) => id));
          for (let i = 0; i < entries.length; i++) acked.tick();
        }
      } else {
        let inFlight = 0;
        let roomMade: (() => void) | undefined;
        const ackOne = async (id: string, fields: string[]) => {
          try {
            handle(fields);
            await commands.xack(topic, group, id);
            acked.tick();
          } catch (error) {
            acked.fail(error as Error);
          } finally {
            inFlight--;
            roomMade?.();
          }
        };
        // Stops reading once every message is in hand (a real loop would go on reading).
        while (taken < count) {
          if (inFlight >= concurrency) {
            await new Promise<void>((resolve) => (roomMade = resolve));
            roomMade = undefined;
            continue;
          }
          const entries = await read(topic, group, concurrency - inFlight);
          taken += entries.length;
          for (const [id, fields] of entries) {
            inFlight++;
            void ackOne(id, fields);
          }
        }
      }
      await acked.finished;
      return performance.now() - started;
    },
    async close() {
      reader.disconnect();
      await commands.quit();
    },
  };
}
