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
  readonly log: Logger;
  readonly trace: TraceContext;
  /** Keep the invocation alive until this settles (Workers' `waitUntil`; awaited elsewhere). */
  waitUntil(promise: Promise<unknown>): void;
}

export interface HttpContext extends Context {
  /** Route parameters, e.g. `{ id: "42" }` for `/orders/:id`. */
  readonly params: Readonly<Record<string, string>>;
}
