/**
 * The per-invocation Context a handler receives. One is made for every invocation — never a
 * module global — because Lambda and Workers run many invocations in one process.
 */
import type { BindingClient } from "../blocks/bindings.ts";
import type { LockClient } from "../blocks/lock.ts";
import type { StateClient } from "../blocks/state.ts";
import type { Logger } from "./logger.ts";
import type { TraceContext } from "./trace.ts";

export interface PublishOptions {
  /** The data's content type; default JSON for objects, text/plain for strings, octet-stream for bytes. */
  contentType?: string;
  /** Passed to the broker (Dapr's publish metadata). `rawPayload: "true"` skips the envelope. */
  metadata?: Record<string, string>;
  /** Publish the data as is, without a CloudEvent envelope. */
  rawPayload?: boolean;
}

export interface InvokeOptions {
  /** Headers for the callee. A `content-type` here wins over the one the body implies. */
  headers?: RequestInit["headers"];
  /** Query parameters, added to any query written in the route. */
  query?: URLSearchParams | Readonly<Record<string, string>>;
  /** Abandons the call, e.g. `AbortSignal.timeout(5_000)`; the call then rejects with the signal's reason, as fetch does. */
  signal?: AbortSignal;
}

export interface Context {
  readonly appId: string;
  /** A state store by component name. */
  state(name: string): StateClient;
  /** Publish to a topic as a CloudEvent (or raw with `rawPayload`). */
  publish(pubsub: string, topic: string, data: unknown, options?: PublishOptions): Promise<void>;
  /** An output binding by component name. */
  binding(name: string): BindingClient;
  /** A secret's values from a secret store. Throws when the secret does not exist. */
  secret(store: string, key: string): Promise<Record<string, string>>;
  /** A lock store by component name (Dapr's distributed lock API: tryLock / unlock with an owner). */
  lock(store: string): LockClient;
  /**
   * Calls a method of an app (Dapr's service invocation) and returns its Response as it
   * answered — a 404 or 500 from the callee is a Response, not an error. This app's own id runs
   * its HTTP function in-process; another id is found by a name-resolution component. The
   * callee continues this invocation's trace.
   *
   * `body`: a string (text/plain), bytes (application/octet-stream), a Blob, FormData,
   * URLSearchParams or ReadableStream as fetch sends them, or any other value as JSON
   * (application/json); `undefined` and `null` send no body.
   *
   * @throws InvalidRequestError (ERR_MALFORMED_REQUEST) for a malformed route or body;
   *   MechaError ERR_DIRECT_INVOKE when the app cannot be found or does not answer.
   * @example
   * const res = await ctx.invoke("billing", "POST /invoices", { orderId: order.id });
   * if (!res.ok) throw new Error(`billing answered ${res.status}`);
   * const invoice = await res.json();
   */
  invoke(appId: string, route: string, body?: unknown, options?: InvokeOptions): Promise<Response>;
  readonly log: Logger;
  readonly trace: TraceContext;
  /** Keep the invocation alive until this settles (Workers' `waitUntil`; awaited elsewhere). */
  waitUntil(promise: Promise<unknown>): void;
}

export interface HttpContext extends Context {
  /** Route parameters, e.g. `{ id: "42" }` for `/orders/:id`. */
  readonly params: Readonly<Record<string, string>>;
}
