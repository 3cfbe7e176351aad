/**
 * The bindings building block. An output binding is invoked with an operation; an input
 * binding triggers `binding(name, handler)` functions, like a subscription does.
 */
import { ErrorCodes, InvalidRequestError } from "../errors.ts";

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

/** How object-store bindings write `data`: bytes as they are, a string as text, anything else as JSON. */
export function encodeBindingData(data: unknown): Uint8Array | string {
  if (data instanceof Uint8Array) return data;
  if (data instanceof ArrayBuffer) return new Uint8Array(data);
  if (typeof data === "string") return data;
  if (data === undefined) return "";
  return JSON.stringify(data);
}

/** The `list` operation's data for object-store bindings: `{ prefix?, maxResults? }`. */
export function parseListOptions(data: unknown, malformed: (message: string) => Error): { prefix?: string; maxResults?: number } {
  if (data === undefined || data === null) return {};
  if (typeof data !== "object" || Array.isArray(data) || data instanceof Uint8Array) {
    throw malformed(`"list" takes { prefix?, maxResults? } as data`);
  }
  const { prefix, maxResults } = data as Record<string, unknown>;
  if (prefix !== undefined && typeof prefix !== "string") throw malformed(`list: prefix must be a string`);
  if (maxResults !== undefined && (typeof maxResults !== "number" || !Number.isInteger(maxResults) || maxResults < 0)) {
    throw malformed(`list: maxResults must be a whole number >= 0`);
  }
  return { ...(prefix ? { prefix } : {}), ...(maxResults !== undefined ? { maxResults } : {}) };
}

export type OperationHandlers = Readonly<Record<string, (request: BindingRequest) => Promise<BindingResponse>>>;

/**
 * An output binding made of one handler per operation. Its `operations` are the handlers' names,
 * in order; any other operation fails with ERR_BINDING_OPERATION naming it — also when the
 * binding is called directly rather than through `ctx.binding(name)`.
 */
export function outputBinding(spec: {
  type: string;
  name: string;
  handlers: OperationHandlers;
  close?: () => Promise<void>;
}): OutputBindingComponent {
  const operations = Object.keys(spec.handlers);
  return {
    type: spec.type,
    operations,
    async invoke(request) {
      const handler = Object.hasOwn(spec.handlers, request.operation) ? spec.handlers[request.operation] : undefined;
      if (!handler) {
        throw new InvalidRequestError(`binding "${spec.name}" (${spec.type}) has no operation "${request.operation}"`, {
          code: ErrorCodes.bindingOperation,
          component: spec.name,
        });
      }
      return handler(request);
    },
    close: spec.close ?? (async () => {}),
  };
}
