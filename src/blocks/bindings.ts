/**
 * The bindings building block. An output binding is invoked with an operation; an input
 * binding triggers `binding(name, handler)` functions, like a subscription does.
 */

export interface BindingRequest {
  operation: string;
  /** Bytes, a string, or anything JSON-serialisable. */
  data?: unknown;
  metadata?: Record<string, string>;
}

export interface BindingResponse {
  data: unknown;
  metadata: Record<string, string>;
}

/** An output binding component: `ctx.binding(name).invoke(...)`. */
export interface OutputBindingComponent {
  /** The Dapr `spec.type`, e.g. `bindings.http`. */
  readonly type: string;
  /** The operations this binding accepts, e.g. `create`, `get`, `list`, `delete`. */
  readonly operations: readonly string[];
  invoke(request: BindingRequest): Promise<BindingResponse>;
  close(): Promise<void>;
}

/** One event from an input binding (a cron tick, an object event, …). */
export interface InputBindingEvent {
  data: unknown;
  metadata: Record<string, string>;
}

/** An input binding component: triggers functions until stopped. */
export interface InputBindingComponent {
  readonly type: string;
  /** Start delivering events; `handle` resolves when the event has been processed. */
  start(handle: (event: InputBindingEvent) => Promise<void>): Promise<{ stop(): Promise<void> }>;
  close(): Promise<void>;
}

/** `ctx.binding(name)`. */
export interface BindingClient {
  invoke(operation: string, data?: unknown, metadata?: Record<string, string>): Promise<BindingResponse>;
}
