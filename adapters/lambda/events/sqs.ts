/**
 * SQS batches: `Records[].eventSource === "aws:sqs"`. One queue per subscription (DESIGN §4):
 * the queue's name, from `eventSourceARN`, names the subscription through the `queues` map.
 *
 * The wire: the `pubsub.aws.snssqs` component publishes to SNS with raw message delivery, so a
 * record's body is the published bytes themselves (a CloudEvent's JSON), with the content type in
 * the `contentType` message attribute. A body that is an SNS envelope (a subscription without
 * raw delivery) is unwrapped. Anything else is delivered as a raw payload.
 *
 * The answer is partial batch failure as data (the event source mapping needs
 * `ReportBatchItemFailures`): every record that was not acked by the time the handler answers is
 * in `batchItemFailures` — retried, unsettled, not yet run, or on a queue no subscription owns.
 * SQS makes a failed record visible again when its visibility timeout ends: that timeout, not
 * the subscription's backoff, is the delay before the redelivery.
 */
import type { SQSBatchItemFailure, SQSBatchResponse, SQSEvent, SQSRecord } from "aws-lambda";
import { defaultSubscriptionConcurrency } from "../../../src/blocks/pubsub.ts";
import type { App } from "../../../src/core/app.ts";
import { createDeliverer } from "../../../src/core/delivery.ts";
import type { Logger } from "../../../src/core/logger.ts";
import { arnResourceName, hasStrings, isObject, isString, recordsFrom, type JsonObject } from "../guards.ts";
import { parseJson, pushedMessage, textWire, type MessageWire, type PushedMessage } from "../inbound-message.ts";
import { isSnsEnvelope, snsWire } from "./sns.ts";

/** An SQS → Lambda event: every record with the fields the adapter reads. */
export function isSqsEvent(event: unknown): event is SQSEvent {
  const records = recordsFrom(event, "eventSource", "aws:sqs");
  return records !== undefined && records.every(isSqsRecord);
}

function isSqsRecord(record: JsonObject): boolean {
  return (
    hasStrings(record, "messageId", "receiptHandle", "body", "eventSourceARN") &&
    isObject(record.attributes) &&
    isString(record.attributes.ApproximateReceiveCount) &&
    isObject(record.messageAttributes)
  );
}

export interface SqsBatchRequest {
  app: App;
  event: SQSEvent;
  /** Queue name → the durable name of the subscription it feeds. */
  queues: Readonly<Record<string, string>>;
  logger: Logger;
  /**
   * When the answer must be given (epoch ms). Records still running then are reported as
   * failures, so a slow record is redelivered alone instead of the whole batch timing out.
   */
  answerBy?: number;
}

export async function processSqsBatch({ app, event, queues, logger, answerBy }: SqsBatchRequest): Promise<SQSBatchResponse> {
  const byQueue = groupBy(event.Records, (record) => arnResourceName(record.eventSourceARN));
  const acked = new Set<SQSRecord>();
  let answered = false;
  const work = Promise.all(
    [...byQueue].map(async ([queue, records]) => {
      const subscription = queues[queue];
      const plan = subscription === undefined ? undefined : app.subscriptions.find((p) => p.name === subscription);
      if (!plan) {
        // A queue this build knows nothing about: a deployment mismatch, not a message problem.
        // Its records fail (SQS redelivers them, then moves them to the queue's dead-letter queue).
        logger.error(`SQS queue "${queue}" feeds no subscription of this app; its ${records.length} record(s) fail`, {
          subscription,
          known: Object.keys(queues),
        });
        return;
      }
      const deliver = createDeliverer(app.runtime, plan);
      const run = async (record: SQSRecord): Promise<boolean> => {
        if (answered) return false;
        const message = toPushedMessage(record, plan.topic);
        await deliver(message);
        if (message.outcome === "acked") acked.add(record);
        return message.outcome === "acked";
      };
      if (queue.endsWith(".fifo")) await runFifo(records, run);
      else await runConcurrently(records, plan.concurrency ?? defaultSubscriptionConcurrency, run);
    }),
  );
  const finished = answerBy === undefined ? await work.then(() => "done" as const) : await settleBy(work, answerBy);
  // From here on no record starts: whatever has not been acked is reported, and redelivered.
  answered = true;
  if (finished === "late") {
    logger.warn("the invocation is about to time out; reporting the records not yet acked as failed", {
      unacked: event.Records.length - acked.size,
    });
  }
  const batchItemFailures: SQSBatchItemFailure[] = event.Records.filter((record) => !acked.has(record)).map((record) => ({
    itemIdentifier: record.messageId,
  }));
  return { batchItemFailures };
}

/** An SQS record as the pipeline's InboundMessage. */
function toPushedMessage(record: SQSRecord, topic: string): PushedMessage {
  return pushedMessage({ id: record.messageId, topic, wire: sqsWire(record), attempt: receiveCount(record) });
}

function sqsWire(record: SQSRecord): MessageWire {
  // Only a body that could be an envelope is parsed here; a CloudEvent is parsed once, later.
  if (record.body.trimStart().startsWith("{") && record.body.includes('"Notification"')) {
    const envelope = parseJson(record.body);
    if (isSnsEnvelope(envelope)) return snsWire(envelope.Message, envelope.MessageAttributes);
  }
  const attributes: Record<string, string> = {};
  for (const [name, attribute] of Object.entries(record.messageAttributes as Record<string, unknown>)) {
    // String and Number attributes (and their custom subtypes) carry text; Binary ones do not.
    if (isObject(attribute) && isString(attribute.stringValue) && isString(attribute.dataType) && !attribute.dataType.startsWith("Binary")) {
      attributes[name] = attribute.stringValue;
    }
  }
  return textWire(record.body, attributes);
}

/** `ApproximateReceiveCount` is 1 on the first receive, as the pipeline's `attempt` is. */
function receiveCount(record: SQSRecord): number {
  const count = Number(record.attributes.ApproximateReceiveCount);
  return Number.isInteger(count) && count >= 1 ? count : 1;
}

/** Runs records with at most `limit` in flight: a subscription's `concurrency` holds on Lambda too. */
async function runConcurrently(records: readonly SQSRecord[], limit: number, run: (record: SQSRecord) => Promise<boolean>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < records.length) await run(records[next++]!);
  };
  await Promise.all(Array.from({ length: Math.min(limit, records.length) }, worker));
}

/**
 * FIFO queues keep order within a message group: a group's records run one after another, and
 * after one fails the rest of its group are not run (they are reported as failed, so SQS
 * redelivers them in order after the failed one). Other groups carry on.
 */
async function runFifo(records: readonly SQSRecord[], run: (record: SQSRecord) => Promise<boolean>): Promise<void> {
  const groups = groupBy(records, (record) => record.attributes.MessageGroupId ?? "");
  await Promise.all(
    [...groups.values()].map(async (group) => {
      for (const record of group) if (!(await run(record))) return;
    }),
  );
}

/** `Map.groupBy` (Node 21+), keeping first-seen order of keys and of items. */
function groupBy<T>(items: readonly T[], key: (item: T) => string): Map<string, T[]> {
  const groups = new Map<string, T[]>();
  for (const item of items) {
    const k = key(item);
    const group = groups.get(k);
    if (group) group.push(item);
    else groups.set(k, [item]);
  }
  return groups;
}

/** Waits for `work` until the deadline: "done", or "late" when the deadline came first. */
async function settleBy(work: Promise<unknown>, deadline: number): Promise<"done" | "late"> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<"late">((resolve) => (timer = setTimeout(() => resolve("late"), Math.max(0, deadline - Date.now()))));
  try {
    return await Promise.race([work.then(() => "done" as const), late]);
  } finally {
    clearTimeout(timer);
  }
}
