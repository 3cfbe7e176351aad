/**
 * `mecha events` and `mecha invoke --target lambda`, end to end: every sample event passes the
 * Lambda adapter's guards and reaches the function it targets; a small app is built with
 * `buildLambda` into a temporary folder, and sample events saved to files are replayed against
 * the built handler. The CLI runs in this process (as in test/build), except where a real pipe
 * into stdin is the point.
 */
import { spawn } from "node:child_process";
import { readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import type { APIGatewayProxyEventV2, S3Event, ScheduledEvent, SNSEvent, SQSEvent } from "aws-lambda";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { UnknownEventError } from "../../adapters/lambda/index.ts";
import { decodeS3Key } from "../../adapters/lambda/events/s3.ts";
import { codeFolder, buildLambda } from "../../src/build/lambda/build.ts";
import { lambdaEntryFile } from "../../src/build/lambda/bundle.ts";
import { defaultFunctionSettings } from "../../src/build/lambda/sam-template.ts";
import { defaults } from "../../src/cli/args.ts";
import { eventKinds } from "../../src/cli/lambda-events/kinds.ts";
import { defaultFunctionLimits, defaultLambdaBundle } from "../../src/cli/lambda-events/run-handler.ts";
import { sqsQueueName } from "../../src/components/pubsub/aws-snssqs.ts";
import { binding, cron, http, subscribe, type InputBindingEvent, type TopicEvent } from "../../src/index.ts";
import { component as componentSpec, defaultComponents, lambdaApp, lambdaContext } from "../lambda/support.ts";
import { componentYaml as component, createAppDir } from "../support/app-fixture.ts";
import { runCli } from "../support/cli-run.ts";

const repo = resolve(import.meta.dirname, "../..");
const temporary: string[] = [];

afterAll(() => {
  for (const dir of temporary) rmSync(dir, { recursive: true, force: true });
});

// ---------------------------------------------------------------------------------------------
// Fixtures: the CLI in this process, and a built app.

const mecha = runCli;

/** `mecha events ...argv`, parsed. */
async function sample<T = Record<string, any>>(...argv: string[]): Promise<T> {
  const result = await mecha(repo, "events", ...argv);
  expect(result.stderr).toBe("");
  expect(result.code).toBe(0);
  return JSON.parse(result.stdout) as T;
}

const appId = "shop";

const appFunctions = `
import { http, subscribe } from "mecha";

export const hello = http("GET /hello", () => Response.json({ hello: "world" }));

export const echo = http("POST /echo", async (req) =>
  Response.json({ body: await req.json(), seen: req.headers.get("x-test") }),
);

export const slow = http("GET /slow", async () => {
  await new Promise((resolve) => setTimeout(resolve, 2_000));
  return new Response("late");
});

/** Fails (or takes its time over) the orders that ask for it. */
export const onOrder = subscribe({ pubsub: "bus", topic: "orders" }, async (event) => {
  const order = event.data as { fail?: boolean; slow?: boolean };
  if (order.slow) await new Promise((resolve) => setTimeout(resolve, 2_000));
  if (order.fail) throw new Error("order refused");
});
`;

/** An app folder with an HTTP API and a subscription on pubsub.aws.snssqs (so the build maps its queue). */
function createApp(): string {
  const dir = createAppDir("mecha-cli-lambda", {
    "functions/app.ts": appFunctions,
    "components/aws/bus.yaml": component("bus", "pubsub.aws.snssqs"),
    "components/aws/kv.yaml": component("kv", "state.in-memory"),
  });
  temporary.push(dir);
  return dir;
}

/** The queue `buildLambda` maps to the subscription `onOrder`. */
const ordersQueue = sqsQueueName(`${appId}.app.onOrder`);

const lines = (text: string) => text.trim().split("\n").filter(Boolean);

// ---------------------------------------------------------------------------------------------

describe("mecha events", () => {
  /** One function per trigger, with the routing tables a build would give for the samples' defaults. */
  function triggerApp() {
    const seen = { orders: [] as TopicEvent[], ticks: 0, uploads: [] as InputBindingEvent[] };
    const exports = {
      echo: http("ALL /*", async (req) => Response.json({ method: req.method, url: req.url })),
      orders: subscribe({ pubsub: "bus", topic: "orders", name: "qt.m.orders" }, async (event) => void seen.orders.push(event)),
      nightly: cron("0 3 * * *", async () => void seen.ticks++),
      uploads: binding("uploads", async (event) => void seen.uploads.push(event)),
    };
    const app = lambdaApp([{ name: "m", exports }], {
      // The adapter never opens the binding's component for an S3 event; the name must be configured.
      components: [...defaultComponents, componentSpec("uploads", "bindings.localstorage", [{ name: "rootPath", value: join(tmpdir(), "mecha-cli-lambda-uploads") }])],
      queues: { "mecha-app-orders-handler": "qt.m.orders" },
      schedules: { "mecha-app-jobs.nightly": "m.nightly" },
      bindingsByBucket: { "mecha-uploads": "uploads" },
    });
    return { ...app, seen };
  }

  it("lists every kind with a description, with --list or without a kind", async () => {
    for (const argv of [["events"], ["events", "--list"]]) {
      const result = await mecha(repo, ...argv);
      expect(result.code).toBe(0);
      for (const kind of Object.keys(eventKinds)) expect(result.stdout).toMatch(new RegExp(`^ {2}${kind} +\\S`, "m"));
    }
  });

  it("--list --json lists the kinds as data", async () => {
    const { kinds } = await sample<{ kinds: Array<{ kind: string; description: string }> }>("--list", "--json");
    expect(kinds.map((k) => k.kind)).toEqual(["http", "http-v1", "function-url", "alb", "sqs", "sns", "schedule", "s3-put", "s3-delete"]);
  });

  it.each(Object.keys(eventKinds))("%s: the printed event passes the adapter's guards and reaches its function", async (kind) => {
    const event = await sample(kind);
    const { handler, seen } = triggerApp();
    const result = await handler(event, lambdaContext()).catch((error: unknown) => {
      if (error instanceof UnknownEventError) throw new Error(`the adapter refused the ${kind} sample: ${error.message}`);
      throw error;
    });
    if (["http", "http-v1", "function-url", "alb"].includes(kind)) {
      expect(result).toMatchObject({ statusCode: 200 });
      expect(JSON.parse((result as { body: string }).body)).toMatchObject({ method: "GET", url: expect.stringMatching(/^https?:\/\/[^/]+\/$/) });
    } else if (kind === "sqs") {
      expect(result).toEqual({ batchItemFailures: [] });
      expect(seen.orders.map((e) => e.data)).toEqual([{ id: "42", item: "tea", quantity: 1 }]);
    } else {
      expect(result).toBeUndefined();
      if (kind === "sns") expect(seen.orders).toHaveLength(1);
      if (kind === "schedule") expect(seen.ticks).toBe(1);
      if (kind.startsWith("s3")) expect(seen.uploads.map((e) => (e.data as { key: string }).key)).toEqual(["incoming/my file(1).txt"]);
    }
  });

  it("prints indented JSON, or one line with --json", async () => {
    const pretty = await mecha(repo, "events", "schedule");
    expect(pretty.stdout).toMatch(/^\{\n {2}"version": "0",\n/);
    const compact = await mecha(repo, "events", "schedule", "--json");
    expect(lines(compact.stdout)).toHaveLength(1);
  });

  it("makes fresh ids and times for every event", async () => {
    const [a, b] = [await sample<SQSEvent>("sqs"), await sample<SQSEvent>("sqs")];
    expect(a.Records[0]!.messageId).not.toBe(b.Records[0]!.messageId);
    expect(a.Records[0]!.receiptHandle).not.toBe(b.Records[0]!.receiptHandle);
    expect(JSON.parse(a.Records[0]!.body).id).not.toBe(JSON.parse(b.Records[0]!.body).id);
    const [x, y] = [await sample<ScheduledEvent>("schedule"), await sample<ScheduledEvent>("schedule")];
    expect(x.id).not.toBe(y.id);
    expect(Date.parse(x.time)).toBeGreaterThan(Date.now() - 60_000);
  });

  it("http: --method, --path, --header and --body make the request, with HTTP API's header and cookie rules", async () => {
    const event = await sample<APIGatewayProxyEventV2>(
      "http",
      "--method", "put",
      "--path", "/orders/42?tag=green&tag=blue",
      "--header", "X-Test: yes",
      "--header", "Cookie: session=abc; theme=dark",
      "--body", '{"quantity":2}',
    );
    expect(event).toMatchObject({
      version: "2.0",
      rawPath: "/orders/42",
      rawQueryString: "tag=green&tag=blue",
      queryStringParameters: { tag: "green,blue" },
      cookies: ["session=abc", "theme=dark"],
      headers: { "x-test": "yes", "content-type": "application/json", "content-length": "14" },
      requestContext: { http: { method: "PUT", path: "/orders/42" } },
      body: '{"quantity":2}',
      isBase64Encoded: false,
    });
    expect(event.headers).not.toHaveProperty("cookie");
  });

  it("sqs: --data builds the CloudEvent mecha's publisher writes; --subscription names its queue", async () => {
    const event = await sample<SQSEvent>("sqs", "--subscription", "shop.orders.onPlaced", "--topic", "orders.placed", "--pubsub", "bus", "--app-id", "shop", "--data", '{"id":"7"}', "--data", '"eight"');
    expect(event.Records).toHaveLength(2);
    const [first, second] = event.Records as [SQSEvent["Records"][0], SQSEvent["Records"][0]];
    expect(first.eventSourceARN).toBe(`arn:aws:sqs:us-east-1:123456789012:${sqsQueueName("shop.orders.onPlaced")}`);
    expect(first.messageAttributes).toMatchObject({ contentType: { stringValue: "application/cloudevents+json", dataType: "String" } });
    expect(JSON.parse(first.body)).toEqual({
      specversion: "1.0",
      id: expect.any(String),
      source: "shop",
      type: "com.dapr.event.sent",
      topic: "orders.placed",
      pubsubname: "bus",
      datacontenttype: "application/json",
      data: { id: "7" },
      time: expect.any(String),
      traceparent: expect.stringMatching(/^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/),
      traceid: expect.any(String),
    });
    expect(JSON.parse(second.body)).toMatchObject({ datacontenttype: "text/plain", data: "eight" });
  });

  it("sqs: --body sends a raw body, as a producer other than mecha would, with no attributes; a record each", async () => {
    const event = await sample<SQSEvent>("sqs", "--queue", "jobs", "--body", "plain text", "--body", "more");
    expect(event.Records.map((r) => r.body)).toEqual(["plain text", "more"]);
    expect(event.Records[0]).toMatchObject({ messageAttributes: {}, eventSourceARN: expect.stringMatching(/:jobs$/) });
    expect(event.Records[0]).not.toHaveProperty("md5OfMessageAttributes");
  });

  it("sns: the topic's ARN uses the SNS name mecha gives the topic", async () => {
    const event = await sample<SNSEvent>("sns", "--topic", "orders.placed");
    expect(event.Records[0]!.Sns.TopicArn).toBe("arn:aws:sns:us-east-1:123456789012:orders-placed");
  });

  it("schedule: --rule names the rule in the event's resources", async () => {
    const event = await sample<ScheduledEvent>("schedule", "--rule", "shop-jobs.nightly", "--region", "eu-west-1");
    expect(event.resources).toEqual(["arn:aws:events:eu-west-1:123456789012:rule/shop-jobs.nightly"]);
  });

  it("s3: --key is encoded as S3 encodes keys (spaces as +), and decodes back", async () => {
    const put = await sample<S3Event>("s3-put", "--bucket", "shop-uploads", "--key", "invoices/march 2024 (1)+ü.pdf", "--size", "10");
    const object = put.Records[0]!.s3.object;
    expect(object.key).toBe("invoices/march+2024+%281%29%2B%C3%BC.pdf");
    expect(decodeS3Key(object.key)).toBe("invoices/march 2024 (1)+ü.pdf");
    expect(object.size).toBe(10);
    expect(put.Records[0]!.s3.bucket).toMatchObject({ name: "shop-uploads", arn: "arn:aws:s3:::shop-uploads" });
    const removed = await sample<S3Event>("s3-delete");
    expect(removed.Records[0]!.eventName).toBe("ObjectRemoved:Delete");
    expect(removed.Records[0]!.s3.object).not.toHaveProperty("size");
  });

  it("an unknown kind exits 2 and lists the kinds", async () => {
    const result = await mecha(repo, "events", "kinesis");
    expect(result.code).toBe(2);
    expect(lines(result.stderr)[0]).toBe(`error: unknown event kind "kinesis"; expected one of ${Object.keys(eventKinds).join(", ")}`);
  });

  it("an option the kind does not read exits 2 and names the kinds that read it", async () => {
    const result = await mecha(repo, "events", "sqs", "--bucket", "b");
    expect(result.code).toBe(2);
    expect(lines(result.stderr)[0]).toBe("error: --bucket does not apply to sqs events (it does to s3-put, s3-delete)");
  });

  it("malformed --data exits 2", async () => {
    const result = await mecha(repo, "events", "sqs", "--data", "{nope");
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/^error: --data must be JSON, got "\{nope"/);
  });
});

describe("mecha invoke --target lambda", () => {
  let app: string;

  beforeAll(async () => {
    app = createApp();
    const built = await buildLambda({ projectDir: app, resources: "components/aws", functions: "functions", appId, out: "dist/lambda", env: {} });
    expect(built.aws.handler.queues).toEqual({ [ordersQueue]: `${appId}.app.onOrder` });
  }, 60_000);

  /** Saves a sample event into the app folder and returns its file name. */
  async function eventFile(name: string, ...argv: string[]): Promise<string> {
    const result = await mecha(app, "events", ...argv);
    expect(result.code).toBe(0);
    writeFileSync(join(app, name), result.stdout);
    return name;
  }

  it("the default bundle is where the build writes it, with the build's timeout and memory", () => {
    expect(defaultLambdaBundle).toBe(lambdaEntryFile(join(defaults.lambdaOut, codeFolder)));
    expect(defaultFunctionLimits).toEqual({ timeoutSeconds: defaultFunctionSettings.timeout, memoryMb: defaultFunctionSettings.memorySize });
  });

  it("runs an HTTP event against the built handler and prints the status and the body, exit 0", async () => {
    const file = await eventFile("hello.json", "http", "--path", "/hello");
    const result = await mecha(app, "invoke", "--target", "lambda", "--event", file);
    expect(result.code).toBe(0);
    expect(result.stdout).toBe(`200 OK\n{\n  "hello": "world"\n}\n`);
  });

  it("--json prints the handler's raw result as one line", async () => {
    const file = await eventFile("hello-v1.json", "http-v1", "--path", "/hello");
    const result = await mecha(app, "invoke", "--target", "lambda", "--event", file, "--json");
    expect(result.code).toBe(0);
    expect(lines(result.stdout)).toHaveLength(1);
    expect(JSON.parse(result.stdout)).toMatchObject({ statusCode: 200, body: '{"hello":"world"}', isBase64Encoded: false });
  });

  it("<method> <path> [body] makes the HTTP API event itself", async () => {
    const result = await mecha(app, "invoke", "--target", "lambda", "POST", "/echo", '{"n":1}', "-H", "x-test: yes", "--json");
    expect(result.code).toBe(0);
    expect(JSON.parse(JSON.parse(result.stdout).body)).toEqual({ body: { n: 1 }, seen: "yes" });
  });

  it("an HTTP status of 400 or more exits 1", async () => {
    const result = await mecha(app, "invoke", "--target", "lambda", "GET", "/nowhere");
    expect(result.code).toBe(1);
    expect(result.stdout).toMatch(/^404 Not Found\n/);
  });

  it("reports the failed record of an SQS batch by its message id, exit 1", async () => {
    const file = await eventFile("orders.json", "sqs", "--queue", ordersQueue, "--topic", "orders", "--data", '{"id":"1"}', "--data", '{"id":"2","fail":true}');
    const [good, bad] = (JSON.parse(readFileSync(join(app, file), "utf8")) as SQSEvent).Records;
    const result = await mecha(app, "invoke", "--target", "lambda", "--event", file);
    expect(result.code).toBe(1);
    expect(lines(result.stdout)).toEqual(["✗ 1 of 2 records failed (batchItemFailures; SQS delivers them again):", `  ${bad!.messageId}`]);
    expect(result.stdout).not.toContain(good!.messageId);
    // The function's logs go to stderr, so that stdout is the result alone.
    expect(result.stderr).toContain("order refused");

    const json = await mecha(app, "invoke", "--target", "lambda", "--event", file, "--json");
    expect(json.code).toBe(1);
    expect(JSON.parse(json.stdout)).toEqual({ batchItemFailures: [{ itemIdentifier: bad!.messageId }] });
  });

  it("an SQS batch whose records are all acked exits 0", async () => {
    const file = await eventFile("order.json", "sqs", "--subscription", `${appId}.app.onOrder`);
    const result = await mecha(app, "invoke", "--target", "lambda", "--event", file);
    expect(result.code).toBe(0);
    expect(result.stdout).toBe("✓ the record acked\n");
  });

  it("an event the handler does not recognise is its UnknownEventError, named with its code and the event's shape, exit 1", async () => {
    writeFileSync(join(app, "unknown.json"), JSON.stringify({ hello: "world" }));
    const result = await mecha(app, "invoke", "--target", "lambda", "--event", "unknown.json");
    expect(result.code).toBe(1);
    expect(result.stdout).toBe("");
    expect(result.stderr).toContain(`error: the handler threw UnknownEventError [ERR_LAMBDA_UNKNOWN_EVENT]: unrecognised Lambda event (top-level keys ["hello"])`);
    expect(result.stderr).toContain(`"mecha events <kind>"`);
    expect(result.stderr).not.toMatch(/\n\s+at /);

    const verbose = await mecha(app, "invoke", "--target", "lambda", "--event", "unknown.json", "--verbose");
    expect(verbose.stderr).toMatch(/\n\s+at /);

    const json = await mecha(app, "invoke", "--target", "lambda", "--event", "unknown.json", "--json");
    expect(JSON.parse(json.stdout)).toMatchObject({ errorType: "UnknownEventError", code: "ERR_LAMBDA_UNKNOWN_EVENT" });
  });

  it("a handler that does not answer within --timeout timed out, exit 1", async () => {
    const result = await mecha(app, "invoke", "--target", "lambda", "GET", "/slow", "--timeout", "0.2");
    expect(result.code).toBe(1);
    expect(result.stdout).toBe("");
    expect(result.stderr).toContain("error: the handler did not answer within its timeout: Task timed out after 0.20 seconds");

    const json = await mecha(app, "invoke", "--target", "lambda", "GET", "/slow", "--timeout", "0.2", "--json");
    expect(JSON.parse(json.stdout)).toEqual({ errorType: "Sandbox.Timedout", errorMessage: "Task timed out after 0.20 seconds" });
  });

  it("the context counts down from --timeout: an SQS batch is answered before the deadline with its slow record failed", async () => {
    const file = await eventFile("slow-order.json", "sqs", "--queue", ordersQueue, "--data", '{"id":"3","slow":true}');
    const { Records } = JSON.parse(readFileSync(join(app, file), "utf8")) as SQSEvent;
    // The adapter answers 500 ms before the deadline: with 0.3 s left, at once.
    const result = await mecha(app, "invoke", "--target", "lambda", "--event", file, "--timeout", "0.3", "--json");
    expect(result.code).toBe(1);
    expect(JSON.parse(result.stdout)).toEqual({ batchItemFailures: [{ itemIdentifier: Records[0]!.messageId }] });
  });

  it("a malformed event file is an error naming the file, exit 1", async () => {
    writeFileSync(join(app, "broken.json"), '{"Records": [');
    const result = await mecha(app, "invoke", "--target", "lambda", "--event", "broken.json");
    expect(result.code).toBe(1);
    expect(lines(result.stderr)[0]).toMatch(/^error: the event file broken\.json is not valid JSON: /);
  });

  it("a missing event file is an error naming the file, exit 1", async () => {
    const result = await mecha(app, "invoke", "--target", "lambda", "--event", "nowhere.json");
    expect(result.code).toBe(1);
    expect(lines(result.stderr)[0]).toBe("error: cannot read the event file nowhere.json: no such file");
  });

  it("without a built bundle, says to run the build first, exit 1", async () => {
    const empty = createAppDir("mecha-cli-lambda-empty", {});
    temporary.push(empty);
    writeFileSync(join(empty, "event.json"), JSON.stringify(await sample("http")));
    const result = await mecha(empty, "invoke", "--target", "lambda", "--event", "event.json");
    expect(result.code).toBe(1);
    expect(lines(result.stderr)[0]).toBe(`error: no Lambda bundle at dist/lambda/function/index.mjs; run "mecha build --target lambda" first`);

    const named = await mecha(empty, "invoke", "--target", "lambda", "--event", "event.json", "--bundle", "out/index.mjs");
    expect(lines(named.stderr)[0]).toBe(`error: no Lambda bundle at out/index.mjs; run "mecha build --target lambda" first`);
  });

  it.each([
    [["--target", "lambda"], `error: missing --event <file> (or <method> <path>) for "mecha invoke --target lambda"`],
    [["--target", "lambda", "--event", "e.json", "GET", "/"], `error: give --event or <method> <path>, not both (got "GET")`],
    [["--target", "lambda", "--port", "3000", "GET", "/"], "error: --port applies to --target node, not lambda"],
    [["--event", "e.json"], "error: --event applies to --target lambda, not node"],
    [["--target", "aws", "GET", "/"], `error: --target must be one of node, lambda, got "aws"`],
    [["--target", "lambda", "--timeout", "0", "GET", "/"], `error: --timeout must be a number of seconds, at most 900, got "0"`],
  ])("invoke %j exits 2", async (argv, message) => {
    const result = await mecha(app, "invoke", ...argv);
    expect(result.code).toBe(2);
    expect(lines(result.stderr)[0]).toBe(message);
  });

  it("--event - reads the event from stdin (a real process, fed by a pipe)", async () => {
    const event = JSON.stringify(await sample("http", "--path", "/hello"));
    const child = spawn(process.execPath, [join(repo, "bin/mecha.js"), "invoke", "--target", "lambda", "--event", "-", "--json"], {
      cwd: app,
      env: { ...process.env, NO_COLOR: "1" },
      stdio: ["pipe", "pipe", "pipe"],
    });
    let stdout = "";
    child.stdout.setEncoding("utf8").on("data", (chunk: string) => (stdout += chunk));
    child.stdin.end(event);
    const code = await new Promise<number | null>((done) => child.once("close", done));
    expect(code).toBe(0);
    expect(JSON.parse(stdout)).toMatchObject({ statusCode: 200, body: '{"hello":"world"}' });
  });
});
