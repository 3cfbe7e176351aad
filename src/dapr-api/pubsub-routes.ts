/**
 * Dapr's publish API: `POST /v1.0/publish/{pubsub}/{topic}` (the body becomes a CloudEvent's data;
 * a body sent as `application/cloudevents+json` is the publisher's own CloudEvent, completed and
 * passed through; `metadata.rawPayload=true` skips the envelope) and bulk publish, which answers
 * the entries that failed as `failedEntries`.
 */
import type { Context as HonoContext, Hono } from "hono";
import { cloudEventContentType, completeCloudEvent } from "../core/cloudevent.ts";
import type { PublishOptions } from "../core/context.ts";
import { continueTrace, type TraceContext } from "../core/trace.ts";
import { answerFailureAs, type ApiDeps } from "./context.ts";
import { DaprApiError, DaprErrorCodes, malformed, toDaprApiError } from "./errors.ts";
import { isTruthy } from "../config/metadata.ts";
import { asObject, asStringMap, optionalString, queryMetadata, readJson } from "./request.ts";

export function mountPubSubRoutes(api: Hono, deps: ApiDeps): void {
  const { runtime } = deps;
  const target = (c: HonoContext): { pubsub: string; topic: string } => {
    const pubsub = c.req.param("pubsub")!;
    deps.components.require("pubsub", pubsub);
    const topic = c.req.param("topic") ?? "";
    if (!topic) throw new DaprApiError(404, DaprErrorCodes.topicEmpty, `topic is empty in pubsub ${pubsub}`);
    return { pubsub, topic };
  };
  const traceOf = (c: HonoContext) => continueTrace(c.req.header("traceparent"), c.req.header("tracestate"));

  /** Publishes one message: a complete CloudEvent, a raw payload, or data to wrap in one. */
  const publishOne = (pubsub: string, topic: string, message: OutgoingMessage, trace: TraceContext) => {
    const options: PublishOptions = { metadata: message.metadata };
    if (message.cloudEvent) {
      const bytes = completeCloudEvent(message.cloudEvent, { appId: runtime.appId, pubsub, topic, trace });
      return runtime.publish(pubsub, topic, bytes, { ...options, rawPayload: true, contentType: cloudEventContentType }, trace);
    }
    return runtime.publish(pubsub, topic, message.data, { ...options, rawPayload: message.raw, contentType: message.contentType }, trace);
  };

  // Bulk first: a pub/sub named "bulk" must not swallow Dapr's v1.0 bulk route.
  for (const prefix of ["/v1.0-alpha1/publish/bulk", "/v1.0/publish/bulk"]) {
    api.on(["POST", "PUT"], [`${prefix}/:pubsub`, `${prefix}/:pubsub/:topic{.+}`], async (c) => {
      const { pubsub, topic } = target(c);
      // Refused as a whole, before any entry is published, as daprd does.
      await answerFailureAs(DaprErrorCodes.pubsubPublish, async () => runtime.assertMayPublish(pubsub, topic));
      const shared = queryMetadata(c);
      const raw = isTruthy(shared["rawPayload"]);
      const entries = await readJson(c).catch((error: DaprApiError) => {
        throw new DaprApiError(400, DaprErrorCodes.pubsubEvents, `error when unmarshaling the request for topic ${topic} pubsub ${pubsub}: ${error.message}`);
      });
      if (!Array.isArray(entries)) throw new DaprApiError(400, DaprErrorCodes.pubsubEvents, "the request body must be a JSON array of entries");
      const messages = bulkEntries(entries, shared, raw, topic, pubsub);
      const trace = traceOf(c);
      const outcomes = await Promise.allSettled(messages.map(({ message }) => publishOne(pubsub, topic, message, trace)));
      const failedEntries = outcomes.flatMap((outcome, i) =>
        outcome.status === "rejected" ? [{ entryId: messages[i]!.entryId, error: toDaprApiError(outcome.reason, DaprErrorCodes.pubsubPublish).message }] : [],
      );
      if (failedEntries.length === 0) return c.body(null, 204);
      return c.json({ failedEntries, errorCode: DaprErrorCodes.pubsubPublish }, 500);
    });
  }

  api.on(["POST", "PUT"], ["/v1.0/publish/:pubsub", "/v1.0/publish/:pubsub/:topic{.+}"], async (c) => {
    const { pubsub, topic } = target(c);
    const metadata = queryMetadata(c);
    const contentType = c.req.header("content-type") || undefined;
    const body = new Uint8Array(await c.req.arrayBuffer());
    const message = isTruthy(metadata["rawPayload"])
      ? { raw: true, data: body, contentType: contentType ?? "application/octet-stream", metadata }
      : isCloudEventType(contentType)
        ? { cloudEvent: parseCloudEvent(body, topic, pubsub), metadata }
        : { ...envelopeData(body, contentType), metadata };
    await answerFailureAs(DaprErrorCodes.pubsubPublish, () => publishOne(pubsub, topic, message, traceOf(c)));
    return c.body(null, 204);
  });
}

interface OutgoingMessage {
  cloudEvent?: Record<string, unknown>;
  raw?: boolean;
  data?: unknown;
  contentType?: string;
  metadata?: Record<string, string>;
}

const isCloudEventType = (contentType: string | undefined) => contentType?.toLowerCase().startsWith(cloudEventContentType) ?? false;
const isJsonType = (contentType: string) => /[/+]json\b/i.test(contentType);
const isTextType = (contentType: string) => /^text\//i.test(contentType) || /[/+]xml\b/i.test(contentType);

/**
 * The data of an envelope from a body and its content type, as Dapr embeds it: JSON as JSON (text
 * that is not valid JSON as a string), text as a string, anything else as bytes (`data_base64`).
 * With no content type, JSON if it parses, otherwise text.
 */
function envelopeData(body: Uint8Array, contentType: string | undefined): { data: unknown; contentType: string } {
  if (contentType === undefined || isJsonType(contentType) || isTextType(contentType)) {
    const text = textDecoder.decode(body);
    if (contentType === undefined || isJsonType(contentType)) {
      try {
        return { data: JSON.parse(text), contentType: contentType ?? "application/json" };
      } catch {
        return { data: text, contentType: contentType ?? "text/plain" };
      }
    }
    return { data: text, contentType };
  }
  return { data: body, contentType };
}

function parseCloudEvent(body: Uint8Array, topic: string, pubsub: string): Record<string, unknown> {
  let event: unknown;
  try {
    event = JSON.parse(textDecoder.decode(body));
  } catch {
    event = undefined;
  }
  return checkedCloudEvent(event, `the body for topic ${topic} pubsub ${pubsub}`);
}

/** A publisher's CloudEvent: a JSON object whose required attributes, where given, are usable. */
function checkedCloudEvent(event: unknown, what: string): Record<string, unknown> {
  const invalid = (reason: string) => new DaprApiError(400, DaprErrorCodes.pubsubCloudEvents, `cannot create cloudevent: ${what} ${reason}`);
  if (typeof event !== "object" || event === null || Array.isArray(event)) throw invalid("is not a JSON object");
  const fields = event as Record<string, unknown>;
  for (const attribute of ["id", "source", "type"]) {
    if (attribute in fields && (typeof fields[attribute] !== "string" || fields[attribute] === "")) throw invalid(`has a ${attribute} that is not a non-empty string`);
  }
  if ("specversion" in fields && fields["specversion"] !== "1.0") throw invalid(`has specversion ${JSON.stringify(fields["specversion"])}; only "1.0" is supported`);
  return fields;
}

function bulkEntries(
  entries: unknown[],
  shared: Record<string, string>,
  raw: boolean,
  topic: string,
  pubsub: string,
): Array<{ entryId: string; message: OutgoingMessage }> {
  const seen = new Set<string>();
  return entries.map((value, i) => {
    const what = `entries[${i}]`;
    const entry = asObject(value, what);
    const entryId = entry["entryId"];
    if (typeof entryId !== "string" || entryId === "" || seen.has(entryId)) {
      throw new DaprApiError(400, DaprErrorCodes.pubsubEvents, `error marshaling events to bytes for topic ${topic} pubsub ${pubsub}. error: entryId is duplicated or not present for entry ${i}`);
    }
    seen.add(entryId);
    if (!("event" in entry)) throw malformed(`${what}: event is required`);
    const contentType = optionalString(entry["contentType"], `${what}.contentType`) || undefined;
    const metadata = { ...shared, ...asStringMap(entry["metadata"], `${what}.metadata`) };
    const event = entry["event"];
    if (raw) return { entryId, message: { raw: true, data: event, contentType, metadata } };
    if (isCloudEventType(contentType)) return { entryId, message: { cloudEvent: checkedCloudEvent(event, what), metadata } };
    if (contentType && !isJsonType(contentType) && typeof event !== "string") {
      throw new DaprApiError(400, DaprErrorCodes.pubsubEvents, `${what}: an event of content type ${contentType} must be a string`);
    }
    return { entryId, message: { data: event, contentType: contentType ?? (typeof event === "string" ? "text/plain" : "application/json"), metadata } };
  });
}

const textDecoder = new TextDecoder();
