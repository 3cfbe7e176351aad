/**
 * Sample message events: an SQS batch and an SNS notification, one record per message. A
 * message is either a CloudEvent — the bytes mecha's publisher writes, with the
 * `application/cloudevents+json` content type in the `contentType` attribute, as
 * `pubsub.aws.snssqs` delivers it (SNS → SQS, raw message delivery) — or a raw body, as another
 * producer would send it, with no attributes.
 */
import { createHash } from "node:crypto";
import type { SNSEvent, SNSEventRecord, SQSEvent, SQSMessageAttributes, SQSRecord } from "aws-lambda";
import { snsTopicName } from "../../components/pubsub/aws-snssqs.ts";
import { cloudEventContentType, encodeEnvelope } from "../../core/cloudevent.ts";
import { continueTrace } from "../../core/trace.ts";
import { defaultRegion, freshId, randomBase64, randomHex, sampleAccount, xrayTraceId } from "./sample-values.ts";

/** One message of a sample batch. */
export type SampleMessage =
  /** A CloudEvent with this data, as `ctx.publish` would write it. */
  | { kind: "cloudevent"; data: unknown }
  /** A body as it is, from a producer other than mecha. */
  | { kind: "raw"; body: string };

/** Where a CloudEvent says it comes from. */
export interface CloudEventOrigin {
  /** The publishing app's id (the CloudEvent's `source`). */
  appId: string;
  pubsub: string;
  topic: string;
}

/** The JSON text of a CloudEvent 1.0 as mecha's publisher writes it, with a fresh id, time and trace. */
export async function cloudEventBody(origin: CloudEventOrigin, data: unknown): Promise<string> {
  const bytes = await encodeEnvelope({ appId: origin.appId, pubsub: origin.pubsub, topic: origin.topic, data, trace: continueTrace() });
  return new TextDecoder().decode(bytes);
}

/** A sample body with its message attributes (the content type of a CloudEvent). */
interface MessageText {
  body: string;
  contentType: string | undefined;
}

async function messageTexts(origin: CloudEventOrigin, messages: readonly SampleMessage[]): Promise<MessageText[]> {
  return Promise.all(
    messages.map(async (message) =>
      message.kind === "raw" ? { body: message.body, contentType: undefined } : { body: await cloudEventBody(origin, message.data), contentType: cloudEventContentType },
    ),
  );
}

/** An SQS batch: its queue and its messages, a record each. */
export interface SqsSampleRequest extends CloudEventOrigin {
  queue: string;
  messages: readonly SampleMessage[];
  region?: string;
}

/** An SQS batch from one queue; a `.fifo` queue's records carry a message group and sequence number. */
export async function sqsEvent(request: SqsSampleRequest): Promise<SQSEvent> {
  const region = request.region ?? defaultRegion;
  const fifo = request.queue.endsWith(".fifo");
  const texts = await messageTexts(request, request.messages);
  const now = new Date();
  return {
    Records: texts.map(({ body, contentType }, i): SQSRecord => {
      const messageId = freshId();
      const messageAttributes: SQSMessageAttributes = contentType
        ? { contentType: { stringValue: contentType, stringListValues: [], binaryListValues: [], dataType: "String" } }
        : {};
      return {
        messageId,
        receiptHandle: `AQEB${randomBase64(180)}`,
        body,
        attributes: {
          ApproximateReceiveCount: "1",
          AWSTraceHeader: `${xrayTraceId(now)};Parent=${randomHex(8)};Sampled=1`,
          SentTimestamp: String(now.getTime() - 12),
          SenderId: "AIDAIT2UOQQY3AUEKVGXU",
          ApproximateFirstReceiveTimestamp: String(now.getTime()),
          ...(fifo ? { MessageGroupId: "default", MessageDeduplicationId: messageId, SequenceNumber: String(18_850_000_000_000_000_000 + i) } : {}),
        },
        messageAttributes,
        ...(contentType ? { md5OfMessageAttributes: attributesMd5(messageAttributes) } : {}),
        md5OfBody: md5(body),
        eventSource: "aws:sqs",
        eventSourceARN: `arn:aws:sqs:${region}:${sampleAccount}:${request.queue}`,
        awsRegion: region,
      };
    }),
  };
}

/** An SNS notification event: its messages, a record each, on the origin's topic. */
export interface SnsSampleRequest extends CloudEventOrigin {
  messages: readonly SampleMessage[];
  region?: string;
}

/** An SNS notification to a Lambda subscription of the topic's SNS topic (named as mecha names it). */
export async function snsEvent(request: SnsSampleRequest): Promise<SNSEvent> {
  const region = request.region ?? defaultRegion;
  const topicArn = `arn:aws:sns:${region}:${sampleAccount}:${snsTopicName(request.topic)}`;
  const subscriptionArn = `${topicArn}:${freshId()}`;
  const texts = await messageTexts(request, request.messages);
  return {
    Records: texts.map(
      ({ body, contentType }): SNSEventRecord => ({
        EventVersion: "1.0",
        EventSubscriptionArn: subscriptionArn,
        EventSource: "aws:sns",
        Sns: {
          SignatureVersion: "1",
          Timestamp: new Date().toISOString(),
          Signature: randomBase64(256),
          SigningCertUrl: `https://sns.${region}.amazonaws.com/SimpleNotificationService-${randomHex(16)}.pem`,
          MessageId: freshId(),
          Message: body,
          MessageAttributes: contentType ? { contentType: { Type: "String", Value: contentType } } : {},
          Type: "Notification",
          UnsubscribeUrl: `https://sns.${region}.amazonaws.com/?Action=Unsubscribe&SubscriptionArn=${subscriptionArn}`,
          TopicArn: topicArn,
          // SNS sends `"Subject": null` for a message without one; the types only allow a string.
          Subject: null as unknown as undefined,
        },
      }),
    ),
  };
}

const md5 = (data: string | Buffer) => createHash("md5").update(data).digest("hex");

/**
 * SQS's MD5 of message attributes: per attribute, in name order, the name, the data type, a
 * transport byte (1 for a string value) and the value, each string preceded by its length as
 * four big-endian bytes.
 */
function attributesMd5(attributes: SQSMessageAttributes): string {
  const parts: Buffer[] = [];
  const lengthPrefixed = (text: string) => {
    const bytes = Buffer.from(text, "utf8");
    const length = Buffer.alloc(4);
    length.writeUInt32BE(bytes.length);
    parts.push(length, bytes);
  };
  for (const name of Object.keys(attributes).sort()) {
    const attribute = attributes[name]!;
    lengthPrefixed(name);
    lengthPrefixed(attribute.dataType);
    parts.push(Buffer.from([1]));
    lengthPrefixed(attribute.stringValue ?? "");
  }
  return md5(Buffer.concat(parts));
}
