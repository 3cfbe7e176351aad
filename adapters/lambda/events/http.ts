/**
 * HTTP events: API Gateway REST (payload v1), HTTP API (payload v2), Lambda Function URLs (v2
 * shape on a `*.lambda-url.<region>.on.aws` domain) and Application Load Balancer targets.
 *
 * The translation (base64 bodies, cookies, multi-value headers and query strings, binary
 * responses) is Hono's own `hono/aws-lambda` adapter, wrapped where it is not enough:
 *
 * - It is given only events these guards accepted. On its own it treats any event it does not
 *   recognise as REST v1: an SQS batch would become a request to `https://undefined…` and get an
 *   HTTP 400 back — an answer SQS reads as success, deleting the batch.
 * - The path the app routes on is the API's own path (see {@link apiPath}): AWS puts a custom
 *   domain's base-path mapping into REST's `path`, and a named stage into HTTP API's `rawPath` on
 *   the execute-api domain, and an `http("GET /orders/:id")` function must match either way.
 * - ALB's multi-value headers are joined with ", " (Hono joins every header with "; ", which is
 *   right only for Cookie).
 * - Work handed to `ctx.waitUntil` finishes before the answer: Lambda freezes the process once
 *   the handler returns, and Hono's `handle` gives the app no execution context.
 */
import type { ALBEvent, APIGatewayProxyEvent, APIGatewayProxyEventV2 } from "aws-lambda";
import { Hono } from "hono";
import { handle, type APIGatewayProxyResult, type LambdaContext, type LambdaEvent } from "hono/aws-lambda";
import type { App } from "../../../src/core/app.ts";
import type { Logger } from "../../../src/core/logger.ts";
import { hasStrings, isObject, isOptionalObject, isString, type JsonObject } from "../guards.ts";

export type HttpEvent = APIGatewayProxyEvent | APIGatewayProxyEventV2 | ALBEvent;
export type HttpResult = APIGatewayProxyResult;

/** `<url-id>.lambda-url.<region>.on.aws`: a Function URL's own domain. */
const functionUrlDomain = /^[a-z0-9]+\.lambda-url\.[a-z0-9-]+\.on\.aws$/;

const isBodyField = (value: unknown) => value === undefined || value === null || isString(value);

/**
 * API Gateway REST (and HTTP API payload 1.0): `resource` and `requestContext.apiId`, not ALB.
 * A REQUEST authorizer's event looks much the same but carries `methodArn` and no body: answering
 * it with an HTTP result instead of a policy must never happen.
 */
export function isRestApiEvent(event: unknown): event is APIGatewayProxyEvent {
  if (!isObject(event) || !hasStrings(event, "httpMethod", "path", "resource") || typeof event.isBase64Encoded !== "boolean") return false;
  if ("methodArn" in event) return false;
  const context = event.requestContext;
  return (
    isBodyField(event.body) &&
    isOptionalObject(event.headers) &&
    isOptionalObject(event.multiValueHeaders) &&
    isOptionalObject(event.queryStringParameters) &&
    isOptionalObject(event.multiValueQueryStringParameters) &&
    isOptionalObject(event.pathParameters) &&
    isObject(context) &&
    hasStrings(context, "apiId", "stage", "requestId") &&
    !("elb" in context)
  );
}

/** The payload v2 shape that HTTP APIs and Function URLs share (an authorizer's has `routeArn`). */
function isPayloadV2(event: unknown): event is APIGatewayProxyEventV2 & JsonObject {
  if (!isObject(event) || event.version !== "2.0" || typeof event.isBase64Encoded !== "boolean" || "routeArn" in event) return false;
  const context = event.requestContext;
  return (
    hasStrings(event, "routeKey", "rawPath", "rawQueryString") &&
    isBodyField(event.body) &&
    isOptionalObject(event.headers) &&
    (event.cookies === undefined || (Array.isArray(event.cookies) && event.cookies.every(isString))) &&
    isObject(context) &&
    hasStrings(context, "apiId", "domainName", "requestId", "stage") &&
    isObject(context.http) &&
    hasStrings(context.http, "method", "path")
  );
}

/** A Lambda Function URL request. */
export function isFunctionUrlEvent(event: unknown): event is APIGatewayProxyEventV2 {
  return isPayloadV2(event) && functionUrlDomain.test(event.requestContext.domainName);
}

/** An API Gateway HTTP API request (payload v2) — the v2 shape on any domain but a Function URL's. */
export function isHttpApiEvent(event: unknown): event is APIGatewayProxyEventV2 {
  return isPayloadV2(event) && !functionUrlDomain.test(event.requestContext.domainName);
}

/** An Application Load Balancer request, with or without multi-value headers. */
export function isAlbEvent(event: unknown): event is ALBEvent {
  if (!isObject(event) || !hasStrings(event, "httpMethod", "path") || typeof event.isBase64Encoded !== "boolean") return false;
  const context = event.requestContext;
  return (
    isObject(context) &&
    isObject(context.elb) &&
    isString(context.elb.targetGroupArn) &&
    isBodyField(event.body) &&
    (isObject(event.headers) || isObject(event.multiValueHeaders))
  );
}

/**
 * The path an app routes on: the path within the API, without the custom domain's base-path
 * mapping or the stage.
 *
 * REST's `path` carries the base path of a custom domain (`/shop/orders/42` for
 * `https://api.example.com/shop/orders/42` mapped to the API at `shop`), while `resource` is the
 * matched resource (`/orders/{id}`, `/{proxy+}`) and `pathParameters` fill it in. The route's
 * segments are counted from the resource and its greedy parameter, and the segments of `path`
 * before them — the base path, however many levels — are dropped; the rest of `path` is kept as
 * sent. HTTP API's `rawPath` holds a named stage (`/dev/orders/42`) on the execute-api domain;
 * there the route in `routeKey` (`GET /orders/{id}`) plays the part of `resource`, and for the
 * `$default` route a leading stage segment is dropped on the execute-api domain only. When the
 * template cannot explain the path (literal segments that do not line up, a greedy parameter
 * missing), the path is used as AWS gave it — never a guess.
 *
 * The function sees the request URL on the domain it was called on, with this path.
 */
export function apiPath(path: string, template: string, parameters: Readonly<Record<string, string | undefined>> | null | undefined): string {
  if (!template.startsWith("/")) return path;
  const route = segments(template);
  let expected = 0;
  for (const part of route) {
    const greedy = /^\{(.+)\+\}$/.exec(part);
    if (!greedy) expected++;
    else {
      const value = parameters?.[greedy[1]!];
      if (value === undefined) return path;
      expected += segments(value).length;
    }
  }
  const actual = segments(path);
  const prefix = actual.length - expected;
  if (prefix <= 0) return path;
  const rest = actual.slice(prefix);
  const linesUp = route.every((part, i) => part.startsWith("{") || part === rest[i]);
  if (!linesUp) return path;
  return `/${rest.join("/")}${rest.length && path.endsWith("/") ? "/" : ""}`;
}

const segments = (path: string) => path.split("/").filter((segment) => segment !== "");

/**
 * The event as Hono's adapter should see it. The cast: Hono's event types are stricter than what
 * AWS sends (they require a `version` that REST events lack and an `authorizer` that a Function
 * URL without auth lacks); the guards above checked every field Hono reads.
 */
function forHono(event: HttpEvent): LambdaEvent {
  return normalised(event) as unknown as LambdaEvent;
}

function normalised(event: HttpEvent): HttpEvent {
  if (isAlbEvent(event)) return event.multiValueHeaders ? { ...event, multiValueHeaders: joinedAlbHeaders(event.multiValueHeaders) } : event;
  if ("rawPath" in event) {
    if (event.routeKey === "$default") return withoutDefaultStage(event);
    const template = event.routeKey.slice(event.routeKey.indexOf(" ") + 1);
    return { ...event, rawPath: apiPath(event.rawPath, template, event.pathParameters) };
  }
  return { ...event, path: apiPath(event.path, event.resource, event.pathParameters) };
}

/** A `$default` route on a named stage, called on the execute-api domain: the stage leads `rawPath`. */
function withoutDefaultStage(event: APIGatewayProxyEventV2): APIGatewayProxyEventV2 {
  const { stage, domainName } = event.requestContext;
  const prefix = `/${stage}`;
  if (stage === "$default" || !/\.execute-api\.[a-z0-9-]+\.(vpce\.)?amazonaws\.com(\.cn)?$/.test(domainName)) return event;
  if (event.rawPath === prefix) return { ...event, rawPath: "/" };
  return event.rawPath.startsWith(`${prefix}/`) ? { ...event, rawPath: event.rawPath.slice(prefix.length) } : event;
}

/**
 * Repeated headers are one comma-separated list (RFC 9110 §5.3); only Cookie joins with "; ".
 * Each becomes a one-element list, which Hono's join leaves as it is.
 */
function joinedAlbHeaders(headers: Readonly<Record<string, string[] | undefined>>): Record<string, string[]> {
  const joined: Record<string, string[]> = {};
  for (const [name, values] of Object.entries(headers)) {
    if (values?.length) joined[name] = [values.join(name.toLowerCase() === "cookie" ? "; " : ", ")];
  }
  return joined;
}

/** Serves the app's HTTP functions for any of the four HTTP event shapes. */
export function createHttpHandler(app: App, logger: Logger): (event: HttpEvent, context: LambdaContext | undefined) => Promise<HttpResult> {
  // The app gets an execution context per request, so `ctx.waitUntil` work is collected and
  // awaited before the answer. Nothing of Lambda's (event, context) reaches the app.
  const front = new Hono();
  front.all("*", async (c) => {
    const tasks: Promise<unknown>[] = [];
    const response = await app.http.fetch(c.req.raw, undefined, {
      waitUntil: (promise) => void tasks.push(promise),
      passThroughOnException: () => {},
      props: {},
    });
    for (const task of await Promise.allSettled(tasks)) {
      if (task.status === "rejected") logger.error("waitUntil task failed", { path: c.req.path, error: task.reason });
    }
    return response;
  });
  const translate = handle(front);
  return (event, context) => translate(forHono(event), context);
}
