/**
 * `pubsub.cloudflare.queues`: pub/sub on Cloudflare Queues, one queue per subscription.
 *
 * Publishing fans a message out to the producer binding of every subscription of its topic, so
 * each subscription acks, retries and dead-letters on its own. Delivery is push: Cloudflare calls
 * the Worker's `queue()` handler with a batch per queue, and the Workers adapter feeds each
 * message to the core's delivery pipeline. This component therefore only publishes.
 *
 * Metadata: `topics` — the topic → producer-binding table, JSON (`{"orders.placed":["Q_…"]}`).
 * `mecha build --target workers` derives it from the subscriptions in code, with the queues and
 * their bindings in wrangler.toml; a hand-written component may set it too. A topic with no
 * subscription has no queue, and a message published to it is dropped, as on a broker with no
 * subscriber.
 */
import type { PubSubComponent, QueuedMessageBody } from "../../blocks/pubsub.ts";
import { NotSupportedError } from "../../errors.ts";
import type { ComponentOptions } from "../types.ts";
import { workersBinding } from "../workers-binding.ts";

const type = "pubsub.cloudflare.queues";

/** The part of a Queue producer binding this component uses. */
interface QueueProducer {
  send(body: unknown, options?: { contentType?: "v8" | "json" | "text" | "bytes" }): Promise<void>;
}

export function create({ name, metadata, bindings }: ComponentOptions): PubSubComponent {
  const topics = parseTopics(metadata.string("topics"), (reason) => metadata.error("topics", reason));

  // mecha build --target workers writes these producers from the subscriptions in code.
  const producer = (binding: string): QueueProducer =>
    workersBinding<QueueProducer>({
      bindings,
      name: binding,
      kind: "Queue producer",
      methods: ["send"],
      wranglerEntry: `[[queues.producers]] binding = "${binding}" queue = "<its queue>"`,
      component: name,
      field: "topics",
    });

  return {
    type,
    features: ["durable", "delayedRetry"],

    async publish(request) {
      const body: QueuedMessageBody = {
        mecha: 1,
        topic: request.topic,
        data: request.data,
        contentType: request.contentType,
        ...(request.metadata ? { metadata: request.metadata } : {}),
      };
      // "v8" keeps the bytes as a Uint8Array through the queue.
      await Promise.all((topics[request.topic] ?? []).map((binding) => producer(binding).send(body, { contentType: "v8" })));
    },

    async subscribe() {
      throw new NotSupportedError(
        "subscribe (Queues deliver by push: the Workers adapter's queue() handler feeds each subscription's queue to the pipeline)",
        type,
        name,
      );
    },

    async close() {},
  };
}

function parseTopics(raw: string | undefined, invalid: (reason: string) => Error): Record<string, string[]> {
  if (raw === undefined) return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    throw invalid("must be JSON: an object of topic → list of producer binding names");
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
    throw invalid("must be an object of topic → list of producer binding names");
  }
  for (const [topic, list] of Object.entries(parsed)) {
    if (!Array.isArray(list) || !list.every((b) => typeof b === "string" && b)) {
      throw invalid(`topic "${topic}" must map to a list of producer binding names`);
    }
  }
  return parsed as Record<string, string[]>;
}
