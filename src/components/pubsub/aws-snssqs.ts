/**
 * `pubsub.aws.snssqs`: Dapr's AWS model — an SNS topic per topic, an SQS queue per subscription,
 * the queue subscribed to the topic with raw message delivery. What this component publishes is
 * exactly what the Lambda adapter reads (adapters/lambda/events/sqs.ts): the SQS body is the
 * published bytes, the content type is the `contentType` message attribute.
 *
 * The wire: bytes that are valid UTF-8 (a CloudEvent is JSON) are the SNS message as they are;
 * other bytes are base64 text with a `contentEncoding=base64` attribute, decoded on receipt.
 * Metadata entries travel as String message attributes (SNS allows 10 attributes in all).
 *
 * As on AWS, a message published while a topic has no subscription is lost: a queue only starts
 * keeping a topic's messages once it is subscribed. After that the queue keeps them whether a
 * consumer runs or not, so the component is durable.
 *
 * Consumers long-poll (`messageWaitTimeSeconds`, 1 s by default so `close()` is prompt; the
 * in-flight receive is aborted anyway). `retry(delayMs)` sets the message's visibility timeout to
 * the delay, rounded up to whole seconds; a delivery left unsettled (a crash, a close) comes back
 * when its visibility timeout (`messageVisibilityTimeout`) ends.
 */
import type { ChangeMessageVisibilityCommandInput, Message, SQSClient } from "@aws-sdk/client-sqs";
import type { SNSClient } from "@aws-sdk/client-sns";
import {
  subscriptionConcurrency,
  type ActiveSubscription,
  type InboundMessage,
  type PubSubComponent,
  type PublishRequest,
  type SubscribeRequest,
} from "../../blocks/pubsub.ts";
import { ComponentConfigError, ErrorCodes, MechaError } from "../../errors.ts";
import type { Logger } from "../../core/logger.ts";
import { readAwsClientConfig, safeAwsError, type AwsClientConfig } from "../aws-client-config.ts";
import type { ComponentOptions } from "../types.ts";

const type = "pubsub.aws.snssqs";
const contentTypeAttribute = "contentType";
const contentEncodingAttribute = "contentEncoding";
/** SQS's longest visibility timeout (12 h). */
const maxVisibilitySeconds = 43_200;
/** How long a consumer waits after a failed receive before it polls again. */
const receiveErrorPauseMs = 1_000;

interface Settings {
  /** For both the SNS and the SQS client. */
  aws: AwsClientConfig;
  visibilityTimeoutSeconds: number;
  waitTimeSeconds: number;
  maxNumber: number;
  /** 0: no limit beyond each subscription's own concurrency. */
  concurrencyLimit: number;
  manageEntities: boolean;
}

interface Clients {
  sns: SNSClient;
  sqs: SQSClient;
  snsSdk: typeof import("@aws-sdk/client-sns");
  sqsSdk: typeof import("@aws-sdk/client-sqs");
}

/**
 * The SNS topic name of a mecha topic: SNS allows `[A-Za-z0-9_-]`, at most 256 characters. `.`
 * becomes `-`, any other character outside that set becomes `_`, and a name still too long keeps
 * its first 247 characters and an 8-character hash of the whole topic. Deterministic, so a build
 * can compute it too; where it changes the name, give the Lambda adapter's `topics` option the
 * pair (SNS name → mecha topic).
 *
 * @example snsTopicName("orders.created") // "orders-created"
 */
export function snsTopicName(topic: string): string {
  return entityName(topic, 256);
}

/**
 * The SQS queue name of a subscription (its durable name): the same rules as
 * {@link snsTopicName}, at most 80 characters (71 + `-` + an 8-character hash when trimmed).
 */
export function sqsQueueName(subscription: string): string {
  return entityName(subscription, 80);
}

function entityName(name: string, max: number): string {
  const safe = name.replace(/\./g, "-").replace(/[^A-Za-z0-9_-]/g, "_");
  return safe.length <= max ? safe : `${safe.slice(0, max - 9)}-${fnv1a(name)}`;
}

/** FNV-1a, 32 bits, as 8 hex digits: a short, stable tag for trimmed names (not security). */
function fnv1a(text: string): string {
  let hash = 0x811c9dc5;
  for (const byte of new TextEncoder().encode(text)) hash = Math.imul(hash ^ byte, 0x01000193) >>> 0;
  return hash.toString(16).padStart(8, "0");
}

/**
 * Creates a `pubsub.aws.snssqs` component. Reads Dapr's metadata: `region` (else the AWS SDK's, or
 * `us-east-1` with an `endpoint`), `endpoint` (an emulator such as fauxqs or LocalStack; used for
 * both SNS and SQS), `accessKey`/`secretKey`/`sessionToken` (else the default credential chain),
 * `messageVisibilityTimeout` (seconds, default 10), `messageWaitTimeSeconds` (long polling, 0–20,
 * default 1), `messageMaxNumber` (1–10, default 10), `concurrencyLimit` (most deliveries in flight
 * per subscription; 0, the default, leaves each subscription's own concurrency) and
 * `disableEntityManagement` (default false: topics, queues, the queue policy and the subscription
 * are created on first use; with true they must exist). The AWS SDK is loaded on first use.
 *
 * @example
 * // spec: { type: pubsub.aws.snssqs, version: v1, metadata: [{ name: region, value: eu-west-1 }] }
 */
export function create(options: ComponentOptions): PubSubComponent {
  const settings = readSettings(options);
  const { name: component } = options;
  const log = options.logger?.child({ component });
  const topicArns = new Map<string, Promise<string>>();
  const consumers = new Set<Consumer>();
  let clients: Promise<Clients> | undefined;
  let closed = false;

  const connect = (): Promise<Clients> => {
    if (closed) return Promise.reject(new Error(`${type} component "${component}" is closed`));
    clients ??= Promise.all([import("@aws-sdk/client-sns"), import("@aws-sdk/client-sqs")]).then(
      ([snsSdk, sqsSdk]) => ({ snsSdk, sqsSdk, sns: new snsSdk.SNSClient(settings.aws), sqs: new sqsSdk.SQSClient(settings.aws) }),
      (error: unknown) => {
        clients = undefined;
        throw error;
      },
    );
    return clients;
  };

  /** The topic's ARN: created (idempotent) or looked up once, then cached. */
  const topicArn = (topic: string): Promise<string> => {
    let arn = topicArns.get(topic);
    if (!arn) {
      arn = (async () => {
        const { sns, snsSdk } = await connect();
        const Name = snsTopicName(topic);
        if (settings.manageEntities) {
          const created = await sns.send(new snsSdk.CreateTopicCommand({ Name }));
          if (!created.TopicArn) throw new Error(`CreateTopic answered no TopicArn for "${Name}"`);
          return created.TopicArn;
        }
        for (let NextToken: string | undefined; ; ) {
          const page = await sns.send(new snsSdk.ListTopicsCommand({ NextToken }));
          const found = page.Topics?.find((t) => t.TopicArn?.endsWith(`:${Name}`))?.TopicArn;
          if (found) return found;
          if (!(NextToken = page.NextToken)) break;
        }
        throw new ComponentConfigError(`SNS topic "${Name}" (for topic "${topic}") does not exist and disableEntityManagement is true: create it`, {
          component,
          field: "disableEntityManagement",
        });
      })();
      arn.catch(() => topicArns.delete(topic));
      topicArns.set(topic, arn);
    }
    return arn;
  };

  /** The queue of a subscription, subscribed to the topic with raw delivery; its URL. */
  const ensureQueue = async (topic: string, subscription: string): Promise<string> => {
    const { sqs, sqsSdk, sns, snsSdk } = await connect();
    const arn = await topicArn(topic);
    const QueueName = sqsQueueName(subscription);
    if (!settings.manageEntities) {
      return (await sqs.send(new sqsSdk.GetQueueUrlCommand({ QueueName }))).QueueUrl!;
    }
    const { QueueUrl } = await sqs.send(
      new sqsSdk.CreateQueueCommand({ QueueName, Attributes: { VisibilityTimeout: String(settings.visibilityTimeoutSeconds) } }),
    );
    if (!QueueUrl) throw new Error(`CreateQueue answered no QueueUrl for "${QueueName}"`);
    const { Attributes = {} } = await sqs.send(new sqsSdk.GetQueueAttributesCommand({ QueueUrl, AttributeNames: ["QueueArn", "Policy"] }));
    const queueArn = Attributes.QueueArn;
    if (!queueArn) throw new Error(`GetQueueAttributes answered no QueueArn for "${QueueName}"`);
    const policy = withTopicStatement(Attributes.Policy, queueArn, arn);
    if (policy) await sqs.send(new sqsSdk.SetQueueAttributesCommand({ QueueUrl, Attributes: { Policy: policy } }));
    await sns.send(
      new snsSdk.SubscribeCommand({ TopicArn: arn, Protocol: "sqs", Endpoint: queueArn, Attributes: { RawMessageDelivery: "true" }, ReturnSubscriptionArn: true }),
    );
    return QueueUrl;
  };

  return {
    type,
    features: ["durable", "delayedRetry"] as const,

    async publish(request: PublishRequest) {
      const failed = (reason: string, cause: unknown) =>
        new MechaError(ErrorCodes.publish, `${type}: could not publish to topic "${request.topic}": ${reason}`, { component, cause });
      // The AWS SDK not loading (or a closed component) is no AWS error: its message stays as it is.
      const { sns, snsSdk } = await connect().catch((error: unknown) => {
        throw failed((error as Error).message, error);
      });
      try {
        const { message, attributes } = encode(request);
        await sns.send(new snsSdk.PublishCommand({ TopicArn: await topicArn(request.topic), Message: message, MessageAttributes: attributes }));
      } catch (error) {
        if (error instanceof MechaError) throw error;
        const cause = safeAwsError(error, settings.aws);
        throw failed(cause.message, cause);
      }
    },

    async subscribe(request: SubscribeRequest): Promise<ActiveSubscription> {
      let concurrency = subscriptionConcurrency(request, type);
      if (settings.concurrencyLimit > 0) concurrency = Math.min(concurrency, settings.concurrencyLimit);
      const queueUrl = await ensureQueue(request.topic, request.subscription);
      const consumer = new Consumer(await connect(), queueUrl, request, concurrency, settings, log);
      consumers.add(consumer);
      return { close: () => consumer.close().finally(() => consumers.delete(consumer)) };
    },

    async close() {
      if (closed) return;
      await Promise.all([...consumers].map((c) => c.close()));
      closed = true;
      const opened = await clients?.catch(() => undefined);
      opened?.sns.destroy();
      opened?.sqs.destroy();
    },
  };
}

/** One `subscribe` call: a long-polling loop that keeps at most `concurrency` deliveries in flight. */
class Consumer {
  readonly #clients: Clients;
  readonly #queueUrl: string;
  readonly #request: SubscribeRequest;
  readonly #concurrency: number;
  readonly #settings: Settings;
  readonly #log: Logger | undefined;
  readonly #abort = new AbortController();
  readonly #inFlight = new Set<Promise<void>>();
  readonly #loop: Promise<void>;
  #roomFreed: (() => void) | undefined;
  #closing: Promise<void> | undefined;

  constructor(clients: Clients, queueUrl: string, request: SubscribeRequest, concurrency: number, settings: Settings, log: Logger | undefined) {
    this.#clients = clients;
    this.#queueUrl = queueUrl;
    this.#request = request;
    this.#concurrency = concurrency;
    this.#settings = settings;
    this.#log = log?.child({ subscription: request.subscription, topic: request.topic });
    this.#loop = this.#run();
  }

  /** Stops polling (aborting the receive in flight) and waits for in-flight deliveries. */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      this.#abort.abort();
      this.#roomFreed?.();
      await this.#loop;
      await Promise.all(this.#inFlight);
    })();
    return this.#closing;
  }

  async #run(): Promise<void> {
    const { sqs, sqsSdk } = this.#clients;
    const signal = this.#abort.signal;
    while (!signal.aborted) {
      const room = this.#concurrency - this.#inFlight.size;
      if (room <= 0) {
        await new Promise<void>((resolve) => (this.#roomFreed = resolve));
        continue;
      }
      let messages: Message[];
      try {
        const answer = await sqs.send(
          new sqsSdk.ReceiveMessageCommand({
            QueueUrl: this.#queueUrl,
            MaxNumberOfMessages: Math.min(room, this.#settings.maxNumber),
            WaitTimeSeconds: this.#settings.waitTimeSeconds,
            MessageAttributeNames: ["All"],
            MessageSystemAttributeNames: ["ApproximateReceiveCount"],
          }),
          { abortSignal: signal },
        );
        messages = answer.Messages ?? [];
      } catch (error) {
        if (signal.aborted) break;
        this.#log?.warn("receiving from SQS failed; polling again shortly", { error: safeAwsError(error, this.#settings.aws) });
        await pause(receiveErrorPauseMs, signal);
        continue;
      }
      // A receive that answered after close was asked: its messages come back after their
      // visibility timeout, as any unsettled delivery does.
      if (signal.aborted) break;
      for (const message of messages) this.#dispatch(message);
    }
  }

  #dispatch(raw: Message): void {
    const { sqs, sqsSdk } = this.#clients;
    const receiptHandle = raw.ReceiptHandle!;
    let settled = false;
    const settle = async (what: string, send: () => Promise<unknown>) => {
      if (settled) throw new Error(`${type}: message ${raw.MessageId} was already settled; cannot ${what} it`);
      await send();
      settled = true;
    };
    const { data, contentType, metadata } = decode(raw);
    const count = Number(raw.Attributes?.ApproximateReceiveCount);
    const message: InboundMessage = {
      id: raw.MessageId!,
      topic: this.#request.topic,
      data,
      contentType,
      metadata,
      attempt: Number.isInteger(count) && count >= 1 ? count : 1,
      ack: () => settle("ack", () => sqs.send(new sqsSdk.DeleteMessageCommand({ QueueUrl: this.#queueUrl, ReceiptHandle: receiptHandle }))),
      retry: (delayMs) => {
        const input: ChangeMessageVisibilityCommandInput = {
          QueueUrl: this.#queueUrl,
          ReceiptHandle: receiptHandle,
          VisibilityTimeout: Math.min(maxVisibilitySeconds, Math.max(0, Math.ceil(delayMs / 1000))),
        };
        return settle("retry", () => sqs.send(new sqsSdk.ChangeMessageVisibilityCommand(input)));
      },
    };
    const delivery: Promise<void> = Promise.resolve()
      .then(() => this.#request.deliver(message))
      .catch(() => {
        // `deliver` must not reject; if it does, the message is unsettled and comes back later.
      })
      .finally(() => {
        this.#inFlight.delete(delivery);
        const freed = this.#roomFreed;
        this.#roomFreed = undefined;
        freed?.();
      });
    this.#inFlight.add(delivery);
  }
}

/** The SNS message and attributes for a publish: UTF-8 text as is, other bytes as base64. */
function encode(request: PublishRequest): { message: string; attributes: Record<string, { DataType: "String"; StringValue: string }> } {
  const attributes: Record<string, { DataType: "String"; StringValue: string }> = {};
  for (const [key, value] of Object.entries(request.metadata ?? {})) {
    // SNS rejects empty attribute values; our own two attribute names are reserved.
    if (value !== "" && key !== contentTypeAttribute && key !== contentEncodingAttribute) attributes[key] = { DataType: "String", StringValue: value };
  }
  attributes[contentTypeAttribute] = { DataType: "String", StringValue: request.contentType };
  let message: string;
  try {
    message = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true }).decode(request.data);
  } catch {
    message = Buffer.from(request.data).toString("base64");
    attributes[contentEncodingAttribute] = { DataType: "String", StringValue: "base64" };
  }
  return { message, attributes };
}

/** A received message's bytes, content type and metadata, undoing {@link encode}. */
function decode(raw: Message): { data: Uint8Array; contentType: string | undefined; metadata: Record<string, string> } {
  const metadata: Record<string, string> = {};
  for (const [key, attribute] of Object.entries(raw.MessageAttributes ?? {})) {
    if (attribute.StringValue !== undefined && !attribute.DataType?.startsWith("Binary")) metadata[key] = attribute.StringValue;
  }
  const { [contentTypeAttribute]: contentType, [contentEncodingAttribute]: encoding, ...rest } = metadata;
  const body = raw.Body ?? "";
  const data = encoding === "base64" ? new Uint8Array(Buffer.from(body, "base64")) : new TextEncoder().encode(body);
  return { data, contentType, metadata: rest };
}

/** The queue policy with a statement letting `topicArn` send to the queue, or undefined when it has one. */
function withTopicStatement(existing: string | undefined, queueArn: string, topicArn: string): string | undefined {
  let policy: { Version?: string; Statement?: Array<Record<string, unknown>> } = {};
  try {
    if (existing) policy = JSON.parse(existing) as typeof policy;
  } catch {
    // Not JSON: replaced by ours.
  }
  const statements = Array.isArray(policy.Statement) ? policy.Statement : [];
  if (statements.some((s) => JSON.stringify(s.Condition ?? {}).includes(JSON.stringify(topicArn)))) return undefined;
  statements.push({
    Effect: "Allow",
    Principal: { Service: "sns.amazonaws.com" },
    Action: "sqs:SendMessage",
    Resource: queueArn,
    Condition: { ArnEquals: { "aws:SourceArn": topicArn } },
  });
  return JSON.stringify({ Version: policy.Version ?? "2012-10-17", Statement: statements });
}

function pause(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal.removeEventListener("abort", done);
      resolve();
    }
    signal.addEventListener("abort", done, { once: true });
  });
}

function readSettings({ metadata }: ComponentOptions): Settings {
  return {
    aws: readAwsClientConfig(metadata),
    visibilityTimeoutSeconds: metadata.integer("messageVisibilityTimeout", 10, { min: 1, max: maxVisibilitySeconds }),
    waitTimeSeconds: metadata.integer("messageWaitTimeSeconds", 1, { min: 0, max: 20 }),
    maxNumber: metadata.integer("messageMaxNumber", 10, { min: 1, max: 10 }),
    concurrencyLimit: metadata.integer("concurrencyLimit", 0, { min: 0 }),
    manageEntities: !metadata.boolean("disableEntityManagement", false),
  };
}
