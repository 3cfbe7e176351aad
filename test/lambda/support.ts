/**
 * Fixtures for the Lambda adapter's tests: AWS events from test/lambda/events (complete, as AWS
 * sends them), a Lambda context, and an app built from inline function modules with in-memory
 * components — the real core, no mocks.
 */
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import type { Context, SQSEvent, SQSRecord } from "aws-lambda";
import type { InboundMessage } from "../../src/blocks/pubsub.ts";
import { createLambdaHandler, type LambdaHandler, type LambdaHandlerOptions } from "../../adapters/lambda/index.ts";
import { lambdaContext as cliLambdaContext } from "../../src/cli/lambda-events/run-handler.ts";
import { componentCatalog } from "../../src/components/catalog.ts";
import type { ComponentSpec } from "../../src/config/types.ts";
import { createConsoleLogger } from "../../src/core/logger.ts";
import type { FunctionModule } from "../../src/core/registry.ts";

/** A fresh copy of an event fixture, so a test can change it freely. */
export function loadEvent<T = Record<string, any>>(name: string): T {
  return JSON.parse(readFileSync(new URL(`./events/${name}.json`, import.meta.url), "utf8")) as T;
}

/** A Lambda context with `remainingMs` left before the invocation times out. */
export function lambdaContext(remainingMs = 30_000): Context {
  return cliLambdaContext({ functionName: "qt-app", region: "us-east-2", memoryMb: 1024, timeoutMs: remainingMs });
}

export const component = (name: string, type: string, metadata: ComponentSpec["metadata"] = []): ComponentSpec => ({
  name,
  type,
  version: "v1",
  metadata,
  scopes: [],
});

/** The components most tests use: an in-memory state store "kv" and pub/sub "bus". */
export const defaultComponents = [component("kv", "state.in-memory"), component("bus", "pubsub.in-memory")];

export interface LogLine {
  level: string;
  msg: string;
  [field: string]: unknown;
}

export interface TestApp {
  handler: LambdaHandler;
  /** Every line the app logged, parsed. */
  logs: LogLine[];
}

/** A Lambda handler for inline function modules, logging into `logs`. */
export function lambdaApp(
  modules: FunctionModule[],
  options: Partial<Omit<LambdaHandlerOptions, "modules" | "logger">> & { components?: ComponentSpec[] } = {},
): TestApp {
  const logs: LogLine[] = [];
  const { components = defaultComponents, ...rest } = options;
  const handler = createLambdaHandler({
    appId: "qt",
    modules,
    resources: { components, subscriptions: [] },
    catalog: componentCatalog,
    queues: {},
    env: {},
    logger: createConsoleLogger({ format: "json", level: "debug", write: (_level, line) => logs.push(JSON.parse(line) as LogLine) }),
    ...rest,
  });
  return { handler, logs };
}

const cloudEvent = (id: string, data: unknown) =>
  JSON.stringify({
    specversion: "1.0",
    id,
    source: "qt",
    type: "com.dapr.event.sent",
    datacontenttype: "application/json",
    topic: "jobs",
    pubsubname: "bus",
    traceparent: "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
    traceid: "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
    time: "2024-03-14T09:26:53.589Z",
    data,
  });

export interface SqsRecordInit {
  /** The CloudEvent's data; ignored when `body` is given. */
  data?: unknown;
  /** The raw body, as another producer might have sent it (no contentType attribute then). */
  body?: string;
  queue?: string;
  receiveCount?: number;
  messageGroupId?: string;
}

/**
 * SQS records like the fixture's (raw delivery from SNS of a CloudEvent), each with its own
 * message id, receipt handle and body.
 */
export function sqsEvent(records: SqsRecordInit[]): SQSEvent {
  const template = loadEvent<SQSEvent>("sqs-raw-delivery").Records[0]!;
  return {
    Records: records.map((init, i): SQSRecord => {
      const messageId = crypto.randomUUID();
      const body = init.body ?? cloudEvent(crypto.randomUUID(), init.data ?? { n: String(i) });
      const queue = init.queue ?? "qt-jobs-strict";
      const record: SQSRecord = {
        ...template,
        messageId,
        receiptHandle: `${template.receiptHandle.slice(0, 40)}${Buffer.from(messageId).toString("base64")}`,
        body,
        md5OfBody: createHash("md5").update(body).digest("hex"),
        attributes: {
          ...template.attributes,
          ApproximateReceiveCount: String(init.receiveCount ?? 1),
          ...(init.messageGroupId ? { MessageGroupId: init.messageGroupId, SequenceNumber: String(18_850_000_000_000_000_000 + i), MessageDeduplicationId: messageId } : {}),
        },
        messageAttributes: init.body === undefined ? template.messageAttributes : {},
        eventSourceARN: `arn:aws:sqs:us-east-2:123456789012:${queue}`,
      };
      if (init.body !== undefined) delete record.md5OfMessageAttributes;
      return record;
    }),
  };
}

/** A promise and the function that resolves it, for handlers a test holds open. */
export function gate(): { opened: Promise<void>; open: () => void } {
  let open!: () => void;
  const opened = new Promise<void>((resolve) => (open = resolve));
  return { opened, open };
}

/** What a topic of the app's `bus` receives, acked as it arrives (dead letters, say). */
export async function observeTopic(handler: LambdaHandler, topic: string): Promise<{ messages: InboundMessage[]; close(): Promise<void> }> {
  const messages: InboundMessage[] = [];
  const bus = await handler.app().runtime.pubsub("bus");
  const observer = await bus.subscribe({
    topic,
    subscription: "observer",
    deliver: async (message) => {
      messages.push(message);
      await message.ack();
    },
  });
  return { messages, close: () => observer.close() };
}
