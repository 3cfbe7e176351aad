import { ListTopicsCommand, SNSClient } from "@aws-sdk/client-sns";
import { ReceiveMessageCommand, SQSClient } from "@aws-sdk/client-sqs";
import { afterAll, describe, expect, it } from "vitest";
import { textWire } from "../../adapters/lambda/inbound-message.ts";
import type { InboundMessage, PubSubComponent } from "../../src/blocks/pubsub.ts";
import { create, snsTopicName, sqsQueueName } from "../../src/components/pubsub/aws-snssqs.ts";
import { ComponentMetadata } from "../../src/config/metadata.ts";
import { ComponentConfigError } from "../../src/errors.ts";
import { startFauxqsOrSkip } from "../support/fauxqs.ts";
import { freshName, waitFor } from "../support/wait.ts";
import { describePubSubConformance } from "./pubsub-suite.ts";
import { badAwsClientMetadata, configErrorFrom } from "../support/config-error.ts";

const type = "pubsub.aws.snssqs";
const fauxqs = await startFauxqsOrSkip(type);
const opened: PubSubComponent[] = [];
afterAll(async () => {
  await Promise.all(opened.splice(0).map((component) => component.close()));
  await fauxqs?.stop();
});

/**
 * A short visibility timeout: the suite's "left unsettled" case waits for it to run out. Handlers
 * in these tests finish far sooner, so nothing comes back early.
 */
const testMetadata = { messageVisibilityTimeout: "3" };

const snssqs = (metadata: Record<string, string>): PubSubComponent =>
  create({ name: "bus", appId: "conformance-app", baseDir: "/", metadata: new ComponentMetadata(metadata, "bus") });

if (!fauxqs) {
  describe.skip(`${type} on fauxqs (fauxqs could not start)`, () => {
    it("runs the conformance suite against fauxqs", () => {});
  });
} else {
  const server = fauxqs;
  const open = (extra: Record<string, string> = {}) => {
    const component = snssqs(server.metadata({ ...testMetadata, ...extra }));
    opened.push(component);
    return component;
  };
  const awsConfig = { endpoint: server.endpoint, region: "us-east-1", credentials: { accessKeyId: "fauxqs", secretAccessKey: "fauxqs" } };
  const bytes = (text: string) => new TextEncoder().encode(text);
  /** Subscribes and closes at once: the queue exists and is subscribed, and nothing consumes it. */
  const provision = async (component: PubSubComponent, topic: string, subscription: string) =>
    (await component.subscribe({ topic, subscription, deliver: async () => {} })).close();

  describePubSubConformance(type, () => ({ component: snssqs(server.metadata(testMetadata)) }));

  describe(`${type} on the wire`, () => {
    it("puts exactly the published CloudEvent in the SQS body, with its content type as the contentType attribute", async () => {
      const bus = open();
      const topic = freshName("wire");
      const subscription = freshName("wire-sub");
      await provision(bus, topic, subscription);
      const cloudEvent = JSON.stringify({ specversion: "1.0", id: "e-1", source: "app", type: "com.dapr.event.sent", topic, data: { n: "é€" } });
      await bus.publish({ topic, data: bytes(cloudEvent), contentType: "application/cloudevents+json", metadata: { tenant: "acme" } });

      const sqs = new SQSClient(awsConfig);
      try {
        const QueueUrl = server.server.inspectQueue(sqsQueueName(subscription))!.url;
        const { Messages = [] } = await waitFor(async () => {
          const answer = await sqs.send(new ReceiveMessageCommand({ QueueUrl, MessageAttributeNames: ["All"], WaitTimeSeconds: 1 }));
          return answer.Messages?.length ? answer : undefined;
        });
        const [record] = Messages;
        expect(record!.Body).toBe(cloudEvent);
        expect(record!.MessageAttributes?.["contentType"]).toMatchObject({ DataType: "String", StringValue: "application/cloudevents+json" });
        // What the Lambda adapter makes of the record is what was published.
        const wire = textWire(record!.Body!, { contentType: "application/cloudevents+json", tenant: "acme" });
        expect(new TextDecoder().decode(wire.data)).toBe(cloudEvent);
        expect(wire).toMatchObject({ contentType: "application/cloudevents+json", metadata: { tenant: "acme" } });
      } finally {
        sqs.destroy();
      }
    });

    it("carries bytes that are not UTF-8 as base64 and gives back the same bytes", async () => {
      const bus = open();
      const topic = freshName("binary");
      const received: InboundMessage[] = [];
      await bus.subscribe({ topic, subscription: freshName("binary-sub"), deliver: async (m) => void (received.push(m), await m.ack()) });
      const data = new Uint8Array([0xff, 0xfe, 0x00, 0x80, 0x41]);
      await bus.publish({ topic, data, contentType: "application/octet-stream" });

      await waitFor(() => received.length > 0, { what: "the binary message" });
      expect([...received[0]!.data]).toEqual([...data]);
      expect(received[0]!.contentType).toBe("application/octet-stream");
      expect(received[0]!.metadata).toEqual({});
    });

    it("maps a long topic with dots to a valid SNS topic name, and delivers on it", async () => {
      const bus = open();
      const topic = `com.example.orders.created.v1.${freshName("region.eu-west-1")}`;
      expect(topic.length).toBeGreaterThan(40);
      const name = snsTopicName(topic);
      expect(name).toMatch(/^[A-Za-z0-9_-]{1,256}$/);
      expect(name).toBe(topic.replaceAll(".", "-"));

      const received: string[] = [];
      await bus.subscribe({ topic, subscription: freshName("long-sub"), deliver: async (m) => void (received.push(new TextDecoder().decode(m.data)), await m.ack()) });
      await bus.publish({ topic, data: bytes("on a dotted topic"), contentType: "text/plain" });
      await waitFor(() => received.includes("on a dotted topic"), { what: "the message" });
      const sns = new SNSClient(awsConfig);
      try {
        const { Topics = [] } = await sns.send(new ListTopicsCommand({}));
        expect(Topics.map((t) => t.TopicArn)).toContainEqual(expect.stringMatching(new RegExp(`:${name}$`)));
      } finally {
        sns.destroy();
      }
    });

    it("does not redeliver a message retried with 1500 ms before a second has passed", async () => {
      const bus = open();
      const topic = freshName("later");
      const deliveries: Array<{ at: number; attempt: number }> = [];
      await bus.subscribe({
        topic,
        subscription: freshName("later-sub"),
        deliver: async (m) => {
          deliveries.push({ at: Date.now(), attempt: m.attempt });
          await (deliveries.length === 1 ? m.retry(1500) : m.ack());
        },
      });
      await bus.publish({ topic, data: bytes("x"), contentType: "text/plain" });

      await waitFor(() => deliveries.length >= 2, { what: "the redelivery" });
      expect(deliveries.map((d) => d.attempt)).toEqual([1, 2]);
      expect(deliveries[1]!.at - deliveries[0]!.at).toBeGreaterThanOrEqual(1000);
    });
  });
}

describe(`${type} configuration`, () => {
  it("names an SQS queue within 80 characters, keeping a hash of a trimmed name", () => {
    const long = `subscription.${"x".repeat(100)}`;
    const name = sqsQueueName(long);
    expect(name).toMatch(/^[A-Za-z0-9_-]{1,80}$/);
    expect(name).toHaveLength(80);
    expect(name).toBe(sqsQueueName(long));
    expect(name).not.toBe(sqsQueueName(`${long}y`));
    expect(sqsQueueName("orders.worker")).toBe("orders-worker");
  });

  it("does no I/O when created", () => {
    // Nothing listens on port 9; a component that connected here would fail.
    expect(() => snssqs({ endpoint: "http://127.0.0.1:9" })).not.toThrow();
  });

  it.each([
    ...badAwsClientMetadata,
    [{ messageMaxNumber: "11" }, "messageMaxNumber"],
    [{ messageWaitTimeSeconds: "21" }, "messageWaitTimeSeconds"],
    [{ messageVisibilityTimeout: "soon" }, "messageVisibilityTimeout"],
    [{ disableEntityManagement: "maybe" }, "disableEntityManagement"],
  ])("rejects bad metadata %j, naming the field", (metadata, field) => {
    const error = configErrorFrom(() => snssqs(metadata));
    expect((error as ComponentConfigError).field).toBe(field);
  });
});
