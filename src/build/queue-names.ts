/**
 * Names of the platform queues behind subscriptions. A queue per subscription is how push
 * platforms keep each subscription's acks, retries and dead letters its own (DESIGN §4), so a
 * queue's name is derived from the subscription's durable name — stable across builds, so a
 * redeploy keeps the same queues and the messages waiting in them.
 */
import { createHash } from "node:crypto";

/** Cloudflare: 1-63 characters, lowercase letters, digits and dashes. */
const maxQueueNameLength = 63;
const deadLetterSuffix = "-dlq";
/**
 * A subscription queue leaves room for its dead-letter queue's suffix, so `<queue>-dlq` is a
 * valid name too.
 */
const maxSubscriptionQueueLength = maxQueueNameLength - deadLetterSuffix.length;
const hashLength = 8;

/** The queues of one subscription. */
export interface SubscriptionQueueNames {
  /** The subscription's durable name, e.g. `mecha-app.orders.fulfil`. */
  subscription: string;
  /** e.g. `mecha-app-orders-fulfil`. */
  queue: string;
  /** e.g. `mecha-app-orders-fulfil-dlq`. */
  deadLetterQueue: string;
  /** The Worker's producer binding for the queue, e.g. `Q_MECHA_APP_ORDERS_FULFIL`. */
  producerBinding: string;
}

/**
 * Derives one queue per subscription durable name: lowercased, every character outside
 * `[a-z0-9-]` turned into `-`, runs of `-` collapsed, trimmed to fit. A name that had to be
 * shortened — or that would collide with another subscription's — ends in a short hash of the
 * durable name, so names stay unique and stay the same from build to build.
 * @example
 * queueNamesFor(["mecha-app.orders.fulfil"])[0].queue // "mecha-app-orders-fulfil"
 */
export function queueNamesFor(subscriptions: readonly string[]): SubscriptionQueueNames[] {
  const plain = subscriptions.map(sanitize);
  const counts = new Map<string, number>();
  for (const name of plain) counts.set(name, (counts.get(name) ?? 0) + 1);
  return subscriptions.map((subscription, i) => {
    const base = plain[i]!;
    const unique = base.length > 0 && base.length <= maxSubscriptionQueueLength && counts.get(base) === 1;
    const queue = unique ? base : withHash(base, subscription);
    return {
      subscription,
      queue,
      deadLetterQueue: `${queue}${deadLetterSuffix}`,
      producerBinding: `Q_${queue.toUpperCase().replaceAll("-", "_")}`,
    };
  });
}

/** Whether a name is a valid Cloudflare Queue name. */
export function isValidQueueName(name: string): boolean {
  return name.length >= 1 && name.length <= maxQueueNameLength && /^[a-z0-9]([a-z0-9-]*[a-z0-9])?$/.test(name);
}

function sanitize(name: string): string {
  return name
    .toLowerCase()
    .replace(/[^a-z0-9-]/g, "-")
    .replace(/-+/g, "-")
    .replace(/^-|-$/g, "");
}

function withHash(base: string, subscription: string): string {
  const hash = createHash("sha256").update(subscription).digest("hex").slice(0, hashLength);
  const head = base.slice(0, maxSubscriptionQueueLength - hashLength - 1).replace(/-$/, "");
  return head ? `${head}-${hash}` : `q-${hash}`;
}
