/**
 * The Lambda adapter never guesses: an event no guard recognises is an UnknownEventError that
 * names what was received — its top-level keys and its records' sources — and none of its values.
 */
import { describe, expect, it } from "vitest";
import { UnknownEventError } from "../../adapters/lambda/index.ts";
import { http, subscribe } from "../../src/index.ts";
import { lambdaApp, lambdaContext, loadEvent } from "./support.ts";

const app = () =>
  lambdaApp(
    [
      {
        name: "m",
        exports: {
          root: http("GET /", async () => new Response("served")),
          jobs: subscribe({ pubsub: "bus", topic: "jobs", name: "qt.jobs" }, () => {}),
        },
      },
    ],
    { queues: { "my-queue": "qt.jobs" } },
  );

async function refusal(event: unknown): Promise<UnknownEventError> {
  const error = await app().handler(event, lambdaContext()).catch((e: unknown) => e);
  expect(error).toBeInstanceOf(UnknownEventError);
  expect((error as UnknownEventError).code).toBe("ERR_LAMBDA_UNKNOWN_EVENT");
  return error as UnknownEventError;
}

describe("Lambda adapter: unknown events", () => {
  it("refuses an empty object, saying it had no keys", async () => {
    const error = await refusal({});
    expect(error.received).toEqual({ keys: [] });
    expect(error.message).toMatch(/^unrecognised Lambda event \(no top-level keys\)/);
  });

  it("refuses a Kinesis batch, naming its event source", async () => {
    const error = await refusal({ Records: [{ eventSource: "aws:kinesis" }] });
    expect(error.received).toEqual({ keys: ["Records"], recordSources: ["aws:kinesis"] });
    expect(error.message).toContain('top-level keys ["Records"]; Records[] event sources ["aws:kinesis"]');
  });

  it("refuses a DynamoDB stream without repeating any of its data", async () => {
    const error = await refusal(loadEvent("dynamodb-stream"));
    expect(error.received.recordSources).toEqual(["aws:dynamodb"]);
    for (const value of ["New item!", "101", "ExampleTableWithStream"]) expect(error.message).not.toContain(value);
  });

  it("refuses records that name SQS but lack an SQS record's fields, saying so", async () => {
    const error = await refusal({ Records: [{ eventSource: "aws:sqs", body: "hello" }] });
    expect(error.message).toContain("the records name aws:sqs but do not all have the fields of SQS records");
    expect(error.message).not.toContain("hello");
  });

  it("refuses a batch that mixes sources", async () => {
    const sqs = loadEvent("sqs-raw-delivery").Records[0];
    const error = await refusal({ Records: [sqs, { eventSource: "aws:kinesis" }] });
    expect(error.received.recordSources).toEqual(["aws:sqs", "aws:kinesis"]);
  });

  it("refuses something that looks like HTTP but is no AWS HTTP event, rather than serving it", async () => {
    const error = await refusal({ httpMethod: "GET", path: "/", headers: {}, body: null, isBase64Encoded: false });
    expect(error.received.keys).toEqual(["httpMethod", "path", "headers", "body", "isBase64Encoded"]);
  });

  it("refuses values that are not objects, naming their type", async () => {
    expect((await refusal(null)).received.keys).toEqual(["(null)"]);
    expect((await refusal("ping")).received.keys).toEqual(["(string)"]);
    expect((await refusal([1, 2])).received.keys).toEqual(["(array)"]);
  });

  it("lists at most twenty keys, each cut to 64 characters", async () => {
    const event = Object.fromEntries(Array.from({ length: 25 }, (_, i) => [`${"k".repeat(70)}${i}`, i]));
    const { keys } = (await refusal(event)).received;
    expect(keys).toHaveLength(21);
    expect(keys[0]).toBe(`${"k".repeat(64)}…`);
    expect(keys[20]).toBe("… 5 more");
  });
});
