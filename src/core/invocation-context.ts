/**
 * The Context of one invocation. A class rather than an object of closures: a host makes one per
 * request or message, so its methods live on the prototype, and its trace and logger are made
 * only if the invocation asks for them.
 */
import type { BindingClient } from "../blocks/bindings.ts";
import type { LockClient } from "../blocks/lock.ts";
import type { StateClient } from "../blocks/state.ts";
import { ErrorCodes, InvalidRequestError } from "../errors.ts";
import type { HttpContext, InvokeOptions, PublishOptions } from "./context.ts";
import type { Logger } from "./logger.ts";
import type { Runtime } from "./runtime.ts";
import { invokeService, parseInvocationRoute } from "./service-invocation.ts";
import { continueTrace, type TraceContext } from "./trace.ts";

export interface ContextOptions {
  /** The trigger's trace; when absent, one is continued from `traceparent` on first use. */
  trace?: TraceContext;
  /** The caller's `traceparent` / `tracestate`, continued only if the invocation needs a trace. */
  traceparent?: string | null;
  tracestate?: string | null;
  /** The invocation's logger, or how to make it (from the trace) on first use. */
  log?: Logger | ((trace: TraceContext) => Logger);
  /** The platform's waitUntil (Workers; the Node host's task tracker). */
  waitUntil?: (promise: Promise<unknown>) => void;
  /** Route parameters of an HTTP invocation. */
  params?: Readonly<Record<string, string>>;
}

export class InvocationContext implements HttpContext {
  readonly #runtime: Runtime;
  readonly #options: ContextOptions;
  #trace: TraceContext | undefined;
  #log: Logger | undefined;
  readonly params: Readonly<Record<string, string>>;

  constructor(runtime: Runtime, options: ContextOptions) {
    this.#runtime = runtime;
    this.#options = options;
    this.#trace = options.trace;
    this.#log = typeof options.log === "function" ? undefined : options.log;
    this.params = options.params ?? noParams;
  }

  get appId(): string {
    return this.#runtime.appId;
  }

  get trace(): TraceContext {
    return (this.#trace ??= continueTrace(this.#options.traceparent, this.#options.tracestate));
  }

  get log(): Logger {
    const make = this.#options.log;
    return (this.#log ??= typeof make === "function" ? make(this.trace) : this.#runtime.logger.child({ traceId: this.trace.traceId }));
  }

  state(name: string): StateClient {
    return this.#runtime.lazyStateClient(name);
  }

  publish(pubsub: string, topic: string, data: unknown, options?: PublishOptions): Promise<void> {
    return this.#runtime.publish(pubsub, topic, data, options, this.trace);
  }

  binding(name: string): BindingClient {
    const runtime = this.#runtime;
    return {
      async invoke(operation, data, metadata) {
        const binding = await runtime.outputBinding(name);
        if (!binding.operations.includes(operation)) {
          throw new InvalidRequestError(
            `binding "${name}" (${binding.type}) has no operation "${operation}"; it supports ${binding.operations.join(", ")}`,
            { code: ErrorCodes.bindingOperation, component: name },
          );
        }
        return binding.invoke({ operation, data, metadata });
      },
    };
  }

  secret(store: string, key: string): Promise<Record<string, string>> {
    return this.#runtime.secret(store, key);
  }

  /** A lock store by component name (Dapr's lock API); its component is created on first use. */
  lock(store: string): LockClient {
    const runtime = this.#runtime;
    return {
      tryLock: async (request) => (await runtime.lock(store)).tryLock(request),
      unlock: async (request) => (await runtime.lock(store)).unlock(request),
    };
  }

  async invoke(appId: string, route: string, body?: unknown, options: InvokeOptions = {}): Promise<Response> {
    const { method, path, query } = parseInvocationRoute(route);
    const params = new URLSearchParams(query);
    for (const [name, value] of new URLSearchParams(options.query ?? {})) params.append(name, value);
    const headers = new Headers(options.headers);
    const encoded = encodeInvocationBody(body);
    if (encoded.contentType && !headers.has("content-type")) headers.set("content-type", encoded.contentType);
    return invokeService(this.#runtime, {
      appId,
      method,
      path,
      // The route's own query goes as written; parameters from options are encoded onto it.
      query: options.query ? params.toString() : query,
      headers,
      body: encoded.body,
      trace: this.trace,
      waitUntil: (promise) => this.waitUntil(promise),
      signal: options.signal,
    });
  }

  waitUntil(promise: Promise<unknown>): void {
    if (this.#options.waitUntil) this.#options.waitUntil(promise);
    else promise.catch((error) => this.log.error("waitUntil task failed", { error }));
  }
}

const noParams: Readonly<Record<string, string>> = Object.freeze({});

/** `ctx.invoke`'s body as fetch sends it, with the content type a JSON or bytes body implies. */
function encodeInvocationBody(body: unknown): { body: RequestInit["body"]; contentType?: string } {
  if (body === undefined || body === null) return { body: null };
  if (typeof body === "string") return { body };
  if (body instanceof ArrayBuffer || ArrayBuffer.isView(body)) return { body: body as RequestInit["body"], contentType: "application/octet-stream" };
  // fetch knows these and sets their content types itself (a Blob's type, a form's boundary).
  if (body instanceof Blob || body instanceof FormData || body instanceof URLSearchParams || body instanceof ReadableStream) {
    return { body };
  }
  let json: string | undefined;
  try {
    json = JSON.stringify(body);
  } catch (cause) {
    throw new InvalidRequestError(`invoke: the body cannot be sent as JSON (${(cause as Error).message})`, { cause });
  }
  if (json === undefined) throw new InvalidRequestError(`invoke: a ${typeof body} cannot be sent as a body; pass a string, bytes or a JSON value`);
  return { body: json, contentType: "application/json" };
}
