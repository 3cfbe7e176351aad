/**
 * A message pushed to Lambda (an SQS record, an SNS notification) as the core's InboundMessage.
 * Lambda settles push deliveries by the handler's answer, not by calls: so `ack()` and `retry()`
 * only record the outcome, and the adapter turns the outcomes into the platform's answer
 * (`batchItemFailures` for SQS, a thrown error for SNS).
 */
import type { InboundMessage } from "../../src/blocks/pubsub.ts";

/** The published bytes of a message, as the pub/sub component wrote them. */
export interface MessageWire {
  data: Uint8Array;
  contentType: string | undefined;
  metadata: Record<string, string>;
}

/** An InboundMessage that remembers how the pipeline settled it. */
export interface PushedMessage extends InboundMessage {
  /**
   * `"acked"` once the pipeline acked it (handled, dropped or dead-lettered), `"retry"` when it
   * asked for a redelivery, `undefined` while unsettled — which, when the adapter answers, means
   * the pipeline could not settle it (its dead-letter publish failed) and it must be redelivered.
   */
  readonly outcome: "acked" | "retry" | undefined;
}

export interface PushedMessageInit {
  id: string;
  topic: string;
  wire: MessageWire;
  attempt: number;
}

export function pushedMessage(init: PushedMessageInit): PushedMessage {
  let outcome: PushedMessage["outcome"];
  return {
    id: init.id,
    topic: init.topic,
    data: init.wire.data,
    contentType: init.wire.contentType,
    metadata: init.wire.metadata,
    attempt: init.attempt,
    get outcome() {
      return outcome;
    },
    async ack() {
      outcome = "acked";
    },
    // The delay cannot be honoured here: SQS redelivers a failed record when its visibility
    // timeout ends, and SNS/Lambda retry asynchronous invocations on their own schedule.
    async retry() {
      outcome = "retry";
    },
  };
}

const encoder = new TextEncoder();
const contentTypeAttribute = "contentType";

/**
 * The wire of a text message body (SQS bodies and SNS messages are text). The `contentType`
 * message attribute says what the bytes are; without one, a body that parses as JSON is JSON
 * and anything else is text — a producer other than mecha wrote it, and the subscriber gets it
 * as a raw payload rather than losing it. Other string attributes become the metadata.
 */
export function textWire(body: string, attributes: Readonly<Record<string, string>>): MessageWire {
  const { [contentTypeAttribute]: contentType, ...metadata } = attributes;
  return {
    data: encoder.encode(body),
    contentType: contentType ?? (parseJson(body) === undefined ? "text/plain" : "application/json"),
    metadata,
  };
}

/** JSON.parse that answers `undefined` for text that is not JSON. */
export function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
