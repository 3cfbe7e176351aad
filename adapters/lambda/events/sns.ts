/**
 * SNS notifications: `Records[].EventSource === "aws:sns"`, and the SNS JSON envelope an SQS
 * queue receives from a subscription without raw message delivery.
 *
 * A notification goes to every subscription of its topic in this app, through the core's
 * delivery pipeline. SNS retries a Lambda invocation that throws, so when any delivery is not
 * acked the handler throws after all deliveries ran. That re-runs the subscriptions that
 * succeeded too, and SNS tells no attempt count (every delivery is attempt 1): the per-
 * subscription queue (SNS → SQS → Lambda) is the path that keeps each subscription's retries and
 * dead letters its own; direct SNS suits topics with one subscription in the app.
 */
import type { SNSEvent, SNSEventRecord } from "aws-lambda";
import type { App } from "../../../src/core/app.ts";
import { createDeliverer } from "../../../src/core/delivery.ts";
import type { Logger } from "../../../src/core/logger.ts";
import { UndeliveredEventError } from "../errors.ts";
import { arnResourceName, hasStrings, isObject, isString, recordsFrom, type JsonObject } from "../guards.ts";
import { pushedMessage, textWire, type MessageWire } from "../inbound-message.ts";

/**
 * An SNS → Lambda event. The guard checks the notification fields the adapter reads; `Type` is
 * always "Notification" for Lambda subscriptions (subscription confirmations go to HTTP only).
 */
export function isSnsEvent(event: unknown): event is SNSEvent {
  const records = recordsFrom(event, "EventSource", "aws:sns");
  return records !== undefined && records.every(isSnsRecord);
}

function isSnsRecord(record: JsonObject): boolean {
  const sns = record.Sns;
  return (
    isString(record.EventSubscriptionArn) &&
    isObject(sns) &&
    sns.Type === "Notification" &&
    hasStrings(sns, "MessageId", "TopicArn", "Message", "Timestamp") &&
    (sns.MessageAttributes === undefined || isObject(sns.MessageAttributes))
  );
}

/** The JSON body SNS writes into an SQS queue when raw message delivery is off. */
export interface SnsEnvelope {
  Type: "Notification";
  MessageId: string;
  TopicArn: string;
  Message: string;
  MessageAttributes?: Record<string, { Type: string; Value: string }>;
}

/**
 * An SNS envelope, strictly: a body that merely mentions "Notification" is someone's message,
 * delivered as is. (The envelope spells `SigningCertURL` where the Lambda event spells
 * `SigningCertUrl`; neither is read, so neither is required.)
 */
export function isSnsEnvelope(value: unknown): value is SnsEnvelope {
  return (
    isObject(value) &&
    value.Type === "Notification" &&
    hasStrings(value, "MessageId", "TopicArn", "Message", "Timestamp") &&
    (value.MessageAttributes === undefined || isObject(value.MessageAttributes))
  );
}

/**
 * The wire of an SNS message: its text, with the `contentType` message attribute as the content
 * type and the other String attributes as metadata. Binary attributes are not metadata.
 */
export function snsWire(message: string, attributes: unknown): MessageWire {
  const strings: Record<string, string> = {};
  if (isObject(attributes)) {
    for (const [name, attribute] of Object.entries(attributes)) {
      if (isObject(attribute) && isString(attribute.Value) && isString(attribute.Type) && attribute.Type.startsWith("String")) {
        strings[name] = attribute.Value;
      }
    }
  }
  return textWire(message, strings);
}

export interface SnsDeliveryRequest {
  app: App;
  event: SNSEvent;
  /** SNS topic name → mecha topic, where the build had to rename a topic for SNS. */
  topics: Readonly<Record<string, string>>;
  logger: Logger;
}

/** Delivers every notification to its topic's subscriptions; throws if any was not acked. */
export async function deliverNotifications({ app, event, topics, logger }: SnsDeliveryRequest): Promise<void> {
  const failures = (await Promise.all(event.Records.map((record) => deliverNotification(app, record, topics, logger)))).flat();
  if (failures.length) throw new UndeliveredEventError("SNS notification not delivered", failures);
}

async function deliverNotification(app: App, record: SNSEventRecord, topics: Readonly<Record<string, string>>, logger: Logger): Promise<string[]> {
  const { MessageId: messageId, TopicArn: topicArn } = record.Sns;
  const snsTopic = arnResourceName(topicArn);
  const topic = topics[snsTopic] ?? snsTopic;
  const plans = app.subscriptions.filter((plan) => plan.topic === topic);
  if (!plans.length) {
    // A topic this app does not subscribe to: a deployment mismatch. Failing lets SNS retry and
    // then dead-letter the notification instead of dropping it here.
    logger.error(`SNS topic "${snsTopic}" (topic "${topic}") has no subscription in this app; the notification fails`, {
      messageId,
      subscribed: [...new Set(app.subscriptions.map((plan) => plan.topic))],
    });
    return [`topic "${topic}" message ${messageId}: no subscription`];
  }
  const outcomes = await Promise.all(
    plans.map(async (plan) => {
      const message = pushedMessage({ id: messageId, topic, wire: snsWire(record.Sns.Message, record.Sns.MessageAttributes), attempt: 1 });
      await createDeliverer(app.runtime, plan)(message);
      return message.outcome === "acked" ? undefined : `topic "${topic}" message ${messageId}: subscription ${plan.name} ${message.outcome === "retry" ? "asked for a retry" : "could not settle it"}`;
    }),
  );
  return outcomes.filter((failure): failure is string => failure !== undefined);
}
