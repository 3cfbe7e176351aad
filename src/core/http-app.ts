/**
 * The HTTP side of an app: a Hono app with one route per `http` function, a body limit, and
 * errors turned into `{ errorCode, message }` JSON — never a stack trace to the client.
 */
import { Hono, type Context as HonoContext } from "hono";
import { bodyLimit } from "hono/body-limit";
import { HTTPException } from "hono/http-exception";
import { clientFaultStatus, ErrorCodes, MechaError } from "../errors.ts";
import type { HttpFunction } from "../functions.ts";
import type { Registered } from "./registry.ts";
import type { Runtime } from "./runtime.ts";

export interface HttpAppOptions {
  /** Largest accepted request body in bytes. Default 4 MiB (Dapr's default). */
  bodyLimit?: number;
  /** Where `ctx.waitUntil` promises go when the platform has no execution context (Node). */
  waitUntil?: (promise: Promise<unknown>) => void;
  /**
   * The requests come straight from an HTTP/1.1 parser (the Node host), so a request with neither
   * content-length nor transfer-encoding has no body, and the body need not be looked at.
   */
  httpFraming?: boolean;
}

export const defaultBodyLimit = 4 * 1024 * 1024;

export function createHttpApp(
  runtime: Runtime,
  functions: ReadonlyArray<Registered<HttpFunction>>,
  options: HttpAppOptions = {},
): Hono {
  const app = new Hono();
  const limit = options.bodyLimit ?? defaultBodyLimit;
  const tooLarge = (c: HonoContext) =>
    errorJson(c, 413, "ERR_REQUEST_TOO_LARGE", `request body is larger than the limit of ${limit} bytes`);
  const streamingLimit = bodyLimit({ maxSize: limit, onError: tooLarge });

  for (const { id, definition } of functions) {
    const methods = definition.method === "ALL" ? ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"] : [definition.method];
    const run = async (c: HonoContext): Promise<Response> => {
      const ctx = runtime.createContext({
        traceparent: c.req.header("traceparent"),
        tracestate: c.req.header("tracestate"),
        waitUntil: options.waitUntil ?? platformWaitUntil(c),
        params: c.req.param() as Record<string, string>,
      });
      const response = await definition.handler(c.req.raw, ctx);
      if (!isResponse(response)) {
        ctx.log.error(`http function ${id} returned ${typeof response}, not a Response`);
        return errorJson(c, 500, "ERR_FUNCTION_RESPONSE", `function ${id} did not return a Response`);
      }
      return response;
    };
    // The body limit lives in the route's one handler rather than in a middleware: Hono takes a
    // faster path for single-handler routes. A length header decides without touching the body
    // (reading `c.req.raw.body` makes Node's adapter build a full Request); a chunked body is
    // counted as it streams in.
    app.on(methods, definition.path, async (c) => {
      const length = c.req.header("content-length");
      if (length !== undefined && c.req.header("transfer-encoding") === undefined) {
        return Number(length) > limit ? tooLarge(c) : run(c);
      }
      const chunked = c.req.header("transfer-encoding") !== undefined;
      if (!chunked && (options.httpFraming || c.req.method === "GET" || c.req.method === "HEAD")) return run(c);
      // No length to go by: a chunked upload, or a Request an adapter built (Lambda, tests).
      if (!chunked && c.req.raw.body === null) return run(c);
      const rejected = await streamingLimit(c, async () => {
        c.res = await run(c);
      });
      return rejected ?? c.res;
    });
  }

  app.notFound((c) => errorJson(c, 404, "ERR_NOT_FOUND", `no function serves ${c.req.method} ${c.req.path}`));
  app.onError((error, c) => {
    const mapped = errorResponse(error);
    if (mapped.status < 500) return errorJson(c, mapped.status, mapped.errorCode, mapped.message);
    // A server-side failure's details (component names, paths, upstream answers) go to the log,
    // tied to the client's answer by an id; the client learns only what kind of failure it was.
    const incident = crypto.randomUUID();
    runtime.logger.error("http function failed", { path: c.req.path, incident, detail: mapped.message, error });
    return errorJson(c, mapped.status, mapped.errorCode, `the function failed (incident ${incident}); the host's log has the details`);
  });
  return app;
}

/** Maps an error thrown by a handler to a status and a message that is safe to show a client. */
export function errorResponse(error: unknown): { status: number; errorCode: string; message: string } {
  if (error instanceof HTTPException) {
    return { status: error.status, errorCode: error.status === 413 ? "ERR_REQUEST_TOO_LARGE" : "ERR_HTTP", message: error.message || "request failed" };
  }
  if (error instanceof MechaError) return { status: clientFaultStatus(error) ?? 500, errorCode: error.code, message: error.message };
  // `await req.json()` on a malformed body throws a SyntaxError: that is the client's fault.
  if (error instanceof SyntaxError) {
    return { status: 400, errorCode: ErrorCodes.invalidRequest, message: "request body is not valid JSON" };
  }
  return { status: 500, errorCode: "ERR_INTERNAL", message: error instanceof Error ? error.message : String(error) };
}

function errorJson(c: HonoContext, status: number, errorCode: string, message: string): Response {
  return c.json({ errorCode, message }, status as 400);
}

/**
 * A Response, from this realm or another: @hono/node-server replaces the global Response with its
 * own class, so what `fetch()` returns on the Node host is not an `instanceof Response` there —
 * and a function that returns a fetch's answer as is must still work.
 */
function isResponse(value: unknown): value is Response {
  if (value instanceof Response) return true;
  const candidate = value as Partial<Response> | null;
  return typeof candidate === "object" && candidate !== null && typeof candidate.status === "number" && typeof candidate.headers?.get === "function" && "body" in candidate;
}

/** Workers pass an execution context with waitUntil; reading it elsewhere throws. */
function platformWaitUntil(c: HonoContext): ((promise: Promise<unknown>) => void) | undefined {
  try {
    const executionCtx = c.executionCtx;
    return (promise) => executionCtx.waitUntil(promise);
  } catch {
    return undefined;
  }
}
