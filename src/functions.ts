/**
 * The function API: `http`, `subscribe`, `cron` and `binding` build definitions that the host
 * discovers from the exports of `functions/*.ts`. A definition is plain data plus a handler; it
 * does nothing until a host dispatches to it.
 */
import type { Context, HttpContext } from "./core/context.ts";
import type { TopicEvent } from "./core/cloudevent.ts";
import type { InputBindingEvent } from "./blocks/bindings.ts";
import { FunctionDefinitionError } from "./errors.ts";

/** What a subscription handler may return. Returning nothing means success; throwing means retry. */
export type DeliveryOutcome = "success" | "retry" | "drop";

export const httpMethods = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS", "ALL"] as const;
export type HttpMethod = (typeof httpMethods)[number];

const definitionMark = Symbol.for("mecha.function");

export interface HttpFunction {
  readonly [definitionMark]: "http";
  readonly kind: "http";
  readonly method: HttpMethod;
  readonly path: string;
  readonly handler: (request: Request, ctx: HttpContext) => Response | Promise<Response>;
}

export interface RoutingRule<T> {
  /**
   * Deliver here when this is true for the event: a function of the event, or a CEL expression
   * over `event` as in Dapr's `routes.rules[].match` (`event.type == "refund"`,
   * `event.data.amount > 100.0`), compiled at startup. First match wins; a rule that throws or
   * fails to evaluate counts as no match.
   */
  match: ((event: TopicEvent<T>) => boolean) | string;
  handler: SubscriptionHandler<T>;
}

export type SubscriptionHandler<T = unknown> = (
  event: TopicEvent<T>,
  ctx: Context,
) => void | DeliveryOutcome | Promise<void | DeliveryOutcome>;

export interface BackoffOptions {
  /** Delay before the first redelivery. Default 1000 ms. */
  initialMs?: number;
  /** Longest delay between redeliveries. Default 60 s. */
  maxMs?: number;
}

export interface SubscribeOptions<T = unknown> {
  pubsub: string;
  topic: string;
  /** Where messages go once retries are exhausted or a handler returns "drop". */
  deadLetterTopic?: string;
  /**
   * Redeliveries after the first attempt before giving up. Default: 5 when a dead-letter topic
   * is set; unlimited when none is (a message is never silently thrown away by default).
   */
  maxRetries?: number;
  backoff?: BackoffOptions;
  /** Routing rules checked in order before the default handler. */
  routes?: ReadonlyArray<RoutingRule<T>>;
  /** Most deliveries in flight at once. Default 16. */
  concurrency?: number;
  /** Deliver the payload as published, without a CloudEvent envelope. */
  rawPayload?: boolean;
  /** The durable subscription name. Default: `<appId>.<file>.<export>`. */
  name?: string;
}

export interface SubscribeFunction<T = unknown> extends Readonly<SubscribeOptions<T>> {
  readonly [definitionMark]: "subscribe";
  readonly kind: "subscribe";
  readonly handler: SubscriptionHandler<T>;
}

export interface CronFunction {
  readonly [definitionMark]: "cron";
  readonly kind: "cron";
  /** A cron expression (5 or 6 fields) or `@every 10s`-style interval, as Dapr's cron binding takes. */
  readonly schedule: string;
  readonly handler: (ctx: Context) => void | Promise<void>;
}

export interface BindingFunction {
  readonly [definitionMark]: "binding";
  readonly kind: "binding";
  /** The input binding component's name. */
  readonly binding: string;
  readonly handler: (event: InputBindingEvent, ctx: Context) => void | Promise<void>;
}

export type FunctionDefinition = HttpFunction | SubscribeFunction<any> | CronFunction | BindingFunction;

/**
 * An HTTP function. The route is `"METHOD /path"` with Hono's path syntax (`/orders/:id`).
 *
 * @example
 * export const getOrder = http("GET /orders/:id", async (req, ctx) => {
 *   const order = await ctx.state("orders").get(ctx.params.id);
 *   return order ? Response.json(order.value) : new Response(null, { status: 404 });
 * });
 */
export function http(route: string, handler: HttpFunction["handler"]): HttpFunction {
  const match = /^([A-Z]+)\s+(\/\S*)$/.exec(route.trim());
  if (!match || !(httpMethods as readonly string[]).includes(match[1]!)) {
    throw new FunctionDefinitionError(
      `http route must be "METHOD /path" with METHOD one of ${httpMethods.join(", ")}; got "${route}"`,
    );
  }
  assertHandler(handler, `http("${route}")`);
  return { [definitionMark]: "http", kind: "http", method: match[1] as HttpMethod, path: match[2]!, handler };
}

/**
 * A pub/sub subscription. Return nothing for success, throw (or return "retry") to have the
 * message redelivered with backoff, return "drop" to send it straight to the dead-letter topic.
 *
 * @example
 * export const fulfil = subscribe({ pubsub: "orderbus", topic: "orders.placed" }, async (event, ctx) => {
 *   await ctx.binding("receipts").invoke("create", event.data);
 * });
 */
export function subscribe<T = unknown>(options: SubscribeOptions<T>, handler: SubscriptionHandler<T>): SubscribeFunction<T> {
  const where = `subscribe(${JSON.stringify({ pubsub: options?.pubsub, topic: options?.topic })})`;
  for (const field of ["pubsub", "topic"] as const) {
    if (typeof options?.[field] !== "string" || !options[field]) {
      throw new FunctionDefinitionError(`${where}: "${field}" must be a non-empty string`);
    }
  }
  if (options.maxRetries !== undefined && !(Number.isInteger(options.maxRetries) && options.maxRetries >= 0)) {
    throw new FunctionDefinitionError(`${where}: "maxRetries" must be a whole number >= 0`);
  }
  assertHandler(handler, where);
  return { ...options, [definitionMark]: "subscribe", kind: "subscribe", handler };
}

/**
 * A scheduled function.
 *
 * @example
 * export const sweep = cron("*\/5 * * * *", async (ctx) => ctx.log.info("sweeping"));
 */
export function cron(schedule: string, handler: CronFunction["handler"]): CronFunction {
  if (typeof schedule !== "string" || !schedule.trim()) {
    throw new FunctionDefinitionError(`cron schedule must be a non-empty string`);
  }
  assertHandler(handler, `cron("${schedule}")`);
  return { [definitionMark]: "cron", kind: "cron", schedule: schedule.trim(), handler };
}

/**
 * A function triggered by an input binding (a `bindings.cron` component, object events, …).
 *
 * @example
 * export const onTick = binding("every-minute", async (event, ctx) => { ... });
 */
export function binding(name: string, handler: BindingFunction["handler"]): BindingFunction {
  if (typeof name !== "string" || !name) throw new FunctionDefinitionError(`binding name must be a non-empty string`);
  assertHandler(handler, `binding("${name}")`);
  return { [definitionMark]: "binding", kind: "binding", binding: name, handler };
}

/** True for the values `http`, `subscribe`, `cron` and `binding` return. */
export function isFunctionDefinition(value: unknown): value is FunctionDefinition {
  return typeof value === "object" && value !== null && definitionMark in value;
}

function assertHandler(handler: unknown, where: string): void {
  if (typeof handler !== "function") throw new FunctionDefinitionError(`${where}: the handler must be a function`);
}
