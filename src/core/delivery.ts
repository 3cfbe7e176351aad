/**
 * The delivery pipeline, shared by every platform and every pub/sub component:
 *
 *   raw delivery → CloudEvent → routing → handler → outcome SUCCESS | RETRY | DROP
 *                → ack | retry with backoff | dead-letter
 *
 * Components and adapters feed it {@link InboundMessage}s; nothing else re-implements it.
 */
import type { InboundMessage } from "../blocks/pubsub.ts";
import type { BackoffOptions, DeliveryOutcome, SubscribeFunction, SubscriptionHandler } from "../functions.ts";
import { decodeDelivery, type TopicEvent } from "./cloudevent.ts";
import type { Logger } from "./logger.ts";
import type { Runtime } from "./runtime.ts";

export const Outcomes = { success: "success", retry: "retry", drop: "drop" } as const;

/** What the pipeline needs to know about one subscription. */
export interface DeliveryPlan {
  /** The durable subscription name, for logs. */
  name: string;
  pubsub: string;
  topic: string;
  deadLetterTopic?: string;
  maxRetries?: number;
  backoff?: BackoffOptions;
  rawPayload?: boolean;
  routes?: SubscribeFunction["routes"];
  /** Most deliveries in flight at once (the component's default when unset). */
  concurrency?: number;
  handler: SubscriptionHandler<any>;
}

/** How a settled delivery ended, for tests and metrics. */
export type Settlement = "acked" | "retried" | "dead-lettered" | "dropped";

const defaultBackoff = { initialMs: 1000, maxMs: 60_000 } as const;
const defaultMaxRetriesWithDeadLetter = 5;

/**
 * How many times a plan's message is retried before it is dead-lettered (or, without a
 * dead-letter topic, retried forever: `Infinity`). Builds derive platform redelivery limits from it.
 */
export function retryLimit(plan: Pick<DeliveryPlan, "maxRetries" | "deadLetterTopic">): number {
  return plan.maxRetries ?? (plan.deadLetterTopic ? defaultMaxRetriesWithDeadLetter : Infinity);
}

/**
 * Builds the `deliver` function a pub/sub component calls for each message of one subscription.
 * It never rejects: every outcome settles the message.
 */
export function createDeliverer(
  runtime: Runtime,
  plan: DeliveryPlan,
  onSettled?: (message: InboundMessage, settlement: Settlement) => void,
): (message: InboundMessage) => Promise<void> {
  const log = runtime.logger.child({ subscription: plan.name, topic: plan.topic });
  const maxRetries = retryLimit(plan);

  return async (message) => {
    const outcome = await runHandler(runtime, plan, message, log);
    let settlement: Settlement;
    try {
      settlement = await settle(runtime, plan, message, outcome, maxRetries, log);
    } catch (error) {
      // Settling failed (the broker is unreachable, the dead-letter publish failed): leave the
      // message unacked so the broker delivers it again. Never lose it.
      log.error("could not settle message; it stays unacked and will be redelivered", { messageId: message.id, error });
      return;
    }
    onSettled?.(message, settlement);
  };
}

async function runHandler(runtime: Runtime, plan: DeliveryPlan, message: InboundMessage, log: Logger): Promise<DeliveryOutcome> {
  let event: TopicEvent;
  try {
    event = decodeDelivery({
      data: message.data,
      contentType: message.contentType,
      topic: message.topic,
      pubsub: plan.pubsub,
      messageId: message.id,
      rawPayload: plan.rawPayload,
    });
  } catch (error) {
    log.warn("message cannot be decoded; dropping it", { messageId: message.id, error });
    return Outcomes.drop;
  }
  const handler = plan.routes?.find((rule) => safeMatch(rule.match, event, log))?.handler ?? plan.handler;
  // Work a handler hands to waitUntil is part of handling the message: it finishes before the
  // message is acked, so a crash in between means a redelivery, not lost work.
  const tasks: Promise<unknown>[] = [];
  const ctx = runtime.createContext({
    traceparent: event.traceparent as string | undefined,
    tracestate: event.tracestate as string | undefined,
    log: (trace) => log.child({ messageId: message.id, traceId: trace.traceId }),
    waitUntil: (promise) => void tasks.push(promise),
  });
  try {
    const result = await handler(event, ctx);
    const failed = tasks.length === 0 ? undefined : (await Promise.allSettled(tasks)).find((t): t is PromiseRejectedResult => t.status === "rejected");
    if (failed) throw failed.reason;
    if (result === undefined || result === Outcomes.success) return Outcomes.success;
    if (result === Outcomes.retry || result === Outcomes.drop) return result;
    log.warn(`handler returned ${JSON.stringify(result)}; expected nothing, "success", "retry" or "drop" — retrying`, {
      messageId: message.id,
    });
    return Outcomes.retry;
  } catch (error) {
    ctx.log.warn("handler failed; message will be retried", { attempt: message.attempt, error });
    return Outcomes.retry;
  }
}

async function settle(
  runtime: Runtime,
  plan: DeliveryPlan,
  message: InboundMessage,
  outcome: DeliveryOutcome,
  maxRetries: number,
  log: Logger,
): Promise<Settlement> {
  if (outcome === Outcomes.success) {
    await message.ack();
    return "acked";
  }
  if (outcome === Outcomes.retry && message.attempt <= maxRetries) {
    await message.retry(backoffDelay(message.attempt, plan.backoff));
    return "retried";
  }
  if (plan.deadLetterTopic) {
    const pubsub = await runtime.pubsub(plan.pubsub);
    await pubsub.publish({
      topic: plan.deadLetterTopic,
      data: message.data,
      contentType: message.contentType ?? "application/octet-stream",
      metadata: { ...message.metadata, deadLetterFrom: plan.topic, deadLetterReason: outcome === "drop" ? "dropped" : "retries-exhausted" },
    });
    await message.ack();
    log.warn(`message moved to dead-letter topic "${plan.deadLetterTopic}"`, { messageId: message.id, attempt: message.attempt });
    return "dead-lettered";
  }
  await message.ack();
  log.error(outcome === Outcomes.drop ? "message dropped by handler" : "retries exhausted; message dropped (no deadLetterTopic)", {
    messageId: message.id,
    attempt: message.attempt,
  });
  return "dropped";
}

/** Exponential backoff with ±20 % jitter: initial · 2^(attempt-1), capped at max. */
export function backoffDelay(attempt: number, options: BackoffOptions = {}): number {
  const initial = options.initialMs ?? defaultBackoff.initialMs;
  const max = options.maxMs ?? defaultBackoff.maxMs;
  const base = Math.min(max, initial * 2 ** Math.max(0, attempt - 1));
  const jitter = base * 0.2 * (Math.random() * 2 - 1);
  return Math.max(0, Math.round(Math.min(max, base + jitter)));
}

function safeMatch(match: (event: TopicEvent<any>) => boolean, event: TopicEvent, log: Logger): boolean {
  try {
    return match(event) === true;
  } catch (error) {
    log.warn("routing rule threw; treating it as no match", { error });
    return false;
  }
}
