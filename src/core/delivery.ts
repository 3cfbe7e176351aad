/**
 * The delivery pipeline, shared by every platform and every pub/sub component:
 *
 *   raw delivery → CloudEvent → routing → handler → outcome SUCCESS | RETRY | DROP
 *                → ack | retry with backoff | dead-letter
 *
 * Components and adapters feed it {@link InboundMessage}s; nothing else re-implements it.
 */
import type { InboundMessage } from "../blocks/pubsub.ts";
import type { BackoffOptions, DeliveryOutcome, SubscriptionHandler } from "../functions.ts";
import { decodeDelivery, type TopicEvent } from "./cloudevent.ts";
import type { Logger } from "./logger.ts";
import type { ResiliencyExecutor } from "./resiliency.ts";
import { routerFor, type Route, type RoutingTable } from "./routing-rules.ts";
import type { Runtime } from "./runtime.ts";

export const Outcomes = { success: "success", retry: "retry", drop: "drop" } as const;

/** No routing rule matched and there is no default handler: acked, or dead-lettered when configured. */
const unmatched = "unmatched";
/** The app stopped while the handler was being retried: the message is left for redelivery. */
const abandoned = "abandoned";
type HandlerOutcome = DeliveryOutcome | typeof unmatched | typeof abandoned;

/** One routing rule of a plan: a function of the event or a CEL expression, and its handler. */
export type DeliveryRoute = Route<SubscriptionHandler<any>>;

/** What the pipeline needs to know about one subscription. */
export interface DeliveryPlan extends RoutingTable<SubscriptionHandler<any>> {
  /** The durable subscription name, for logs. */
  name: string;
  /** True for a Subscription document (Dapr's DECLARATIVE); `subscribe(...)` in code is PROGRAMMATIC. */
  declarative?: boolean;
  pubsub: string;
  topic: string;
  deadLetterTopic?: string;
  maxRetries?: number;
  backoff?: BackoffOptions;
  rawPayload?: boolean;
  /** Checked in order before the default handler; the first that matches gets the event. */
  routes?: readonly DeliveryRoute[];
  /** Most deliveries in flight at once (the component's default when unset). */
  concurrency?: number;
  /**
   * The default handler, for events no rule matches. Without one (a Subscription with only
   * `routes.rules`), such an event is acked — or dead-lettered when there is a deadLetterTopic.
   */
  handler?: SubscriptionHandler<any>;
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
  // The pub/sub's inbound resiliency policies (timeout, in-process retries, circuit breaker) wrap
  // each handler call; the pass-through when none applies.
  const inbound = runtime.resiliency.forComponent(plan.pubsub, "pubsub", "inbound");

  return async (message) => {
    const outcome = await runHandler(runtime, plan, message, log, inbound);
    if (outcome === abandoned) {
      log.info("stopping: message left unsettled, for redelivery", { messageId: message.id });
      return;
    }
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

async function runHandler(
  runtime: Runtime,
  plan: DeliveryPlan,
  message: InboundMessage,
  log: Logger,
  inbound: ResiliencyExecutor,
): Promise<HandlerOutcome> {
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
  const handler = await route(plan, event, log);
  if (typeof handler === "string") return handler;
  if (!inbound.active) return (await callHandler(runtime, handler, event, message, log)).outcome;
  // Under inbound policies a RETRY (a throw, or "retry") is retried in-process first, each attempt
  // with its own context; an open breaker or a timeout ends the delivery as RETRY, and the broker
  // redelivers with the subscription's backoff. A timed-out handler is not stopped (JavaScript
  // cannot be): at-least-once delivery already lets a handler see a message twice.
  try {
    return await inbound.execute(async () => {
      const { outcome, error } = await callHandler(runtime, handler, event, message, log);
      if (outcome === Outcomes.retry) throw error ?? new Error(`handler asked to retry message ${message.id}`);
      return outcome;
    });
  } catch (error) {
    // Stopping: leave the message unsettled, for redelivery, rather than settle it on a closing component.
    if (runtime.resiliency.stopped) return abandoned;
    log.warn("handler did not succeed under the subscription's resiliency policies; message will be retried", { messageId: message.id, attempt: message.attempt, error });
    return Outcomes.retry;
  }
}

/** One call of the handler with a fresh context; a throw is RETRY (the error kept, for policies). */
async function callHandler(
  runtime: Runtime,
  handler: SubscriptionHandler<any>,
  event: TopicEvent,
  message: InboundMessage,
  log: Logger,
): Promise<{ outcome: DeliveryOutcome; error?: unknown }> {
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
    if (result === undefined || result === Outcomes.success) return { outcome: Outcomes.success };
    if (result === Outcomes.retry || result === Outcomes.drop) return { outcome: result };
    log.warn(`handler returned ${JSON.stringify(result)}; expected nothing, "success", "retry" or "drop" — retrying`, {
      messageId: message.id,
    });
    return { outcome: Outcomes.retry };
  } catch (error) {
    ctx.log.warn("handler failed; message will be retried", { attempt: message.attempt, error });
    return { outcome: Outcomes.retry, error };
  }
}

async function settle(
  runtime: Runtime,
  plan: DeliveryPlan,
  message: InboundMessage,
  outcome: Exclude<HandlerOutcome, typeof abandoned>,
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
      metadata: { ...message.metadata, deadLetterFrom: plan.topic, deadLetterReason: deadLetterReasons[outcome] },
    });
    await message.ack();
    log.warn(`message moved to dead-letter topic "${plan.deadLetterTopic}"`, { messageId: message.id, attempt: message.attempt });
    return "dead-lettered";
  }
  await message.ack();
  if (outcome === unmatched) {
    log.info("no routing rule matched and the subscription has no default route; message acked", { messageId: message.id });
    return "dropped";
  }
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

const deadLetterReasons: Record<Exclude<HandlerOutcome, "success" | typeof abandoned>, string> = {
  drop: "dropped",
  retry: "retries-exhausted",
  unmatched: "no-matching-route",
};

/**
 * The handler an event goes to: the first routing rule that matches, else the default handler —
 * or, when there is none, "unmatched". Rules that cannot be compiled (a bundle without the CEL
 * engine) mean "retry": the message waits for a fixed deployment rather than being lost.
 */
async function route(plan: DeliveryPlan, event: TopicEvent, log: Logger): Promise<SubscriptionHandler<any> | HandlerOutcome> {
  if (!plan.routes?.length) return plan.handler ?? unmatched;
  let handler: SubscriptionHandler<any> | undefined;
  try {
    const router = routerFor(plan);
    handler = (router instanceof Promise ? await router : router).select(event, log);
  } catch (error) {
    log.error("routing rules cannot be compiled; message will be retried", { messageId: event.id, error });
    return Outcomes.retry;
  }
  return handler ?? unmatched;
}
