/**
 * mecha: write a function once against portable building blocks — state, pub/sub, bindings,
 * secrets — and run it on Node, AWS Lambda and Cloudflare Workers.
 *
 * @example
 * import { http } from "mecha";
 * export const hello = http("GET /hello", async (req, ctx) => {
 *   const { etag } = await ctx.state("kv").set("greeting", { text: "hi" });
 *   return Response.json({ etag });
 * });
 */
export { http, subscribe, cron, binding, isFunctionDefinition } from "./functions.ts";
export type {
  HttpFunction,
  SubscribeFunction,
  SubscribeOptions,
  SubscriptionHandler,
  RoutingRule,
  BackoffOptions,
  CronFunction,
  BindingFunction,
  FunctionDefinition,
  DeliveryOutcome,
  HttpMethod,
} from "./functions.ts";
export type { Context, HttpContext, InvokeOptions, PublishOptions } from "./core/context.ts";
export type { TopicEvent } from "./core/cloudevent.ts";
export type { TraceContext } from "./core/trace.ts";
export type { Logger, LogFields } from "./core/logger.ts";
export type {
  StateClient,
  StateEntry,
  StateSetOptions,
  StateDeleteOptions,
  BulkGetEntry,
  BulkSetItem,
  BulkDeleteItem,
  TransactionOperation,
  Concurrency,
} from "./blocks/state.ts";
export type { BindingClient, BindingResponse, InputBindingEvent } from "./blocks/bindings.ts";
export type { LockClient, TryLockRequest, TryLockResponse, UnlockRequest, UnlockResponse, UnlockStatus } from "./blocks/lock.ts";
export {
  MechaError,
  ErrorCodes,
  EtagMismatchError,
  BulkStateError,
  NotSupportedError,
  InvalidRequestError,
  ComponentConfigError,
  ComponentNotFoundError,
  FunctionDefinitionError,
  NotFoundError,
  ForbiddenError,
  CircuitOpenError,
  ResiliencyTimeoutError,
  type ErrorCode,
} from "./errors.ts";
