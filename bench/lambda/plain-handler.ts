/**
 * The baseline: a Lambda handler written by hand, no mecha, bundled with the same esbuild
 * settings. It answers what the bench app answers — an HTTP API (payload v2) `GET /ping` with
 * JSON, and an SQS batch whose CloudEvent bodies go to a no-op, answered with
 * `batchItemFailures` — and reads an order from DynamoDB through a lazily imported client, as the
 * example app's state store does, so that its package has the SDK in a lazy chunk too.
 *
 * What it leaves out, and mecha does: strict guards per event shape (a field check here),
 * routing beyond two paths, CloudEvent checks, subscription routing by queue, retries with
 * backoff and dead-lettering, per-subscription concurrency, answering a batch before the
 * invocation times out, trace context and structured logs — and the example app's SNS, S3 and
 * secret-store work.
 */
import type { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, SQSBatchItemFailure, SQSBatchResponse, SQSEvent } from "aws-lambda";
import { countNoopCall } from "./noop-counter.ts";

export async function handler(event: APIGatewayProxyEventV2 | SQSEvent): Promise<APIGatewayProxyStructuredResultV2 | SQSBatchResponse> {
  return "Records" in event ? processBatch(event) : route(event);
}

async function processBatch(event: SQSEvent): Promise<SQSBatchResponse> {
  const batchItemFailures: SQSBatchItemFailure[] = [];
  for (const record of event.Records) {
    try {
      await noop(JSON.parse(record.body));
    } catch {
      batchItemFailures.push({ itemIdentifier: record.messageId });
    }
  }
  return { batchItemFailures };
}

async function noop(_event: unknown): Promise<void> {
  countNoopCall();
}

async function route(event: APIGatewayProxyEventV2): Promise<APIGatewayProxyStructuredResultV2> {
  const { method, path } = event.requestContext.http;
  if (method === "GET" && path === "/ping") return json(200, { ok: true });
  const order = /^\/orders\/([^/]+)$/.exec(path);
  if (method === "GET" && order) {
    const { GetItemCommand } = await import("@aws-sdk/client-dynamodb");
    const { Item } = await (await dynamo()).send(new GetItemCommand({ TableName: "mecha-orders", Key: { key: { S: order[1]! } } }));
    return Item?.value?.S ? json(200, JSON.parse(Item.value.S)) : json(404, { error: "not found" });
  }
  return json(404, { error: "not found" });
}

let client: Promise<DynamoDBClient> | undefined;
const dynamo = () => (client ??= import("@aws-sdk/client-dynamodb").then(({ DynamoDBClient }) => new DynamoDBClient({})));

const json = (statusCode: number, body: unknown): APIGatewayProxyStructuredResultV2 => ({
  statusCode,
  headers: { "content-type": "application/json" },
  body: JSON.stringify(body),
});
