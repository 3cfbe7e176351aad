/**
 * CloudEvents 1.0 envelopes with Dapr's extra fields, built and checked by the `cloudevents`
 * package (loaded on first publish), and the decoding of delivered bytes back into events.
 */
import { InvalidRequestError } from "../errors.ts";
import { base64ToBytes, bytesToBase64 } from "./base64.ts";
import type { TraceContext } from "./trace.ts";

/** A delivered event as a subscription handler sees it. */
export interface TopicEvent<T = unknown> {
  id: string;
  source: string;
  type: string;
  specversion: string;
  datacontenttype?: string;
  data: T;
  topic: string;
  pubsubname: string;
  time?: string;
  traceparent?: string;
  tracestate?: string;
  /** Any other CloudEvent attributes. */
  [attribute: string]: unknown;
}

export interface EnvelopeRequest {
  appId: string;
  pubsub: string;
  topic: string;
  data: unknown;
  contentType?: string;
  trace: TraceContext;
}

export const cloudEventContentType = "application/cloudevents+json";
const daprEventType = "com.dapr.event.sent";

let cloudEventsModule: Promise<typeof import("cloudevents")> | undefined;
/**
 * `cloudevents` is CommonJS. Its exports object is the namespace's `default` everywhere — Node's
 * loader, esbuild's interop, a code-split chunk of the Lambda bundle — while named exports are
 * only sometimes filled in, so the exports are read from `default` when there is one.
 */
const loadCloudEvents = () =>
  (cloudEventsModule ??= import("cloudevents").then((module) => (module as unknown as { default?: typeof module }).default ?? module));

/** Wraps data in a CloudEvent with Dapr's fields and returns its JSON bytes. */
export async function encodeEnvelope(request: EnvelopeRequest): Promise<Uint8Array> {
  const { CloudEvent } = await loadCloudEvents();
  const contentType = request.contentType ?? defaultContentType(request.data);
  const fields: Record<string, unknown> = {
    specversion: "1.0",
    source: request.appId,
    type: daprEventType,
    datacontenttype: contentType,
    topic: request.topic,
    pubsubname: request.pubsub,
    traceparent: request.trace.traceparent,
    traceid: request.trace.traceparent,
    ...(request.trace.tracestate ? { tracestate: request.trace.tracestate } : {}),
  };
  if (request.data instanceof Uint8Array) fields.data_base64 = bytesToBase64(request.data);
  else fields.data = request.data;
  const event = new CloudEvent(fields, true);
  return textEncoder.encode(JSON.stringify(event.toJSON()));
}

/**
 * A CloudEvent the publisher built itself (Dapr's `application/cloudevents+json` passthrough):
 * its own fields are kept; Dapr's routing fields (`topic`, `pubsubname`) are set; what CloudEvents
 * requires and the event lacks (`id`, `source`, `type`, `specversion`) and the trace context are
 * filled in, so that every subscriber can read it.
 */
export function completeCloudEvent(
  event: Record<string, unknown>,
  request: { appId: string; pubsub: string; topic: string; trace: TraceContext },
): Uint8Array {
  const completed: Record<string, unknown> = {
    id: crypto.randomUUID(),
    source: request.appId,
    type: daprEventType,
    specversion: "1.0",
    traceparent: request.trace.traceparent,
    traceid: request.trace.traceparent,
    ...(request.trace.tracestate ? { tracestate: request.trace.tracestate } : {}),
    ...event,
    topic: request.topic,
    pubsubname: request.pubsub,
  };
  return textEncoder.encode(JSON.stringify(completed));
}

/** The wire bytes of a raw (envelope-less) publish. */
export function encodeRaw(data: unknown): Uint8Array {
  if (data instanceof Uint8Array) return data;
  if (typeof data === "string") return textEncoder.encode(data);
  return textEncoder.encode(JSON.stringify(data));
}

export function defaultContentType(data: unknown): string {
  if (data instanceof Uint8Array) return "application/octet-stream";
  if (typeof data === "string") return "text/plain";
  return "application/json";
}

/**
 * Turns delivered bytes into an event. A CloudEvent is read as is; anything else (a raw
 * payload) is wrapped the way Dapr wraps raw payloads. Throws {@link InvalidRequestError}
 * for bytes that claim to be a CloudEvent and are not.
 */
export function decodeDelivery(input: {
  data: Uint8Array;
  contentType: string | undefined;
  topic: string;
  pubsub: string;
  messageId: string;
  rawPayload?: boolean;
}): TopicEvent {
  const text = textDecoder.decode(input.data);
  if (!input.rawPayload) {
    const parsed = tryParseJson(text);
    if (isCloudEvent(parsed)) return withData(parsed, input);
    if (input.contentType?.startsWith(cloudEventContentType)) {
      throw new InvalidRequestError(`message ${input.messageId} on topic "${input.topic}" is not a valid CloudEvent`);
    }
  }
  const json = input.contentType === undefined || input.contentType.includes("json") ? tryParseJson(text) : undefined;
  return {
    id: input.messageId,
    source: input.pubsub,
    type: daprEventType,
    specversion: "1.0",
    datacontenttype: input.contentType ?? "application/octet-stream",
    data: json === undefined ? (isText(input.contentType) ? text : input.data) : json,
    topic: input.topic,
    pubsubname: input.pubsub,
  };
}

function withData(event: Record<string, unknown>, input: { topic: string; pubsub: string }): TopicEvent {
  const data =
    typeof event.data_base64 === "string" ? base64ToBytes(event.data_base64) : event.data;
  const { data_base64: _ignored, ...rest } = event;
  return { topic: input.topic, pubsubname: input.pubsub, ...rest, data } as TopicEvent;
}

function isCloudEvent(value: unknown): value is Record<string, unknown> {
  if (typeof value !== "object" || value === null) return false;
  const v = value as Record<string, unknown>;
  return v.specversion === "1.0" && typeof v.id === "string" && typeof v.source === "string" && typeof v.type === "string";
}

function isText(contentType: string | undefined): boolean {
  return contentType !== undefined && (contentType.startsWith("text/") || contentType.includes("xml"));
}

function tryParseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

const textEncoder = new TextEncoder();
const textDecoder = new TextDecoder();
