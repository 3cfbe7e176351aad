/**
 * `nameresolution.static`: a fixed table of app ids and the base URLs their HTTP functions are
 * served at. Each metadata entry is one app: its name is the app id, its value the base URL.
 *
 * ```yaml
 * spec:
 *   type: nameresolution.static
 *   version: v1
 *   metadata:
 *     - name: billing
 *       value: "http://127.0.0.1:3001"
 *     - name: shipping
 *       value: "https://shipping.internal/api"   # a path is a prefix: /api/<method>
 * ```
 *
 * A URL may carry `user:password@`: it is sent as HTTP basic auth (fetch refuses credentials in
 * a URL) and never appears in an error message. The URLs are checked when the component is
 * created, so a typo fails at startup.
 */
import type { AppEndpoint, NameResolutionComponent } from "../../blocks/nameresolution.ts";
import type { ComponentOptions } from "../types.ts";

export const type = "nameresolution.static";

/** Reads and checks the table; opens no connection. */
export function create({ metadata }: ComponentOptions): NameResolutionComponent {
  const endpoints = new Map<string, AppEndpoint>();
  for (const appId of Object.keys(metadata.values)) {
    const url = parseBaseUrl(metadata.requiredString(appId), (reason) => metadata.error(appId, reason));
    endpoints.set(appId, urlEndpoint(url));
  }
  if (!endpoints.size) {
    throw metadata.error("spec.metadata", 'lists no apps; add one entry per app id, e.g. "- name: billing  value: http://127.0.0.1:3001"');
  }
  return {
    type,
    resolve: async (appId) => endpoints.get(appId),
    async close() {},
  };
}

function parseBaseUrl(raw: string, fail: (reason: string) => Error): URL {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    // The raw value is not echoed: a malformed URL may still carry a password.
    throw fail('must be an absolute http:// or https:// URL, e.g. "http://127.0.0.1:3001"');
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") throw fail(`must be an http:// or https:// URL, got a ${url.protocol} URL`);
  if (url.search || url.hash) throw fail("must be a base URL without a query or fragment; the invoked method's path and query are appended to it");
  return url;
}

/** Sends requests to `base` + the request's path and query, with the URL's credentials as basic auth. */
function urlEndpoint(base: URL): AppEndpoint {
  const authorization = base.username || base.password ? basicAuth(base) : undefined;
  base.username = "";
  base.password = "";
  const prefix = base.pathname.replace(/\/+$/, "");
  return {
    address: base.origin + prefix,
    fetch(request) {
      const { pathname, search } = new URL(request.url);
      const target = new URL(base);
      target.pathname = prefix + pathname;
      target.search = search;
      const headers = new Headers(request.headers);
      if (authorization && !headers.has("authorization")) headers.set("authorization", authorization);
      return fetch(target, {
        method: request.method,
        headers,
        body: request.body,
        // A callee's redirect is its answer, passed back to the caller as Dapr does.
        redirect: "manual",
        signal: request.signal,
        // Required by fetch for a streamed body; the body is a stream whenever there is one.
        ...(request.body ? { duplex: "half" } : {}),
      } as RequestInit);
    },
  };
}

function basicAuth(url: URL): string {
  const credentials = `${decodeURIComponent(url.username)}:${decodeURIComponent(url.password)}`;
  // btoa takes Latin-1 only; go through UTF-8 bytes so any password works (Workers have no Buffer).
  return `Basic ${btoa(String.fromCharCode(...new TextEncoder().encode(credentials)))}`;
}
