/**
 * `pubsub.in-memory`: a broker inside the process, for tests and single-process development.
 * Nothing survives a restart, and — as in Dapr's in-memory pub/sub — a message published to a
 * topic with no active subscription is dropped.
 */
import type {
  ActiveSubscription,
  InboundMessage,
  PubSubComponent,
  PublishRequest,
  SubscribeRequest,
} from "../../blocks/pubsub.ts";
import { subscriptionConcurrency } from "../../blocks/pubsub.ts";
import type { ComponentOptions } from "../types.ts";

const type = "pubsub.in-memory";
/**
 * A delivery that ends without `ack()` or `retry()` means settling failed (for example the
 * dead-letter publish threw). It is delivered again, but not at once, so that a persistent
 * failure does not turn into a busy loop.
 */
const unsettledRedeliveryMs = 1000;

interface QueuedMessage {
  id: string;
  topic: string;
  data: Uint8Array;
  contentType: string;
  metadata: Readonly<Record<string, string>>;
  attempt: number;
}

interface Consumer {
  deliver: SubscribeRequest["deliver"];
  concurrency: number;
  inFlight: Set<Promise<void>>;
}

/** One durable name on one topic: its queue is shared by every consumer subscribed under that name. */
interface Group {
  queue: QueuedMessage[];
  consumers: Consumer[];
  /** Round-robin position, so competing consumers share the work. */
  next: number;
  timers: Set<ReturnType<typeof setTimeout>>;
  closed: boolean;
  pumpScheduled: boolean;
}

/**
 * Creates an in-memory pub/sub component. It takes no metadata.
 *
 * @example
 * const bus = create({ name: "bus", appId: "app", baseDir: ".", metadata: new ComponentMetadata({}, "bus") });
 */
export function create(options: ComponentOptions): PubSubComponent {
  const component = options.name;
  /** topic → subscription name → group */
  const topics = new Map<string, Map<string, Group>>();
  const consumers = new Set<{ close(): Promise<void> }>();

  const schedulePump = (group: Group) => {
    if (group.pumpScheduled || group.closed) return;
    group.pumpScheduled = true;
    // Never run handler code inside the publisher's (or a settling handler's) own call stack.
    queueMicrotask(() => {
      group.pumpScheduled = false;
      pump(group);
    });
  };

  const enqueue = (group: Group, message: QueuedMessage) => {
    if (group.closed) return;
    group.queue.push(message);
    schedulePump(group);
  };

  /**
   * Always through a timer, even for 0 ms: a handler that fails at once with no backoff must not
   * turn into a loop of microtasks that starves timers and I/O.
   */
  const enqueueLater = (group: Group, message: QueuedMessage, delayMs: number) => {
    if (group.closed) return;
    const timer = setTimeout(() => {
      group.timers.delete(timer);
      enqueue(group, message);
    }, Math.max(0, delayMs));
    group.timers.add(timer);
  };

  const pump = (group: Group) => {
    while (!group.closed && group.queue.length > 0) {
      const consumer = pickConsumer(group);
      if (!consumer) return;
      dispatch(group, consumer, group.queue.shift()!);
    }
  };

  const dispatch = (group: Group, consumer: Consumer, queued: QueuedMessage) => {
    let settled = false;
    const settleOnce = (what: string) => {
      if (settled) throw new Error(`${type} "${component}": message ${queued.id} was already settled; cannot ${what} it`);
      settled = true;
    };
    const message: InboundMessage = {
      ...queued,
      ack: async () => settleOnce("ack"),
      retry: async (delayMs) => {
        settleOnce("retry");
        enqueueLater(group, { ...queued, attempt: queued.attempt + 1 }, delayMs);
      },
    };
    const delivery = (async () => consumer.deliver(message))()
      .catch(() => {
        // `deliver` must not reject; if it does, the message simply counts as unsettled.
      })
      .finally(() => {
        consumer.inFlight.delete(delivery);
        if (!settled) enqueueLater(group, { ...queued, attempt: queued.attempt + 1 }, unsettledRedeliveryMs);
        schedulePump(group);
      });
    consumer.inFlight.add(delivery);
  };

  return {
    type,
    features: ["delayedRetry"] as const,

    async publish(request: PublishRequest) {
      const groups = topics.get(request.topic);
      if (!groups) return;
      const message: QueuedMessage = {
        id: crypto.randomUUID(),
        topic: request.topic,
        // Copied so that a publisher reusing its buffer cannot change a queued message.
        data: request.data.slice(),
        contentType: request.contentType,
        metadata: { ...request.metadata },
        attempt: 1,
      };
      for (const group of groups.values()) enqueue(group, message);
    },

    async subscribe(request: SubscribeRequest): Promise<ActiveSubscription> {
      const concurrency = subscriptionConcurrency(request, type);
      let groups = topics.get(request.topic);
      if (!groups) topics.set(request.topic, (groups = new Map()));
      let group = groups.get(request.subscription);
      if (!group) {
        group = { queue: [], consumers: [], next: 0, timers: new Set(), closed: false, pumpScheduled: false };
        groups.set(request.subscription, group);
      }
      const consumer: Consumer = { deliver: request.deliver, concurrency, inFlight: new Set() };
      group.consumers.push(consumer);
      const owner = group;
      const ownerGroups = groups;

      let closing: Promise<void> | undefined;
      const active = {
        close: () =>
          (closing ??= (async () => {
            consumers.delete(active);
            owner.consumers = owner.consumers.filter((c) => c !== consumer);
            if (owner.consumers.length === 0) {
              // Not durable: with nobody left under this name, its pending messages go too.
              owner.closed = true;
              for (const timer of owner.timers) clearTimeout(timer);
              owner.timers.clear();
              owner.queue.length = 0;
              ownerGroups.delete(request.subscription);
              if (ownerGroups.size === 0 && topics.get(request.topic) === ownerGroups) topics.delete(request.topic);
            }
            await Promise.all(consumer.inFlight);
          })()),
      };
      consumers.add(active);
      schedulePump(group);
      return active;
    },

    async close() {
      await Promise.all([...consumers].map((c) => c.close()));
    },
  };
}

function pickConsumer(group: Group): Consumer | undefined {
  const count = group.consumers.length;
  for (let i = 0; i < count; i++) {
    const consumer = group.consumers[(group.next + i) % count]!;
    if (consumer.inFlight.size < consumer.concurrency) {
      group.next = (group.next + i + 1) % count;
      return consumer;
    }
  }
  return undefined;
}
