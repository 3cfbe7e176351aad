/** A Cloudflare Queue message as the core's InboundMessage: per-message ack and delayed retry. */
import type { Message } from "@cloudflare/workers-types/index.ts";
import { isQueuedMessageBody, type InboundMessage } from "../../src/blocks/pubsub.ts";

/** Queues cannot delay a retry longer than 12 hours. */
const maxRetryDelaySeconds = 43_200;
const encoder = new TextEncoder();

/** An InboundMessage that knows whether the pipeline settled it. */
export interface QueueInboundMessage extends InboundMessage {
  /** True once `ack()` or `retry()` was called. */
  readonly settled: boolean;
}

/**
 * Wraps a queue message. A body mecha did not write (sent by another producer) is delivered as a
 * raw payload — JSON for structured values, text for strings, bytes for binary — rather than
 * dropped: the subscriber decides what it means.
 */
export function toInboundMessage(message: Message<unknown>, topic: string): QueueInboundMessage {
  const body = message.body;
  let settled = false;
  const wire = isQueuedMessageBody(body)
    ? { data: body.data, contentType: body.contentType, metadata: body.metadata ?? {} }
    : rawWire(body);
  return {
    id: message.id,
    topic,
    data: wire.data,
    contentType: wire.contentType,
    metadata: wire.metadata,
    attempt: message.attempts,
    get settled() {
      return settled;
    },
    async ack() {
      settled = true;
      message.ack();
    },
    async retry(delayMs) {
      settled = true;
      message.retry({ delaySeconds: Math.min(maxRetryDelaySeconds, Math.max(0, Math.ceil(delayMs / 1000))) });
    },
  };
}

function rawWire(body: unknown): { data: Uint8Array; contentType: string; metadata: Record<string, string> } {
  if (body instanceof Uint8Array) return { data: body, contentType: "application/octet-stream", metadata: {} };
  if (body instanceof ArrayBuffer) return { data: new Uint8Array(body), contentType: "application/octet-stream", metadata: {} };
  if (typeof body === "string") return { data: encoder.encode(body), contentType: "text/plain", metadata: {} };
  return { data: encoder.encode(JSON.stringify(body ?? null)), contentType: "application/json", metadata: {} };
}
