/**
 * `bindings.http`: an output binding that calls an HTTP endpoint, as Dapr's HTTP binding does.
 *
 * Component metadata (Dapr's): `url` (required), `responseTimeout` (default 30s; `timeout` is
 * accepted too), `errorIfNot2XX` (default true), `securityToken` + `securityTokenHeader`.
 *
 * Operations: `create` (a POST, kept for Dapr compatibility), `get`, `head`, `post`, `put`,
 * `patch`, `delete`, `options` — Dapr's `trace` too, except that fetch cannot send TRACE. Request metadata: `path` is appended to the url; keys
 * that start with a capital letter (`Content-Type`, `Authorization`) are sent as headers, and so
 * are `traceparent`, `tracestate` and `baggage`. Override `errorIfNot2XX` per request, too.
 *
 * The response is `{ data: Uint8Array, metadata: { statusCode, status, …response headers } }`.
 *
 * @example
 * const { data } = await ctx.binding("inventory").invoke("get", undefined, { path: "/items/42" });
 * const item = JSON.parse(new TextDecoder().decode(data as Uint8Array));
 */
import type { BindingRequest, BindingResponse, OutputBindingComponent } from "../../blocks/bindings.ts";
import { ErrorCodes, InvalidRequestError, MechaError } from "../../errors.ts";
import type { ComponentOptions } from "../types.ts";
import { isTruthy } from "../../config/metadata.ts";

export const type = "bindings.http";

const methods = {
  create: "POST",
  get: "GET",
  head: "HEAD",
  post: "POST",
  put: "PUT",
  patch: "PATCH",
  delete: "DELETE",
  options: "OPTIONS",
  // Dapr's `trace` is left out: fetch (Node and Workers alike) refuses to send TRACE.
} as const;

/** Only these methods carry the invocation's data, as in Dapr. */
const methodsWithBody = new Set(["POST", "PUT", "PATCH"]);
/** Lower-case metadata keys that are still sent on, so the callee joins the caller's trace. */
const traceHeaders = ["traceparent", "tracestate", "baggage"];
/** How much of an error response's body goes into the error message. */
const errorBodyChars = 256;

/** Creates the binding; validates the url, opens no connection. */
export function create({ name, metadata }: ComponentOptions): OutputBindingComponent {
  const url = parseBaseUrl(metadata.requiredString("url"), (reason) => metadata.error("url", reason));
  // fetch refuses urls with credentials; Go's client (so Dapr) sends them as basic auth instead.
  const basicAuth = takeCredentials(url);
  const timeoutMs = metadata.has("responseTimeout")
    ? metadata.durationMs("responseTimeout", 30_000)
    : metadata.durationMs("timeout", 30_000);
  const errorIfNot2XX = metadata.boolean("errorIfNot2XX", true);
  const securityToken = metadata.string("securityToken");
  const securityTokenHeader = metadata.string("securityTokenHeader");
  if (securityToken && !securityTokenHeader) {
    throw metadata.error("securityTokenHeader", "is required when securityToken is set, e.g. \"Authorization\"");
  }

  async function invoke(request: BindingRequest): Promise<BindingResponse> {
    const method = Object.hasOwn(methods, request.operation) ? methods[request.operation as keyof typeof methods] : undefined;
    if (!method) {
      throw new InvalidRequestError(`binding "${name}" (${type}) has no operation "${request.operation}"`, {
        code: ErrorCodes.bindingOperation,
        component: name,
      });
    }
    const requestMetadata = request.metadata ?? {};
    const target = withPath(url, requestMetadata["path"]);
    const body = methodsWithBody.has(method) ? encodeBody(request.data) : undefined;
    const headers = requestHeaders(requestMetadata, body?.contentType);
    // As in Dapr, a header given in the request's metadata wins over the component's credentials.
    if (securityToken && securityTokenHeader && !headers.has(securityTokenHeader)) headers.set(securityTokenHeader, securityToken);
    if (basicAuth && !headers.has("authorization")) headers.set("authorization", basicAuth);

    const where = `${method} ${redact(target)}`;
    let response: Response;
    let data: Uint8Array;
    try {
      // The timeout covers reading the body too, as Dapr's request context does.
      response = await fetch(target, { method, headers, body: body?.bytes, signal: AbortSignal.timeout(timeoutMs) });
      data = new Uint8Array(await response.arrayBuffer());
    } catch (cause) {
      const reason = isTimeout(cause) ? `timed out after ${timeoutMs} ms` : `failed: ${causeMessage(cause)}`;
      throw new MechaError(ErrorCodes.bindingInvoke, `binding "${name}" (${type}): ${where} ${reason}`, { component: name, cause });
    }
    const throwOnStatus = requestMetadata["errorIfNot2XX"] ? isTruthy(requestMetadata["errorIfNot2XX"]) : errorIfNot2XX;
    if (throwOnStatus && (response.status < 200 || response.status > 299)) {
      throw new MechaError(
        ErrorCodes.bindingInvoke,
        `binding "${name}" (${type}): ${where} returned status ${statusText(response)}${bodyExcerpt(data)}`,
        { component: name },
      );
    }
    return { data, metadata: responseMetadata(response) };
  }

  return { type, operations: Object.keys(methods), invoke, async close() {} };
}

function parseBaseUrl(raw: string, fail: (reason: string) => Error): URL {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    // The raw value is not echoed: a malformed url may still carry a password.
    throw fail('must be an absolute http:// or https:// URL, e.g. "http://localhost:8000/api"');
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    throw fail(`must be an http:// or https:// URL, got a ${url.protocol} URL`);
  }
  return url;
}

/** Removes `user:password@` from the url and returns it as an Authorization header value. */
function takeCredentials(url: URL): string | undefined {
  if (!url.username && !url.password) return undefined;
  const credentials = `${decodeURIComponent(url.username)}:${decodeURIComponent(url.password)}`;
  url.username = "";
  url.password = "";
  // btoa takes Latin-1 only; go through UTF-8 bytes so any password works (and Workers has no Buffer).
  return `Basic ${btoa(String.fromCharCode(...new TextEncoder().encode(credentials)))}`;
}

/** Dapr's join: exactly one slash between the base url and the path; the path may carry a query. */
function withPath(base: URL, path: string | undefined): string {
  if (!path) return base.href;
  return `${base.href.replace(/\/+$/, "")}/${path.replace(/^\/+/, "")}`;
}

function encodeBody(data: unknown): { bytes: Uint8Array | string; contentType: string } | undefined {
  if (data === undefined || data === null) return undefined;
  if (data instanceof Uint8Array) return { bytes: data, contentType: "application/octet-stream" };
  if (data instanceof ArrayBuffer) return { bytes: new Uint8Array(data), contentType: "application/octet-stream" };
  if (typeof data === "string") return { bytes: data, contentType: "text/plain; charset=utf-8" };
  return { bytes: JSON.stringify(data), contentType: "application/json; charset=utf-8" };
}

function requestHeaders(metadata: Record<string, string>, defaultContentType: string | undefined): Headers {
  const headers = new Headers({ accept: "application/json; charset=utf-8" });
  if (defaultContentType) headers.set("content-type", defaultContentType);
  for (const [key, value] of Object.entries(metadata)) {
    if (/^[A-Z]/.test(key) || traceHeaders.includes(key)) {
      try {
        headers.set(key, value);
      } catch (cause) {
        throw new InvalidRequestError(`metadata "${key}" cannot be sent as an HTTP header: ${causeMessage(cause)}`, { cause });
      }
    }
  }
  return headers;
}

/** `statusCode`, `status` ("404 Not Found") and each response header under its canonical name, as Dapr returns them. */
function responseMetadata(response: Response): Record<string, string> {
  const metadata: Record<string, string> = { statusCode: String(response.status), status: statusText(response) };
  response.headers.forEach((value, key) => {
    metadata[canonicalHeaderName(key)] = value;
  });
  return metadata;
}

function canonicalHeaderName(key: string): string {
  return key.replace(/(^|-)([a-z])/g, (_, dash: string, letter: string) => dash + letter.toUpperCase());
}

function statusText(response: Response): string {
  return response.statusText ? `${response.status} ${response.statusText}` : String(response.status);
}

function bodyExcerpt(data: Uint8Array): string {
  if (!data.length) return "";
  const text = new TextDecoder().decode(data.subarray(0, errorBodyChars * 4));
  return `: ${text.length > errorBodyChars ? `${text.slice(0, errorBodyChars)}…` : text}`;
}

/** The url without credentials or query string, both of which may hold secrets. */
function redact(target: string): string {
  const url = new URL(target);
  return `${url.origin}${url.pathname}`;
}

function isTimeout(error: unknown): boolean {
  return error instanceof Error && (error.name === "TimeoutError" || (error.name === "AbortError" && /timeout/i.test(error.message)));
}

function causeMessage(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  // undici puts the useful part (ECONNREFUSED, …) in the cause of its "fetch failed".
  const inner = error.cause instanceof Error ? error.cause : undefined;
  return inner ? `${error.message} (${(inner as NodeJS.ErrnoException).code ?? inner.message})` : error.message;
}
