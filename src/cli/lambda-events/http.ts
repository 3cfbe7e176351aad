/**
 * Sample HTTP events, one request in the four shapes that reach a Lambda function: API Gateway
 * HTTP API (payload 2.0, the `$default` route), API Gateway REST (a `/{proxy+}` resource), a
 * Function URL and an Application Load Balancer target. Each keeps the quirks of its service:
 * HTTP API lower-cases header names, joins repeated ones with "," and moves cookies into
 * `cookies`; REST keeps names as sent and lists repeated values in `multiValue*`; ALB leaves the
 * query string encoded and keeps the last of repeated values.
 */
import type { ALBEvent, APIGatewayProxyEvent, APIGatewayProxyEventV2 } from "aws-lambda";
import { commonLogTime, defaultRegion, freshId, randomBase64, sampleAccount, xrayTraceId } from "./sample-values.ts";

/** The request a sample HTTP event carries. */
export interface HttpSampleRequest {
  /** Default GET, or POST when there is a body. */
  method?: string;
  /** The path with its query string, if any: `/orders/42?tag=green`. Default `/`. */
  path?: string;
  /** Extra headers, in order; one given here replaces the sample's header of that name. */
  headers?: ReadonlyArray<readonly [name: string, value: string]>;
  body?: string;
  region?: string;
}

type HeaderList = Array<readonly [name: string, value: string]>;

/**
 * The request with its defaults applied and its query string split off. Header names are
 * written as a client sends them; HTTP API and ALB lower-case them.
 */
interface Request {
  method: string;
  path: string;
  /** The query string as sent, without `?`. */
  rawQuery: string;
  /** The headers the client sent (as names are written), the sample's and the user's. */
  headers: HeaderList;
  body: string | undefined;
  region: string;
  now: Date;
}

const sourceIp = "203.0.113.24";
const userAgent = "curl/8.5.0";
const httpApiId = "r3pmxmplak";
const restApiId = "70ixmpl4fl";
const functionUrlId = "a2kxmplwbn6v7u7fsqeo4ba4lm0hfbmk";

/** An API Gateway HTTP API request (payload 2.0) on the `$default` route and stage. */
export function httpApiEvent(request: HttpSampleRequest = {}): APIGatewayProxyEventV2 {
  const resolved = resolve(request);
  return payloadV2(resolved, httpApiId, `${httpApiId}.execute-api.${resolved.region}.amazonaws.com`, sampleAccount);
}

/** A Lambda Function URL request: payload 2.0 on the `*.lambda-url.<region>.on.aws` domain. */
export function functionUrlEvent(request: HttpSampleRequest = {}): APIGatewayProxyEventV2 {
  const resolved = resolve(request);
  return payloadV2(resolved, functionUrlId, `${functionUrlId}.lambda-url.${resolved.region}.on.aws`, "anonymous");
}

function payloadV2(request: Request, apiId: string, domainName: string, accountId: string): APIGatewayProxyEventV2 {
  const headers: Record<string, string> = {};
  const cookies: string[] = [];
  for (const [name, value] of withHost(request.headers, domainName)) {
    const key = name.toLowerCase();
    if (key === "cookie") cookies.push(...value.split(/;\s*/).filter(Boolean));
    else headers[key] = headers[key] === undefined ? value : `${headers[key]},${value}`;
  }
  const query = queryValues(request.rawQuery);
  return {
    version: "2.0",
    routeKey: "$default",
    rawPath: request.path,
    rawQueryString: request.rawQuery,
    ...(cookies.length ? { cookies } : {}),
    headers,
    ...(query.size ? { queryStringParameters: Object.fromEntries([...query].map(([name, values]) => [name, values.join(",")])) } : {}),
    requestContext: {
      accountId,
      apiId,
      domainName,
      domainPrefix: apiId,
      http: { method: request.method, path: decodedPath(request.path), protocol: "HTTP/1.1", sourceIp, userAgent: headers["user-agent"] ?? userAgent },
      requestId: accountId === "anonymous" ? freshId() : randomBase64(11),
      routeKey: "$default",
      stage: "$default",
      time: commonLogTime(request.now),
      timeEpoch: request.now.getTime(),
    },
    ...(request.body !== undefined ? { body: request.body } : {}),
    isBase64Encoded: false,
  };
}

/** An API Gateway REST API request to a `/{proxy+}` resource (`/` for the root), stage `prod`. */
export function restApiEvent(request: HttpSampleRequest = {}): APIGatewayProxyEvent {
  const resolved = resolve(request);
  const domainName = `${restApiId}.execute-api.${resolved.region}.amazonaws.com`;
  const headers = withHost(
    [
      ["CloudFront-Forwarded-Proto", "https"],
      ["CloudFront-Viewer-Country", "US"],
      ["Via", "2.0 a3650115c5e21e2b5d133ce84464bea3.cloudfront.net (CloudFront)"],
      ["X-Amz-Cf-Id", randomBase64(42).replace(/[+/]/g, "_")],
      ...resolved.headers,
    ],
    domainName,
  );
  const single: Record<string, string> = {};
  const multi: Record<string, string[]> = {};
  for (const [name, value] of headers) {
    single[name] = value;
    (multi[name] ??= []).push(value);
  }
  const query = queryValues(resolved.rawQuery);
  const proxy = resolved.path.slice(1);
  const stage = "prod";
  // `deploymentId` is in every REST event but not in the aws-lambda types: a variable, so the
  // object literal is not checked for excess properties.
  const requestContext = {
    resourceId: "2gxmpl",
    resourcePath: proxy ? "/{proxy+}" : "/",
    httpMethod: resolved.method,
    extendedRequestId: randomBase64(11),
    requestTime: commonLogTime(resolved.now),
    path: `/${stage}${resolved.path}`,
    accountId: sampleAccount,
    protocol: "HTTP/1.1",
    stage,
    domainPrefix: restApiId,
    requestTimeEpoch: resolved.now.getTime(),
    requestId: freshId(),
    identity: {
      cognitoIdentityPoolId: null,
      accountId: null,
      cognitoIdentityId: null,
      caller: null,
      sourceIp,
      principalOrgId: null,
      accessKey: null,
      cognitoAuthenticationType: null,
      cognitoAuthenticationProvider: null,
      userArn: null,
      userAgent: headers.findLast(([name]) => name.toLowerCase() === "user-agent")?.[1] ?? userAgent,
      user: null,
      apiKey: null,
      apiKeyId: null,
      clientCert: null,
    },
    domainName,
    deploymentId: "xmpl1a",
    apiId: restApiId,
    // No authorizer: the types require the key, and JSON leaves an undefined one out.
    authorizer: undefined,
  };
  return {
    resource: proxy ? "/{proxy+}" : "/",
    path: resolved.path,
    httpMethod: resolved.method,
    headers: single,
    multiValueHeaders: multi,
    queryStringParameters: query.size ? Object.fromEntries([...query].map(([name, values]) => [name, values.at(-1)!])) : null,
    multiValueQueryStringParameters: query.size ? Object.fromEntries(query) : null,
    pathParameters: proxy ? { proxy } : null,
    stageVariables: null,
    requestContext,
    body: resolved.body ?? null,
    isBase64Encoded: false,
  };
}

/** An Application Load Balancer request (without multi-value headers). */
export function albEvent(request: HttpSampleRequest = {}): ALBEvent {
  const resolved = resolve(request);
  const headers: Record<string, string> = {};
  for (const [name, value] of withHost(resolved.headers, `mecha-alb-123578498.${resolved.region}.elb.amazonaws.com`)) headers[name.toLowerCase()] = value;
  const query: Record<string, string> = {};
  for (const pair of resolved.rawQuery.split("&").filter(Boolean)) {
    const equals = pair.indexOf("=");
    query[equals < 0 ? pair : pair.slice(0, equals)] = equals < 0 ? "" : pair.slice(equals + 1);
  }
  return {
    requestContext: {
      elb: { targetGroupArn: `arn:aws:elasticloadbalancing:${resolved.region}:${sampleAccount}:targetgroup/lambda-279XGJDqGZ5rsrHC2Fjr/49e9d65c45c6791a` },
    },
    httpMethod: resolved.method,
    path: resolved.path,
    queryStringParameters: query,
    headers,
    body: resolved.body ?? "",
    isBase64Encoded: false,
  };
}

function resolve(request: HttpSampleRequest): Request {
  const now = new Date();
  // Parsed as a URL, so that the path and query are encoded as a client sends them (a space as %20).
  const url = new URL(`https://sample.invalid${request.path ?? "/"}`);
  const body = request.body;
  const method = (request.method ?? (body === undefined ? "GET" : "POST")).toUpperCase();
  const sample: HeaderList = [
    ["Accept", "*/*"],
    ["User-Agent", userAgent],
    ["X-Amzn-Trace-Id", xrayTraceId(now)],
    ["X-Forwarded-For", sourceIp],
    ["X-Forwarded-Port", "443"],
    ["X-Forwarded-Proto", "https"],
  ];
  if (body !== undefined) {
    sample.push(["Content-Length", String(Buffer.byteLength(body))], ["Content-Type", isJson(body) ? "application/json" : "text/plain;charset=utf-8"]);
  }
  const given = new Set((request.headers ?? []).map(([name]) => name.toLowerCase()));
  return {
    method,
    path: url.pathname,
    rawQuery: url.search.slice(1),
    headers: [...sample.filter(([name]) => !given.has(name)), ...(request.headers ?? [])],
    body,
    region: request.region ?? defaultRegion,
    now,
  };
}

/** The headers with the service's `host` first, unless the request gave one. */
function withHost(headers: HeaderList, domainName: string): HeaderList {
  return headers.some(([name]) => name.toLowerCase() === "host") ? headers : [["Host", domainName], ...headers];
}

/** Query parameters, decoded, each with every value it was given. */
function queryValues(rawQuery: string): Map<string, string[]> {
  const values = new Map<string, string[]>();
  for (const [name, value] of new URLSearchParams(rawQuery)) values.set(name, [...(values.get(name) ?? []), value]);
  return values;
}

function decodedPath(path: string): string {
  try {
    return decodeURIComponent(path);
  } catch {
    return path;
  }
}

/** Whether a body is JSON text (and so sent as application/json). */
export function isJson(text: string): boolean {
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
}
