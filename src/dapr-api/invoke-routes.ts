/**
 * Dapr's service invocation API: `/v1.0/invoke/{appId}/method/{path}` with any method, and — as
 * daprd does — any request outside the API's own paths that names its target in a `dapr-app-id`
 * header. The call goes to this app's own functions in-process, or to another app through the
 * name-resolution components; the callee's answer comes back as it was given.
 */
import type { Context as HonoContext, Hono } from "hono";
import { invokeService } from "../core/service-invocation.ts";
import { continueTrace } from "../core/trace.ts";
import { ErrorCodes } from "../errors.ts";
import { answerFailureAs, type ApiDeps } from "./context.ts";
import { malformed } from "./errors.ts";

export function mountInvokeRoutes(api: Hono, deps: ApiDeps): void {
  const invoke = (c: HonoContext, appId: string, path: string) => {
    const raw = c.req.raw;
    const search = new URL(raw.url).search;
    return answerFailureAs(ErrorCodes.directInvoke, () =>
      invokeService(deps.runtime, {
        appId,
        method: raw.method,
        path,
        query: search.slice(1),
        headers: raw.headers,
        body: raw.method === "GET" || raw.method === "HEAD" ? null : raw.body,
        trace: continueTrace(raw.headers.get("traceparent"), raw.headers.get("tracestate")),
        signal: raw.signal,
      }),
    );
  };

  // `dapr-app-id: billing` on `POST /invoices` means `POST /v1.0/invoke/billing/method/invoices`.
  api.use(async (c, next) => {
    const target = c.req.header("dapr-app-id");
    if (!target || /^\/v1\.0(-alpha1|-alpha2|-beta1)?\//.test(c.req.path)) return next();
    return invoke(c, target, new URL(c.req.url).pathname);
  });

  api.all("/v1.0/invoke/:appId/method/*", async (c) => {
    // The path goes on as the caller encoded it, so the callee decodes it once, as it would have.
    const [, , , rawAppId = "", , ...rest] = new URL(c.req.url).pathname.split("/");
    let appId: string;
    try {
      appId = decodeURIComponent(rawAppId);
    } catch {
      throw malformed(`the app id ${JSON.stringify(rawAppId)} is not valid URL encoding`);
    }
    return invoke(c, appId, `/${rest.join("/")}`);
  });
}
