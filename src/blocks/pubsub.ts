/**
 * The pub/sub building block: what a pub/sub component implements. A component only moves bytes
 * and keeps per-subscription delivery state; envelopes, routing, retries with backoff and
 * dead-lettering live once, in the core's delivery pipeline (src/core/delivery.ts).
 */

export const PubSubFeatures = [
  /** Messages survive a restart of the host (and of the broker, where it persists). */
  "durable",
  /** Delivery can be delayed: `retry(delayMs)` is honoured rather than immediate. */
  "delayedRetry",
] as const;
export type PubSubFeature = (typeof PubSubFeatures)[number];

export interface PublishRequest {
  topic: string;
  /** The wire bytes: a serialised CloudEvent, or the raw payload when `rawPayload` is set. */
  data: Uint8Array;
  contentType: string;
  metadata?: Record<string, string>;
}

/**
 * One delivery of one message to one subscription. The pipeline settles it exactly once, with
 * `ack()` or `retry(delayMs)`; a delivery that is never settled (a crash) is delivered again.
 */
export interface InboundMessage {
  /** The broker's id for this message (stable across redeliveries). */
  readonly id: string;
  readonly topic: string;
  readonly data: Uint8Array;
  readonly contentType: string | undefined;
  readonly metadata: Readonly<Record<string, string>>;
  /** 1 on the first delivery, 2 on the first redelivery, and so on. */
  readonly attempt: number;
  ack(): Promise<void>;
  /** Deliver again after `delayMs` (as near as the broker allows). */
  retry(delayMs: number): Promise<void>;
}

export interface SubscribeRequest {
  topic: string;
  /**
   * The subscription's durable name (a consumer group / durable consumer / queue). Each
   * subscription keeps its own delivery state: one failing never redelivers to another.
   */
  subscription: string;
  /** Called once per delivery; resolves when the message has been settled. Never rejects. */
  deliver(message: InboundMessage): Promise<void>;
  /** Most deliveries in flight at once for this subscription. */
  concurrency?: number;
}

/** Deliveries in flight at once for a subscription that does not say. */
export const defaultSubscriptionConcurrency = 16;

/** A subscription's concurrency, checked: a whole number >= 1 (the default when unset). */
export function subscriptionConcurrency(request: SubscribeRequest, componentType: string): number {
  const concurrency = request.concurrency ?? defaultSubscriptionConcurrency;
  if (!Number.isInteger(concurrency) || concurrency < 1) {
    throw new RangeError(`${componentType}: concurrency must be a whole number >= 1, got ${concurrency}`);
  }
  return concurrency;
}

export interface ActiveSubscription {
  /** Stop taking new messages and wait for in-flight deliveries to finish. Unsettled ones stay unacked. */
  close(): Promise<void>;
}

export interface PubSubComponent {
  /** The Dapr `spec.type`, e.g. `pubsub.redis`. */
  readonly type: string;
  readonly features: readonly PubSubFeature[];
  publish(request: PublishRequest): Promise<void>;
  subscribe(request: SubscribeRequest): Promise<ActiveSubscription>;
  close(): Promise<void>;
}

/**
 * A published message as carried by a push queue (Cloudflare Queues; SQS): what a queue-backed
 * component sends and what the platform adapter turns back into an {@link InboundMessage}.
 */
export interface QueuedMessageBody {
  mecha: 1;
  topic: string;
  data: Uint8Array;
  contentType: string;
  metadata?: Record<string, string>;
}

export function isQueuedMessageBody(body: unknown): body is QueuedMessageBody {
  if (typeof body !== "object" || body === null) return false;
  const b = body as Partial<QueuedMessageBody>;
  return b.mecha === 1 && typeof b.topic === "string" && b.data instanceof Uint8Array && typeof b.contentType === "string";
}
