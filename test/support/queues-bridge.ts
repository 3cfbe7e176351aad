/**
 * Runs the real `pubsub.cloudflare.queues` component inside workerd, on real Miniflare Queues,
 * and hands Node tests a PubSubComponent for it, so the shared pub/sub suite runs unchanged
 * against the code that ships to Workers. It also serves the real `bindings.cloudflare.r2` on a
 * local R2 bucket. Same approach as miniflare-bridge.ts: queues-bridge-worker.ts is bundled with
 * esbuild (in memory), one Miniflare per bridge, errors come back as the classes thrown.
 *
 * Queues must exist before the Worker starts, but the suite makes fresh topics and subscriptions
 * in every test. So the bridge owns a fixed pool of queues, each with a producer binding and a
 * consumer, and leases one to each (topic, subscription) a proxy subscribes; the proxy sends its
 * table of leased producer bindings with every publish, as the real component's `topics`
 * metadata, so the component's own fan-out routes — a topic no subscription has goes nowhere.
 * A lease lasts as long as the proxy component: a closed subscription's queue keeps its
 * messages, and subscribing under the same name again gets them, as with a deployed queue.
 *
 * Delivery: the Worker's `queue()` turns each message into the adapter's InboundMessage and
 * POSTs it to Node over a service binding; Node calls the subscription's `deliver` with an
 * InboundMessage whose `ack()` / `retry(ms)` answer that request, and the Worker then calls the
 * real `ack()` / `retry({ delaySeconds })`. Acks, retries, delays and attempt counts are Queues'.
 *
 * @example
 * const bridge = await startQueuesBridge();
 * const bus = await bridge.pubsub();
 * const receipts = await bridge.outputBinding({ type: "bindings.cloudflare.r2" });
 * await bridge.dispose();
 */
import { Agent } from "node:http";
import { fileURLToPath } from "node:url";
import { Miniflare, Response, type Request } from "miniflare";
import type { OutputBindingComponent } from "../../src/blocks/bindings.ts";
import {
  subscriptionConcurrency,
  type ActiveSubscription,
  type InboundMessage,
  type PubSubComponent,
  type SubscribeRequest,
} from "../../src/blocks/pubsub.ts";
import { bundleBridgeWorker, postText, rebuildError } from "./bridge-shared.ts";
import { decodeJson, encodeJson, type BridgeResponse } from "./bridge-protocol.ts";
import type { DeliveryDecision, QueueDelivery } from "./queues-bridge-worker.ts";
import { freshName } from "./wait.ts";

/** The R2 bucket binding the bridge Worker gets: the component's default. */
export const r2Binding = "MECHA_R2";
/** The service binding the Worker forwards queue messages through (its `nodeBinding`). */
const nodeBinding = "MECHA_NODE";

export interface QueuesBridgeOptions {
  /** How many queues the pool has: the most (topic, subscription) pairs leased at once. */
  poolSize?: number;
  /** Largest batch a pool queue hands the Worker. */
  maxBatchSize?: number;
}

export interface OutputBindingRequest {
  type: string;
  /** The component name; fresh by default. */
  name?: string;
  metadata?: Record<string, string>;
}

export interface QueuesBridge {
  /** A proxy for a fresh `pubsub.cloudflare.queues` in workerd; its close() returns its queues to the pool. */
  pubsub(options?: { name?: string }): Promise<PubSubComponent>;
  /** Creates the output binding inside workerd and returns a proxy for it. */
  outputBinding(request: OutputBindingRequest): Promise<OutputBindingComponent>;
  /** How many pool queues are leased right now. */
  readonly leased: number;
  /** Every message the Worker forwarded, in order, and how Node told it to settle the message. */
  readonly forwarded: readonly ForwardedMessage[];
  dispose(): Promise<void>;
}

export interface ForwardedMessage {
  queue: string;
  topic: string;
  messageId: string;
  attempt: number;
  settle: DeliveryDecision["settle"];
}

/**
 * Queues, not the core, would give up on a message after this many retries; the core decides
 * retries (maxRetries, dead-lettering), so it is high. No dead-letter queue, for the same reason.
 */
const queueMaxRetries = 50;
/** A message for a closed subscription goes back to its queue and is offered again after this. */
const closedRedeliveryMs = 1000;

/** One pool queue and, while it is leased, the subscription it feeds. */
interface PoolQueue {
  queue: string;
  producerBinding: string;
  lease?: Lease;
}

interface Lease {
  topic: string;
  subscription: string;
  consumer?: Consumer;
}

const entryPoint = fileURLToPath(new URL("./queues-bridge-worker.ts", import.meta.url));

const bundle = () => bundleBridgeWorker(entryPoint);

export async function startQueuesBridge(options: QueuesBridgeOptions = {}): Promise<QueuesBridge> {
  const pool: PoolQueue[] = Array.from({ length: options.poolSize ?? 24 }, (_, i) => ({
    queue: `mecha-pool-${i}`,
    producerBinding: `MECHA_POOL_${i}`,
  }));
  const byQueue = new Map(pool.map((q) => [q.queue, q]));
  // First in, first out: a released queue is reused as late as possible, so the stale messages
  // it may still hold have time to drain.
  const free = [...pool];
  const forwarded: ForwardedMessage[] = [];

  const mf = new Miniflare({
    modules: [{ type: "ESModule", path: "queues-bridge-worker.mjs", contents: await bundle() }],
    compatibilityDate: "2026-01-01",
    compatibilityFlags: ["nodejs_compat"],
    r2Buckets: [r2Binding],
    queueProducers: Object.fromEntries(pool.map((q) => [q.producerBinding, { queueName: q.queue }])),
    queueConsumers: Object.fromEntries(
      pool.map((q) => [q.queue, { maxBatchSize: options.maxBatchSize ?? 10, maxBatchTimeout: 0.05, maxRetries: queueMaxRetries }]),
    ),
    serviceBindings: {
      [nodeBinding]: async (req: Request) => {
        const delivery = decodeJson<QueueDelivery>(await req.text());
        const decision = await receive(delivery);
        const { queue, message } = delivery;
        forwarded.push({ queue, topic: message.topic, messageId: message.id, attempt: message.attempt, settle: decision.settle });
        return new Response(encodeJson(decision), { headers: { "content-type": "application/json" } });
      },
    },
  });

  /** Where a message the Worker forwards goes; the decision is how the Worker settles it. */
  const receive = async ({ queue, message }: QueueDelivery): Promise<DeliveryDecision> => {
    const lease = byQueue.get(queue)?.lease;
    // A queue returned to the pool (or leased again since) may still hold messages of the
    // subscription it fed. That subscription's component is closed; drain them.
    if (!lease || lease.topic !== message.topic) return { settle: "ack" };
    if (!lease.consumer) return { settle: "retry", delayMs: closedRedeliveryMs };
    return lease.consumer.deliver({ ...message, topic: lease.topic, metadata: message.metadata ?? {} });
  };

  const url = await mf.ready;
  const agent = new Agent({ keepAlive: true });
  const post = async (path: string, body: unknown): Promise<unknown> => {
    const { status, text } = await postText(new URL(path, url), encodeJson(body), agent);
    if (status !== 200) throw new Error(`queues bridge ${path} answered ${status}: ${text}`);
    const decoded = decodeJson<BridgeResponse>(text);
    if ("error" in decoded) throw rebuildError(decoded.error);
    return decoded.result;
  };

  const lease = (topic: string, subscription: string): PoolQueue => {
    const queue = free.shift();
    if (!queue) {
      throw new Error(`all ${pool.length} pool queues are leased: close the pub/sub components a test no longer uses`);
    }
    queue.lease = { topic, subscription };
    return queue;
  };
  const release = (queue: PoolQueue) => {
    delete queue.lease;
    free.push(queue);
  };

  return {
    async pubsub({ name = freshName("bus") } = {}) {
      const { type, features } = (await post("/pubsub/describe", { name })) as Pick<PubSubComponent, "type" | "features">;
      /** This component's pool queues, by topic and subscription. */
      const mine = new Map<string, PoolQueue>();
      const keyOf = (topic: string, subscription: string) => JSON.stringify([topic, subscription]);
      const topics = () => {
        const table: Record<string, string[]> = {};
        for (const queue of mine.values()) (table[queue.lease!.topic] ??= []).push(queue.producerBinding);
        return table;
      };

      return {
        type,
        features,

        async publish(request) {
          await post("/pubsub/publish", { name, topics: topics(), request });
        },

        async subscribe(request): Promise<ActiveSubscription> {
          const concurrency = subscriptionConcurrency(request, type);
          const key = keyOf(request.topic, request.subscription);
          let queue = mine.get(key);
          if (!queue) mine.set(key, (queue = lease(request.topic, request.subscription)));
          const current = queue.lease!;
          if (current.consumer) {
            // Queues allow one consumer Worker per queue; the harness keeps to that.
            throw new Error(`subscription "${request.subscription}" on "${request.topic}" already has a consumer in this bridge`);
          }
          const consumer = new Consumer(request, concurrency);
          current.consumer = consumer;
          return {
            async close() {
              if (current.consumer === consumer) delete current.consumer;
              await consumer.close();
            },
          };
        },

        async close() {
          const queues = [...mine.values()];
          mine.clear();
          await Promise.all(queues.map((q) => q.lease?.consumer?.close()));
          for (const queue of queues) release(queue);
        },
      };
    },

    async outputBinding({ type, name = freshName("binding"), metadata = {} }) {
      const path = `/bindings/${encodeURIComponent(freshName("bridge"))}`;
      const created = (await post(path, { type, name, metadata })) as Pick<OutputBindingComponent, "type" | "operations">;
      return {
        type: created.type,
        operations: created.operations,
        invoke: async (request) => (await post(`${path}/invoke`, { args: [request] })) as Awaited<ReturnType<OutputBindingComponent["invoke"]>>,
        close: async () => void (await post(`${path}/close`, {})),
      };
    },

    get leased() {
      return pool.length - free.length;
    },
    forwarded,

    async dispose() {
      agent.destroy();
      await mf.dispose();
    },
  };
}

/**
 * One subscription's consumer on the Node side: at most `concurrency` deliveries in flight, the
 * rest wait their turn; once closed it takes nothing new, and waits for what is in flight.
 */
class Consumer {
  readonly #request: SubscribeRequest;
  readonly #concurrency: number;
  readonly #inFlight = new Set<Promise<void>>();
  readonly #waiting: Array<(go: boolean) => void> = [];
  #running = 0;
  #closed = false;

  constructor(request: SubscribeRequest, concurrency: number) {
    this.#request = request;
    this.#concurrency = concurrency;
  }

  /** Hands one queue message to the subscription; resolves with how to settle it in the queue. */
  async deliver(wire: QueueDelivery["message"]): Promise<DeliveryDecision> {
    if (!(await this.#turn())) return { settle: "retry", delayMs: closedRedeliveryMs };
    let decide!: (decision: DeliveryDecision) => void;
    const decision = new Promise<DeliveryDecision>((resolve) => (decide = resolve));
    let settled = false;
    const settleOnce = (next: DeliveryDecision) => {
      if (settled) throw new Error(`queue message ${wire.id} was already settled; cannot ${next.settle} it`);
      settled = true;
      decide(next);
    };
    const message: InboundMessage = {
      ...wire,
      ack: async () => settleOnce({ settle: "ack" }),
      retry: async (delayMs) => settleOnce({ settle: "retry", delayMs }),
    };
    const delivery = (async () => this.#request.deliver(message))()
      .catch(() => {
        // `deliver` must not reject; if it does, the message simply counts as unsettled.
      })
      .finally(() => {
        this.#inFlight.delete(delivery);
        this.#done();
        if (!settled) {
          settled = true;
          decide({ settle: "unsettled" });
        }
      });
    this.#inFlight.add(delivery);
    return decision;
  }

  async close(): Promise<void> {
    this.#closed = true;
    for (const wake of this.#waiting.splice(0)) wake(false);
    await Promise.all(this.#inFlight);
  }

  /** Waits for a free slot; false once the consumer is closed. */
  #turn(): Promise<boolean> {
    if (this.#closed) return Promise.resolve(false);
    if (this.#running < this.#concurrency) {
      this.#running++;
      return Promise.resolve(true);
    }
    return new Promise((resolve) => this.#waiting.push(resolve));
  }

  #done(): void {
    const next = this.#waiting.shift();
    // The slot passes straight to the next waiter, so the count never dips below what runs.
    if (next) next(true);
    else this.#running--;
  }
}


