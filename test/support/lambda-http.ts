/**
 * HTTP through a Lambda handler as API Gateway's HTTP API (payload 2.0) does it: a request becomes
 * the event `mecha events http` prints, the handler's result becomes a response. Plus a Lambda
 * context like `mecha invoke --target lambda` passes.
 */
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Context } from "aws-lambda";
import { httpApiEvent } from "../../src/cli/lambda-events/http.ts";
import { lambdaContext as cliLambdaContext } from "../../src/cli/lambda-events/run-handler.ts";
import { parityRequestInit, readParityResponse, type ParityResponse } from "../parity/driver.ts";

/** An HTTP API v2 event for a request, as API Gateway sends it to the `$default` route. */
export function lambdaHttpEvent(method: string, path: string, body?: string | object, headers: Record<string, string> = {}): APIGatewayProxyEventV2 {
  const init = parityRequestInit(method, body, headers);
  return httpApiEvent({ method, path, body: init.body as string | undefined, headers: Object.entries(init.headers as Record<string, string>) });
}

/** The handler's answer to an HTTP event, read like a fetch response. */
export function lambdaHttpResponse(result: APIGatewayProxyStructuredResultV2): Promise<ParityResponse> {
  const headers = new Headers();
  for (const [name, value] of Object.entries(result.headers ?? {})) headers.set(name, String(value));
  for (const cookie of result.cookies ?? []) headers.append("set-cookie", cookie);
  const text = result.body === undefined ? "" : result.isBase64Encoded ? Buffer.from(result.body, "base64").toString("utf8") : result.body;
  return readParityResponse({ status: result.statusCode ?? 200, headers, text: async () => text });
}

/** A Lambda context with a fresh request id and `timeoutMs` left. */
export function lambdaContext(timeoutMs = 30_000): Context {
  return cliLambdaContext({ functionName: "mecha-app", region: "us-east-1", memoryMb: 512, timeoutMs });
}
