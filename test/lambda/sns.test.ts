/**
 * The Lambda adapter's SNS side: a notification reaches every subscription of its topic through
 * the delivery pipeline; SNS retries an invocation that throws, so one that was not delivered
 * everywhere throws — after every subscription had its turn.
 */
import type { SNSEvent } from "aws-lambda";
import { describe, expect, it } from "vitest";
import { UndeliveredEventError } from "../../adapters/lambda/index.ts";
import { subscribe, type TopicEvent } from "../../src/index.ts";
import { lambdaApp, lambdaContext, loadEvent } from "./support.ts";

function topicApp(options: { failing?: boolean; topics?: Record<string, string> } = {}) {
  const seen: Array<{ subscription: string; event: TopicEvent }> = [];
  const record = (subscription: string) => async (event: TopicEvent) => {
    seen.push({ subscription, event });
  };
  const exports = {
    audit: subscribe({ pubsub: "bus", topic: "jobs" }, record("audit")),
    billing: subscribe({ pubsub: "bus", topic: "jobs" }, options.failing ? () => "retry" : record("billing")),
    greetings: subscribe({ pubsub: "bus", topic: "sns-lambda" }, record("greetings")),
  };
  return { ...lambdaApp([{ name: "jobs", exports }], { topics: options.topics }), seen };
}

describe("Lambda adapter: SNS notifications", () => {
  it("delivers a CloudEvent notification to every subscription of its topic", async () => {
    const { handler, seen } = topicApp();
    await expect(handler(loadEvent("sns-notification"), lambdaContext())).resolves.toBeUndefined();
    expect(seen.map((s) => s.subscription).sort()).toEqual(["audit", "billing"]);
    for (const { event } of seen) expect(event).toMatchObject({ id: "5d7e9f1a-2b3c-4d5e-8f90-a1b2c3d4e5f6", data: { n: "sns" }, topic: "jobs" });
  });

  it("delivers a message that is not a CloudEvent as a raw payload", async () => {
    const { handler, seen } = topicApp();
    await handler(loadEvent("sns-raw-message"), lambdaContext());
    expect(seen).toHaveLength(1);
    expect(seen[0]).toMatchObject({
      subscription: "greetings",
      event: { id: "95df01b4-ee98-5cb9-9903-4c221d41eb5e", data: "Hello from SNS!", datacontenttype: "text/plain", topic: "sns-lambda" },
    });
  });

  it("throws naming the topic and message id when a subscription did not ack, after delivering to the others", async () => {
    const { handler, seen } = topicApp({ failing: true });
    const error = await handler(loadEvent("sns-notification"), lambdaContext()).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UndeliveredEventError);
    expect((error as UndeliveredEventError).code).toBe("ERR_LAMBDA_UNDELIVERED");
    expect((error as Error).message).toContain('topic "jobs" message 95df01b4-ee98-5cb9-9903-4c221d41eb5e: subscription qt.jobs.billing asked for a retry');
    expect(seen.map((s) => s.subscription)).toEqual(["audit"]);
  });

  it("fails a notification for a topic no subscription of the app listens to", async () => {
    const { handler, logs } = topicApp();
    const event = loadEvent<SNSEvent>("sns-notification");
    event.Records[0]!.Sns.TopicArn = "arn:aws:sns:us-east-2:123456789012:invoices";
    await expect(handler(event, lambdaContext())).rejects.toThrow(/topic "invoices" message 95df01b4-ee98-5cb9-9903-4c221d41eb5e: no subscription/);
    expect(logs.find((line) => line.level === "error")?.msg).toMatch(/SNS topic "invoices".*has no subscription/);
  });

  it("maps an SNS topic the build renamed back to its topic", async () => {
    const { handler, seen } = topicApp({ topics: { "jobs-v1": "jobs" } });
    const event = loadEvent<SNSEvent>("sns-notification");
    event.Records[0]!.Sns.TopicArn = "arn:aws:sns:us-east-2:123456789012:jobs-v1";
    await handler(event, lambdaContext());
    expect(seen.map((s) => s.subscription).sort()).toEqual(["audit", "billing"]);
  });
});
