/**
 * What Lambda's SQS event source mapping does, against an emulator: long-poll a queue, hand the
 * messages to the handler as an SQS event with real-shaped records, delete the records the
 * handler did not report in `batchItemFailures`, and leave the others to come back when their
 * visibility timeout ends. So the handler sees exactly the messages the queue holds.
 */
import { DeleteMessageCommand, ReceiveMessageCommand, type Message, type SQSClient } from "@aws-sdk/client-sqs";
import type { SQSBatchResponse, SQSRecord } from "aws-lambda";

export interface EventSourceOptions {
  sqs: SQSClient;
  queue: { url: string; arn: string };
  batchSize: number;
  region: string;
  handler: (event: { Records: SQSRecord[] }) => Promise<unknown>;
  /** Called with each error the poller meets (the poller keeps going). */
  onError?: (error: unknown) => void;
}

/** A running mapping; `stop()` ends the polling and waits for the batch in hand. */
export interface EventSource {
  /** Batches handed to the handler so far. */
  readonly batches: number;
  stop(): Promise<void>;
}

export function startSqsEventSource(options: EventSourceOptions): EventSource {
  const abort = new AbortController();
  let batches = 0;
  const loop = (async () => {
    while (!abort.signal.aborted) {
      try {
        const { Messages = [] } = await options.sqs.send(
          new ReceiveMessageCommand({
            QueueUrl: options.queue.url,
            MaxNumberOfMessages: options.batchSize,
            WaitTimeSeconds: 1,
            MessageSystemAttributeNames: ["All"],
            MessageAttributeNames: ["All"],
          }),
          { abortSignal: abort.signal },
        );
        if (!Messages.length) continue;
        batches++;
        const records = Messages.map((message) => toRecord(message, options));
        const answer = (await options.handler({ Records: records })) as SQSBatchResponse | undefined;
        const failed = new Set((answer?.batchItemFailures ?? []).map((failure) => failure.itemIdentifier));
        for (const message of Messages) {
          if (!failed.has(message.MessageId!)) await options.sqs.send(new DeleteMessageCommand({ QueueUrl: options.queue.url, ReceiptHandle: message.ReceiptHandle! }));
        }
      } catch (error) {
        if (abort.signal.aborted) break;
        options.onError?.(error);
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
    }
  })();
  return {
    get batches() {
      return batches;
    },
    async stop() {
      abort.abort();
      await loop;
    },
  };
}

/** A received message as Lambda's SQS record. */
function toRecord(message: Message, options: EventSourceOptions): SQSRecord {
  const attributes = message.Attributes ?? {};
  return {
    messageId: message.MessageId!,
    receiptHandle: message.ReceiptHandle!,
    body: message.Body ?? "",
    attributes: {
      ApproximateReceiveCount: attributes.ApproximateReceiveCount ?? "1",
      SentTimestamp: attributes.SentTimestamp ?? String(Date.now()),
      SenderId: attributes.SenderId ?? "AIDAEMULATOR",
      ApproximateFirstReceiveTimestamp: attributes.ApproximateFirstReceiveTimestamp ?? String(Date.now()),
    },
    messageAttributes: Object.fromEntries(
      Object.entries(message.MessageAttributes ?? {}).map(([name, value]) => [
        name,
        {
          stringValue: value.StringValue,
          binaryValue: value.BinaryValue ? Buffer.from(value.BinaryValue).toString("base64") : undefined,
          stringListValues: [],
          binaryListValues: [],
          dataType: value.DataType ?? "String",
        },
      ]),
    ),
    md5OfBody: message.MD5OfBody ?? "",
    ...(message.MD5OfMessageAttributes ? { md5OfMessageAttributes: message.MD5OfMessageAttributes } : {}),
    eventSource: "aws:sqs",
    eventSourceARN: options.queue.arn,
    awsRegion: options.region,
  } as SQSRecord;
}
