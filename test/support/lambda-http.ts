/**
 * HTTP through a Lambda handler as API Gateway's HTTP API (payload format 2.0) does it: a request
 * becomes a complete v2 event, the handler's result becomes a response. Plus a Lambda context.
 */
import { randomUUID } from "node:crypto";
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Context } from "aws-lambda";
import { parityRequestInit, readParityResponse, type ParityResponse } from "../parity/driver.ts";

/** An HTTP API v2 event for a request, as API Gateway sends it to a `$default` or matching route. */
export function lambdaHttpEvent(method: string, pathWithQuery: string, body?: string | object, headers: Record<string, string> = {}): APIGatewayProxyEventV2 {
  const init = parityRequestInit(method, body, headers);
  const [rawPath, rawQueryString = ""] = pathWithQuery.split("?", 2) as [string, string?];
  const requestHeaders: Record<string, string> = { host: "abc123.execute-api.us-east-1.amazonaws.com", "user-agent": "mecha-test", ...(init.headers as Record<string, string>) };
  const payload = init.body as string | undefined;
  const query = new URLSearchParams(rawQueryString);
  const now = new Date();
  return {
    version: "2.0",
    routeKey: "$default",
    rawPath,
    rawQueryString,
    headers: Object.fromEntries(Object.entries(requestHeaders).map(([name, value]) => [name.toLowerCase(), value])),
    ...(rawQueryString ? { queryStringParameters: Object.fromEntries(query) } : {}),
    requestContext: {
      accountId: "123456789012",
      apiId: "abc123",
      domainName: "abc123.execute-api.us-east-1.amazonaws.com",
      domainPrefix: "abc123",
      http: { method: method.toUpperCase(), path: rawPath, protocol: "HTTP/1.1", sourceIp: "203.0.113.7", userAgent: "mecha-test" },
      requestId: randomUUID(),
      routeKey: "$default",
      stage: "$default",
      time: now.toUTCString(),
      timeEpoch: now.getTime(),
    },
    ...(payload === undefined ? {} : { body: Buffer.from(payload).toString("base64") }),
    isBase64Encoded: payload !== undefined,
  };
}

/** The handler's answer to an HTTP event, read like a fetch response. */
export function lambdaHttpResponse(result: APIGatewayProxyStructuredResultV2): Promise<ParityResponse> {
  const headers = new Headers();
  for (const [name, value] of Object.entries(result.headers ?? {})) headers.set(name, String(value));
  for (const cookie of result.cookies ?? []) headers.append("set-cookie", cookie);
  const text = result.body === undefined ? "" : result.isBase64Encoded ? Buffer.from(result.body, "base64").toString("utf8") : result.body;
  return readParityResponse({ status: result.statusCode ?? 200, headers, text: async () => text });
}

/** A Lambda context with a fresh request id and the given time left. */
export function lambdaContext(timeoutMs = 30_000): Context {
  const deadline = Date.now() + timeoutMs;
  return {
    callbackWaitsForEmptyEventLoop: true,
    functionName: "mecha-app",
    functionVersion: "$LATEST",
    invokedFunctionArn: "arn:aws:lambda:us-east-1:123456789012:function:mecha-app",
    memoryLimitInMB: "512",
    awsRequestId: randomUUID(),
    logGroupName: "/aws/lambda/mecha-app",
    logStreamName: "2026/11/22/[$LATEST]0123456789abcdef",
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
    done: () => {},
    fail: () => {},
    succeed: () => {},
  };
}
