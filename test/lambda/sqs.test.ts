/**
 * The Lambda adapter's SQS side: each record of a batch goes through the core's delivery
 * pipeline on its own, and the answer names exactly the records that must come back
 * (`batchItemFailures`) — never the whole batch for one failure, never an unsettled one as done.
 */
import type { SQSBatchResponse, SQSEvent } from "aws-lambda";
import { describe, expect, it } from "vitest";
import { subscribe, type TopicEvent } from "../../src/index.ts";
import { component, defaultComponents, gate, lambdaApp, lambdaContext, loadEvent, observeTopic, sqsEvent } from "./support.ts";

type Job = { n?: string; fail?: boolean; retry?: boolean; hold?: boolean };

/** A subscription that records what it saw, with its queue in `queues`. */
function jobsApp(options: { hold?: Promise<void>; components?: typeof defaultComponents } = {}) {
  const seen: TopicEvent<Job>[] = [];
  const strict = subscribe<Job>(
    { pubsub: "bus", topic: "jobs", name: "qt.jobs.strict", deadLetterTopic: "jobs.dead", maxRetries: 3 },
    async (event) => {
      seen.push(event);
      if (event.data.hold) await options.hold;
      if (event.data.fail) throw new Error(`job ${event.data.n} failed`);
      if (event.data.retry) return "retry";
    },
  );
  const app = lambdaApp([{ name: "jobs", exports: { strict } }], {
    components: options.components,
    queues: { "qt-jobs-strict": "qt.jobs.strict", "qt-jobs-strict.fifo": "qt.jobs.strict" },
  });
  return { ...app, seen, labels: () => seen.map((event) => (typeof event.data === "object" ? event.data.n : event.data)) };
}

const failedIds = (response: unknown) => (response as SQSBatchResponse).batchItemFailures.map((failure) => failure.itemIdentifier);

describe("Lambda adapter: SQS batches", () => {
  it("acks the nine good records of a batch of ten and reports exactly the one whose handler threw", async () => {
    const { handler, labels } = jobsApp();
    const event = sqsEvent(Array.from({ length: 10 }, (_, i) => ({ data: { n: String(i), fail: i === 6 } })));
    const response = await handler(event, lambdaContext());
    expect(response).toEqual({ batchItemFailures: [{ itemIdentifier: event.Records[6]!.messageId }] });
    expect(labels().sort()).toEqual(["0", "1", "2", "3", "4", "5", "6", "7", "8", "9"]);
  });

  it("reports a record whose handler returns \"retry\"", async () => {
    const { handler } = jobsApp();
    const event = sqsEvent([{ data: { n: "a" } }, { data: { n: "b", retry: true } }]);
    expect(failedIds(await handler(event, lambdaContext()))).toEqual([event.Records[1]!.messageId]);
  });

  it("dead-letters a record past maxRetries through the pub/sub component, and does not report it", async () => {
    const { handler } = jobsApp();
    const observer = await observeTopic(handler, "jobs.dead");
    const deadLetters = observer.messages;
    try {
      // The fourth receive: the first delivery and maxRetries (3) redeliveries have failed.
      const event = sqsEvent([{ data: { n: "poison", fail: true }, receiveCount: 4 }]);
      expect(await handler(event, lambdaContext())).toEqual({ batchItemFailures: [] });
      await expect.poll(() => deadLetters.length).toBe(1);
      const dead = deadLetters[0]!;
      expect(dead.metadata).toMatchObject({ deadLetterFrom: "jobs", deadLetterReason: "retries-exhausted" });
      expect(JSON.parse(new TextDecoder().decode(dead.data))).toMatchObject({ data: { n: "poison", fail: true } });
    } finally {
      await observer.close();
    }
  });

  it("still retries a failing record that has retries left", async () => {
    const { handler } = jobsApp();
    const event = sqsEvent([{ data: { n: "poison", fail: true }, receiveCount: 3 }]);
    expect(failedIds(await handler(event, lambdaContext()))).toEqual([event.Records[0]!.messageId]);
  });

  it("reports a record the pipeline could not settle (its dead-letter publish failed)", async () => {
    // "flaky" cannot be created (its envRef is unset), so the dead-letter publish fails.
    const flaky = component("flaky", "pubsub.in-memory", [{ name: "region", envRef: "MECHA_LAMBDA_TEST_UNSET" }]);
    const dropAll = subscribe({ pubsub: "flaky", topic: "jobs", name: "qt.jobs.flaky", deadLetterTopic: "jobs.dead", maxRetries: 0 }, () => "drop");
    const { handler, logs } = lambdaApp([{ name: "jobs", exports: { dropAll } }], {
      components: [...defaultComponents, flaky],
      queues: { "qt-jobs-flaky": "qt.jobs.flaky" },
    });
    const event = sqsEvent([{ data: { n: "x" }, queue: "qt-jobs-flaky" }]);
    expect(failedIds(await handler(event, lambdaContext()))).toEqual([event.Records[0]!.messageId]);
    expect(logs.some((line) => line.msg.startsWith("could not settle message"))).toBe(true);
  });

  it("fails every record of a queue that feeds no subscription, and says so in the log", async () => {
    const { handler, logs, seen } = jobsApp();
    const event = sqsEvent([{ queue: "qt-somebody-else" }, { queue: "qt-somebody-else" }, { data: { n: "mine" } }]);
    expect(failedIds(await handler(event, lambdaContext()))).toEqual([event.Records[0]!.messageId, event.Records[1]!.messageId]);
    expect(seen).toHaveLength(1);
    const error = logs.find((line) => line.level === "error");
    expect(error?.msg).toBe('SQS queue "qt-somebody-else" feeds no subscription of this app; its 2 record(s) fail');
    expect(error?.known).toEqual(["qt-jobs-strict", "qt-jobs-strict.fifo"]);
  });

  it("delivers a body that is not JSON as a raw text payload; the other records are unaffected", async () => {
    const { handler, seen } = jobsApp();
    const event = sqsEvent([{ data: { n: "1" } }, { body: "not json {" }, { data: { n: "3" } }]);
    expect(await handler(event, lambdaContext())).toEqual({ batchItemFailures: [] });
    const raw = seen.find((e) => e.data === ("not json {" as unknown));
    expect(raw).toMatchObject({ id: event.Records[1]!.messageId, datacontenttype: "text/plain", topic: "jobs", pubsubname: "bus" });
    expect(seen.filter((e) => typeof e.data === "object").map((e) => e.data.n).sort()).toEqual(["1", "3"]);
  });

  it("delivers a raw-delivered CloudEvent as published: its id, data and trace", async () => {
    const { handler, seen } = jobsApp();
    const event = loadEvent<SQSEvent>("sqs-raw-delivery");
    expect(await handler(event, lambdaContext())).toEqual({ batchItemFailures: [] });
    expect(seen).toHaveLength(1);
    expect(seen[0]).toMatchObject({
      id: "6f1b2a6e-7c1d-4f0e-9a3b-2d5c8e9f0a1b",
      source: "qt",
      type: "com.dapr.event.sent",
      data: { n: "1" },
      traceparent: "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
    });
  });

  it("unwraps the SNS envelope of a subscription without raw message delivery", async () => {
    const { handler, seen } = jobsApp();
    expect(await handler(loadEvent("sqs-sns-envelope"), lambdaContext())).toEqual({ batchItemFailures: [] });
    expect(seen).toHaveLength(1);
    expect(seen[0]).toMatchObject({ id: "0b2c4d6e-8f0a-4b1c-9d2e-3f4a5b6c7d8e", data: { n: "enveloped" } });
  });

  it("delivers a body that only mentions \"Notification\" as it is", async () => {
    const { handler, seen } = jobsApp();
    const body = JSON.stringify({ Type: "Notification", note: "someone else's message" });
    await handler(sqsEvent([{ body }]), lambdaContext());
    expect(seen[0]?.data).toEqual({ Type: "Notification", note: "someone else's message" });
  });

  it("stops a FIFO message group at its first failure and reports the rest of it; other groups carry on", async () => {
    const { handler, labels } = jobsApp();
    const event = sqsEvent([
      { data: { n: "a1" }, messageGroupId: "a", queue: "qt-jobs-strict.fifo" },
      { data: { n: "b1" }, messageGroupId: "b", queue: "qt-jobs-strict.fifo" },
      { data: { n: "a2", fail: true }, messageGroupId: "a", queue: "qt-jobs-strict.fifo" },
      { data: { n: "b2" }, messageGroupId: "b", queue: "qt-jobs-strict.fifo" },
      { data: { n: "a3" }, messageGroupId: "a", queue: "qt-jobs-strict.fifo" },
    ]);
    const ids = event.Records.map((record) => record.messageId);
    expect(failedIds(await handler(event, lambdaContext()))).toEqual([ids[2], ids[4]]);
    const order = labels();
    expect(order).not.toContain("a3");
    expect(order.indexOf("a1")).toBeLessThan(order.indexOf("a2"));
    expect(order.indexOf("b1")).toBeLessThan(order.indexOf("b2"));
  });

  it("answers before the invocation times out, reporting the records not yet acked", async () => {
    const held = gate();
    const { handler, logs } = jobsApp({ hold: held.opened });
    try {
      const event = sqsEvent([{ data: { n: "quick" } }, { data: { n: "slow", hold: true } }]);
      const started = Date.now();
      // 800 ms left: the adapter answers 500 ms before the end.
      const response = await handler(event, lambdaContext(800));
      expect(Date.now() - started).toBeLessThan(700);
      expect(failedIds(response)).toEqual([event.Records[1]!.messageId]);
      expect(logs.find((line) => line.level === "warn")?.msg).toMatch(/about to time out/);
    } finally {
      held.open();
    }
  });
});
