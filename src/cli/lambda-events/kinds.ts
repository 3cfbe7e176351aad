/**
 * The sample events `mecha events` prints, one kind per trigger the Lambda adapter handles, and
 * the options each kind reads. Every sample is complete and real-shaped — what the service sends,
 * with fresh ids and times — so that it passes the adapter's guards as a real event would.
 *
 * @example
 * const event = await sampleEvent("sqs", { queue: "shop-orders-onPlaced", messages: [{ kind: "cloudevent", data: { id: "42" } }] });
 */
import { defaults } from "../args.ts";
import { albEvent, functionUrlEvent, httpApiEvent, restApiEvent, type HttpSampleRequest } from "./http.ts";
import { snsEvent, sqsEvent, type SampleMessage } from "./messages.ts";
import { s3Event } from "./s3.ts";
import { scheduledEvent } from "./schedule.ts";

/** Everything a sample can be given; each kind reads the fields its `options` name. */
export interface SampleEventRequest {
  region?: string;
  /** HTTP kinds. */
  http?: HttpSampleRequest;
  /** `sqs`, `sns`: the messages, one record each. Default: one CloudEvent with {@link sampleData}. */
  messages?: readonly SampleMessage[];
  /** `sqs`, `sns`: the CloudEvent's source. */
  appId?: string;
  /** `sqs`, `sns`: the CloudEvent's pub/sub component. */
  pubsub?: string;
  /** `sqs`, `sns`: the CloudEvent's topic; for `sns`, also the SNS topic's. */
  topic?: string;
  /** `sqs`: the queue the records come from. */
  queue?: string;
  /** `schedule`: the EventBridge rule. */
  rule?: string;
  /** `s3-*`: the bucket, the object key (not encoded) and, for `s3-put`, its size. */
  bucket?: string;
  key?: string;
  size?: number;
}

/** The CLI options a kind reads, besides `--region`. */
export type SampleOption =
  | "method"
  | "path"
  | "header"
  | "body"
  | "data"
  | "topic"
  | "pubsub"
  | "app-id"
  | "queue"
  | "subscription"
  | "rule"
  | "bucket"
  | "key"
  | "size";

/** One kind of sample: what it is, what it reads, how it is made. */
export interface EventKind {
  /** One line for `mecha events --list`. */
  description: string;
  options: readonly SampleOption[];
  build(request: SampleEventRequest): object | Promise<object>;
}

/** A message's data when none is given: the order the examples use. */
export const sampleData = { id: "42", item: "tea", quantity: 1 } as const;

/** Defaults of the samples, where the user gives nothing. */
export const sampleDefaults = {
  appId: defaults.appId,
  pubsub: "pubsub",
  topic: "orders",
  queue: "mecha-app-orders-handler",
  rule: "mecha-app-jobs.nightly",
  bucket: "mecha-uploads",
  key: "incoming/my file(1).txt",
} as const;

const httpOptions = ["method", "path", "header", "body"] as const satisfies readonly SampleOption[];
const messageOptions = ["body", "data", "topic", "pubsub", "app-id"] as const satisfies readonly SampleOption[];

const messagesOf = (request: SampleEventRequest): readonly SampleMessage[] =>
  request.messages?.length ? request.messages : [{ kind: "cloudevent", data: sampleData }];

const origin = (request: SampleEventRequest) => ({
  appId: request.appId ?? sampleDefaults.appId,
  pubsub: request.pubsub ?? sampleDefaults.pubsub,
  topic: request.topic ?? sampleDefaults.topic,
});

const http = (request: SampleEventRequest): HttpSampleRequest => ({ ...request.http, ...(request.region ? { region: request.region } : {}) });

const s3Object = (request: SampleEventRequest) => ({ bucket: request.bucket ?? sampleDefaults.bucket, key: request.key ?? sampleDefaults.key });

/** Every kind, in the order `--list` shows them. */
export const eventKinds = {
  http: {
    description: "API Gateway HTTP API request (payload 2.0), as the routes `mecha build` makes send",
    options: httpOptions,
    build: (request) => httpApiEvent(http(request)),
  },
  "http-v1": {
    description: "API Gateway REST API request (payload 1.0, a /{proxy+} resource)",
    options: httpOptions,
    build: (request) => restApiEvent(http(request)),
  },
  "function-url": {
    description: "Lambda Function URL request (payload 2.0 on a lambda-url domain)",
    options: httpOptions,
    build: (request) => functionUrlEvent(http(request)),
  },
  alb: {
    description: "Application Load Balancer request",
    options: httpOptions,
    build: (request) => albEvent(http(request)),
  },
  sqs: {
    description: "SQS batch from a subscription's queue (CloudEvents from pubsub.aws.snssqs)",
    options: [...messageOptions, "queue", "subscription"],
    build: (request) =>
      sqsEvent({ ...origin(request), queue: request.queue ?? sampleDefaults.queue, messages: messagesOf(request), region: request.region }),
  },
  sns: {
    description: "SNS notification sent to the function directly",
    options: messageOptions,
    build: (request) => snsEvent({ ...origin(request), messages: messagesOf(request), region: request.region }),
  },
  schedule: {
    description: "EventBridge scheduled rule firing (a cron function)",
    options: ["rule"],
    build: (request) => scheduledEvent({ rule: request.rule ?? sampleDefaults.rule, region: request.region }),
  },
  "s3-put": {
    description: "S3 notification: an object was created by a PUT",
    options: ["bucket", "key", "size"],
    build: (request) => s3Event({ event: "put", ...s3Object(request), size: request.size, region: request.region }),
  },
  "s3-delete": {
    description: "S3 notification: an object was deleted",
    options: ["bucket", "key"],
    build: (request) => s3Event({ event: "delete", ...s3Object(request), region: request.region }),
  },
} as const satisfies Record<string, EventKind>;

/** `http`, `sqs`, `s3-put`, … */
export type EventKindName = keyof typeof eventKinds;

/** Whether a name (as typed on the command line) is a kind. */
export function isEventKind(name: string): name is EventKindName {
  return Object.hasOwn(eventKinds, name);
}

/** A fresh sample event of a kind. */
export async function sampleEvent(kind: EventKindName, request: SampleEventRequest = {}): Promise<object> {
  const entry: EventKind = eventKinds[kind];
  return entry.build(request);
}
