/**
 * Service invocation, shared by `ctx.invoke(...)` and the Dapr API's `/v1.0/invoke/{appId}/method/…`:
 * a call to this app's own id goes in-process to its HTTP functions; any other id is resolved by
 * the name-resolution components and sent over HTTP (or a Workers service binding). The callee's
 * answer — status, headers, body — comes back as is, as Dapr returns it; only a call that gets no
 * answer fails, with ERR_DIRECT_INVOKE.
 */
import type { AppEndpoint } from "../blocks/nameresolution.ts";
import { ErrorCodes, FunctionDefinitionError, InvalidRequestError, MechaError, NotFoundError } from "../errors.ts";
import { http, type HttpMethod } from "../functions.ts";
import type { Runtime } from "./runtime.ts";
import { continueTrace, type TraceContext } from "./trace.ts";

/** How an in-process call reaches the app's HTTP functions: the Hono app's fetch, with the caller's waitUntil. */
export type LocalFetch = (request: Request, waitUntil?: (promise: Promise<unknown>) => void) => Promise<Response>;

export interface ServiceInvocationRequest {
  /** The callee's app id. */
  appId: string;
  /** An HTTP method in upper case, e.g. `POST`. */
  method: string;
  /** The callee's path, e.g. `/orders/42` (a missing leading slash is added). No query: see `query`. */
  path: string;
  /** The query: a raw query string (sent as is), or parameters to encode. */
  query?: string | URLSearchParams | Readonly<Record<string, string>>;
  /** Headers for the callee. Hop-by-hop headers, `dapr-app-id` and `dapr-api-token` are not passed on. */
  headers?: RequestInit["headers"];
  body?: RequestInit["body"];
  /** The caller's trace: the callee gets a `traceparent` with its trace id and a new span id. */
  trace: TraceContext;
  /** Where an in-process callee's `ctx.waitUntil` work goes (the caller's own waitUntil). */
  waitUntil?: (promise: Promise<unknown>) => void;
  signal?: AbortSignal;
}

/**
 * Calls a method of an app and returns the callee's Response.
 *
 * @throws InvalidRequestError for a malformed request; MechaError ERR_DIRECT_INVOKE when no
 *   name-resolution component knows the app id or the app cannot be reached.
 */
export async function invokeService(runtime: Runtime, request: ServiceInvocationRequest): Promise<Response> {
  const { appId } = request;
  if (typeof appId !== "string" || !appId) throw new InvalidRequestError("service invocation needs a non-empty app id");
  // The callee gets the id in a header, and no resolver knows a name that a header cannot carry.
  if (!/^[!-~]+$/.test(appId)) throw new InvalidRequestError(`app id ${JSON.stringify(appId)} must be printable ASCII without spaces`);
  const outgoing = buildRequest(runtime.appId, request);
  const send = await sender(runtime, appId, request);
  const policies = runtime.resiliency.forApp(appId);
  if (!policies.active) return send(outgoing);
  // Under the app's resiliency policies each attempt sends a copy of the request (a streamed body is
  // kept for the retries) and can be cut by a timeout. As in daprd, an answer outside 200–399 is a
  // failure: it is retried (as far as the retry policy's `matching` allows) and counts toward the
  // breaker. When the retries run out, the callee's last answer is returned, as it would have been
  // without policies. A call the caller aborts is not attempted again.
  let previous: Response | undefined;
  try {
    return await policies.execute(
      async (signal) => {
        // A failed answer that is retried is never read: release its connection.
        await previous?.body?.cancel().catch(() => {});
        const attempt = new Request(outgoing.clone(), { signal: request.signal ? AbortSignal.any([signal, request.signal]) : signal, duplex: "half" } as RequestInit);
        const response = await send(attempt);
        if (response.status < 200 || response.status > 399) {
          previous = response;
          throw new FailedAnswer(response);
        }
        return response;
      },
      request.signal ? { signal: request.signal } : undefined,
    );
  } catch (error) {
    if (error instanceof FailedAnswer) return error.response;
    throw error;
  }
}

/** A callee's failed answer (outside 200–399), thrown so that resiliency policies count it as a failure. */
class FailedAnswer extends Error {
  readonly status: number;
  constructor(readonly response: Response) {
    super(`the app answered ${response.status}`);
    this.status = response.status;
  }
}

/** How requests reach the app: this app's functions in-process, or the endpoint a name resolver gives. */
async function sender(runtime: Runtime, appId: string, request: ServiceInvocationRequest): Promise<(outgoing: Request) => Promise<Response>> {
  if (appId === runtime.appId) {
    const localFetch = runtime.localFetch;
    if (!localFetch) throw directInvokeError(appId, "this runtime serves no HTTP functions in-process (it was not made by createApp)");
    return (outgoing) => localFetch(outgoing, request.waitUntil);
  }
  const endpoint = await resolveApp(runtime, appId);
  return async (outgoing) => {
    let response: Response;
    try {
      response = await endpoint.fetch(outgoing);
    } catch (cause) {
      if (outgoing.signal.aborted || request.signal?.aborted) throw cause;
      throw directInvokeError(appId, `${endpoint.address} did not answer: ${causeMessage(cause)}`, cause);
    }
    return asLocalResponse(response);
  };
}

/**
 * Parses `"METHOD /path?query"` as `http(...)` does (the same grammar), for `ctx.invoke`.
 * `ALL` is a route wildcard, not a method, so it is refused here.
 */
export function parseInvocationRoute(route: string): { method: Exclude<HttpMethod, "ALL">; path: string; query: string } {
  if (typeof route !== "string") throw new InvalidRequestError(`invoke: the route must be a string "METHOD /path", e.g. "POST /orders"`);
  let method: HttpMethod;
  let target: string;
  try {
    ({ method, path: target } = http(route, noHandler));
  } catch (error) {
    if (!(error instanceof FunctionDefinitionError)) throw error;
    throw new InvalidRequestError(`invoke: the route must be "METHOD /path", e.g. "POST /orders"; got ${JSON.stringify(route)}`);
  }
  if (method === "ALL") throw new InvalidRequestError(`invoke: "ALL" is not an HTTP method; name the one to call, e.g. "GET ${target}"`);
  if (target.includes("#")) throw new InvalidRequestError(`invoke: the path must not contain a fragment ("#"); got ${JSON.stringify(route)}`);
  const mark = target.indexOf("?");
  return mark < 0 ? { method, path: target, query: "" } : { method, path: target.slice(0, mark), query: target.slice(mark + 1) };
}

const noHandler = () => new Response(null);

/** Headers that belong to one hop, or to the caller's own runtime, and are never passed on. */
const droppedHeaders = [
  "connection",
  "keep-alive",
  "proxy-authenticate",
  "proxy-authorization",
  "proxy-connection",
  "te",
  "trailer",
  "transfer-encoding",
  "upgrade",
  "host",
  "content-length",
  // The caller's client decodes what it accepts; the callee's encoding is negotiated per hop.
  "accept-encoding",
  // Dapr removes the target header, and a caller's API token is for its own runtime only.
  "dapr-app-id",
  "dapr-api-token",
  "traceparent",
  "tracestate",
];

/**
 * The request as the callee gets it, addressed to a placeholder origin (the endpoint supplies the
 * real one). Like Dapr, it carries the caller's and the callee's app ids and a child span of the
 * caller's trace.
 */
function buildRequest(callerAppId: string, request: ServiceInvocationRequest): Request {
  const method = request.method;
  if (typeof method !== "string" || !/^[A-Z]+$/.test(method)) {
    throw new InvalidRequestError(`service invocation needs an upper-case HTTP method, e.g. "POST"; got ${JSON.stringify(method)}`);
  }
  if (typeof request.path !== "string") throw new InvalidRequestError("service invocation needs a path");
  const path = request.path.startsWith("/") ? request.path : `/${request.path}`;
  if (/[?#]/.test(path)) throw new InvalidRequestError(`the path must not contain "?" or "#"; pass the query separately (path ${JSON.stringify(path)})`);
  const body = request.body ?? null;
  if (body !== null && (method === "GET" || method === "HEAD")) throw new InvalidRequestError(`a ${method} request cannot have a body`);

  const headers = new Headers(request.headers);
  const length = headers.get("content-length");
  for (const name of droppedHeaders) headers.delete(name);
  const span = continueTrace(request.trace.traceparent, request.trace.tracestate);
  headers.set("traceparent", span.traceparent);
  if (span.tracestate) headers.set("tracestate", span.tracestate);
  headers.set("dapr-caller-app-id", callerAppId);
  headers.set("dapr-callee-app-id", request.appId);
  // A length lets a remote call go out with Content-Length rather than chunked (fetch sends any
  // Request body as a stream), and an in-process call, which has no HTTP framing, be held to the
  // callee's body limit by it. A streamed body keeps the length its own request declared.
  const size = knownSize(body);
  if (size !== undefined) headers.set("content-length", String(size));
  else if (length !== null && isStream(body)) headers.set("content-length", length);

  const query = queryString(request.query);
  return new Request(`${placeholderOrigin}${path}${query ? `?${query}` : ""}`, {
    method,
    headers,
    body,
    redirect: "manual",
    signal: request.signal,
    ...(isStream(body) ? { duplex: "half" } : {}),
  } as RequestInit);
}

/**
 * The origin of a request before an endpoint readdresses it. The path is appended to it as text,
 * never resolved against it, so a path like `//host/x` stays a path.
 */
const placeholderOrigin = "http://localhost";

async function resolveApp(runtime: Runtime, appId: string): Promise<AppEndpoint> {
  const resolvers = runtime.components.filter((c) => c.block === "nameresolution").map((c) => c.name);
  if (!resolvers.length) {
    throw unknownAppError(appId, "no name-resolution component is configured; add a nameresolution.static component that maps the app id to its URL");
  }
  for (const name of resolvers) {
    const endpoint = await (await runtime.nameResolution(name)).resolve(appId);
    if (endpoint) return endpoint;
  }
  throw unknownAppError(appId, `no name-resolution component knows the app id (asked ${resolvers.map((n) => `"${n}"`).join(", ")})`);
}

/**
 * An app id nothing resolves: the caller named an app this runtime does not know, which no retry
 * will change — a NotFoundError (HTTP 404) with Dapr's code, where daprd answers 500 (with mDNS an
 * unknown id may be one that has not announced itself yet; a table of names does not change).
 */
function unknownAppError(appId: string, reason: string): NotFoundError {
  return new NotFoundError(ErrorCodes.directInvoke, `failed to invoke, id: ${appId}, err: ${reason}`);
}

function directInvokeError(appId: string, reason: string, cause?: unknown): MechaError {
  // Dapr's wording: "failed to invoke, id: <app id>, err: <reason>".
  return new MechaError(ErrorCodes.directInvoke, `failed to invoke, id: ${appId}, err: ${reason}`, { cause });
}

/**
 * The callee's answer as this process's Response. fetch decodes a gzip/deflate/br body but keeps
 * its `content-encoding` and `content-length`, which passed on unchanged (by the Dapr API, say)
 * would describe bytes that are no longer there. And @hono/node-server replaces the global
 * Response with its own class, so fetch's answer is not an `instanceof Response` there, which the
 * HTTP layer (and a function's own checks) expect.
 */
function asLocalResponse(response: Response): Response {
  const encoded = response.headers.has("content-encoding");
  if (!encoded && response instanceof Response) return response;
  const headers = new Headers(response.headers);
  if (encoded) {
    headers.delete("content-encoding");
    headers.delete("content-length");
  }
  return new Response(response.body, { status: response.status, statusText: response.statusText, headers });
}

function queryString(query: ServiceInvocationRequest["query"]): string {
  if (query === undefined) return "";
  if (typeof query === "string") return query.startsWith("?") ? query.slice(1) : query;
  return new URLSearchParams(query as Record<string, string>).toString();
}

function knownSize(body: RequestInit["body"]): number | undefined {
  if (body === null) return undefined;
  if (typeof body === "string") return new TextEncoder().encode(body).byteLength;
  if (body instanceof ArrayBuffer || ArrayBuffer.isView(body)) return body.byteLength;
  if (body instanceof Blob) return body.size;
  return undefined;
}

const isStream = (body: RequestInit["body"]): body is ReadableStream => typeof ReadableStream !== "undefined" && body instanceof ReadableStream;

/** Why a fetch failed, in words that carry no URL (and so no credentials): undici hides the reason in `cause`. */
function causeMessage(error: unknown): string {
  const cause = (error as { cause?: { code?: unknown; message?: unknown } })?.cause;
  if (typeof cause?.code === "string") return cause.code;
  if (typeof cause?.message === "string") return cause.message;
  return error instanceof Error ? error.message : String(error);
}
