/**
 * Bad input on Lambda: records that claim to be CloudEvents and are not, and a state store whose
 * DynamoDB table does not exist. Each bad record fails (or is dead-lettered) on its own; the other
 * records of the batch are handled; HTTP callers get a JSON error without internals.
 */
import type { SQSBatchResponse } from "aws-lambda";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { http, subscribe, type TopicEvent } from "../../src/index.ts";
import { startDynalite, type Dynalite } from "../support/dynalite.ts";
import { freshName } from "../support/wait.ts";
import { component, defaultComponents, lambdaApp, lambdaContext, loadEvent, observeTopic, sqsEvent } from "./support.ts";

const failedIds = (response: unknown) => (response as SQSBatchResponse).batchItemFailures.map((failure) => failure.itemIdentifier);

/** A record whose contentType attribute says CloudEvent, with the given body. */
function labelledCloudEvent(event: ReturnType<typeof sqsEvent>, index: number, body: string): void {
  const record = event.Records[index]!;
  record.body = body;
  record.messageAttributes = { contentType: { stringValue: "application/cloudevents+json", stringListValues: [], binaryListValues: [], dataType: "String" } };
}

describe("Lambda adapter: malformed SQS bodies", () => {
  it("dead-letters records labelled as CloudEvents that are not, unseen by the handler; the others are handled and nothing is reported", async () => {
    const seen: TopicEvent[] = [];
    const jobs = subscribe({ pubsub: "bus", topic: "jobs", name: "qt.jobs.strict", deadLetterTopic: "jobs.dead", maxRetries: 3 }, async (event) => {
      seen.push(event);
    });
    const { handler, logs } = lambdaApp([{ name: "jobs", exports: { jobs } }], { queues: { "qt-jobs-strict": "qt.jobs.strict" } });
    const observer = await observeTopic(handler, "jobs.dead");
    const deadLetters = observer.messages;
    try {
      const event = sqsEvent([{ data: { n: "1" } }, {}, { data: { n: "3" } }, {}]);
      labelledCloudEvent(event, 1, "{ truncated");
      labelledCloudEvent(event, 3, JSON.stringify({ specversion: "1.0", data: { n: "no id, source or type" } }));
      expect(await handler(event, lambdaContext())).toEqual({ batchItemFailures: [] });
      expect(seen.map((e) => (e.data as { n: string }).n).sort()).toEqual(["1", "3"]);
      await expect.poll(() => deadLetters.length).toBe(2);
      expect(deadLetters.map((m) => new TextDecoder().decode(m.data)).sort()).toEqual([event.Records[3]!.body, "{ truncated"].sort());
      expect(logs.filter((line) => line.msg.startsWith("message cannot be decoded")).length).toBe(2);
    } finally {
      await observer.close();
    }
  });

  it("reports a malformed record whose subscription has no dead-letter topic only in the log, and handles the rest", async () => {
    const seen: TopicEvent[] = [];
    const jobs = subscribe({ pubsub: "bus", topic: "jobs", name: "qt.jobs.strict" }, async (event) => void seen.push(event));
    const { handler, logs } = lambdaApp([{ name: "jobs", exports: { jobs } }], { queues: { "qt-jobs-strict": "qt.jobs.strict" } });
    const event = sqsEvent([{}, { data: { n: "2" } }]);
    labelledCloudEvent(event, 0, "not json at all");
    // Dropped: retrying bytes that can never decode would only delay the queue's own dead-lettering.
    expect(await handler(event, lambdaContext())).toEqual({ batchItemFailures: [] });
    expect(seen.map((e) => (e.data as { n: string }).n)).toEqual(["2"]);
    expect(logs.some((line) => line.level === "warn" && line.msg.startsWith("message cannot be decoded") && line.messageId === event.Records[0]!.messageId)).toBe(true);
  });
});

describe("Lambda adapter: a DynamoDB table that does not exist", () => {
  let dynalite: Dynalite;
  beforeAll(async () => {
    dynalite = await startDynalite();
  });
  afterAll(() => dynalite?.stop());

  function missingTableApp() {
    const missing = freshName("missing-table");
    const store = component("orders", "state.aws.dynamodb", Object.entries(dynalite.metadata({ table: missing })).map(([name, value]) => ({ name, value })));
    const seen: string[] = [];
    const record = subscribe<{ n: string; save?: boolean }>({ pubsub: "bus", topic: "jobs", name: "qt.jobs.strict" }, async (event, ctx) => {
      if (event.data.save) await ctx.state("orders").set(event.data.n, event.data);
      seen.push(event.data.n);
    });
    const read = http("GET /orders/:id", async (_req, ctx) => Response.json(await ctx.state("orders").get(ctx.params.id!)));
    const app = lambdaApp([{ name: "jobs", exports: { record, read } }], { components: [...defaultComponents, store], queues: { "qt-jobs-strict": "qt.jobs.strict" } });
    return { ...app, seen, missing };
  }

  it("fails exactly the records that touch the store; the others are acked", async () => {
    const { handler, seen, logs, missing } = missingTableApp();
    const event = sqsEvent([{ data: { n: "a" } }, { data: { n: "b", save: true } }, { data: { n: "c" } }]);
    expect(failedIds(await handler(event, lambdaContext()))).toEqual([event.Records[1]!.messageId]);
    expect(seen.sort()).toEqual(["a", "c"]);
    expect(JSON.stringify(logs)).toContain(missing);
  });

  it("answers an HTTP request with a JSON 500 naming the error code, not the table or a stack; the log names the table", async () => {
    const { handler, logs, missing } = missingTableApp();
    const event = loadEvent("apigw-http");
    Object.assign(event, { rawPath: "/orders/42", routeKey: "$default", body: undefined, isBase64Encoded: false });
    event.requestContext.http.method = "GET";
    event.requestContext.http.path = "/orders/42";
    const response = (await handler(event, lambdaContext())) as { statusCode: number; body: string };
    expect(response.statusCode).toBe(500);
    const body = JSON.parse(response.body);
    expect(body).toEqual({ errorCode: expect.stringMatching(/^ERR_/), message: expect.stringMatching(/incident/) });
    expect(response.body).not.toContain(missing);
    expect(response.body).not.toMatch(/at .*\.(ts|js):\d+/);
    expect(JSON.stringify(logs)).toContain(missing);
  });
});
