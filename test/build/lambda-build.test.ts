/**
 * `mecha build --target lambda`, for real: esbuild bundles an app from a temporary folder (and
 * the repo's example), the SAM template is parsed back and checked the way `sam validate` would
 * — every reference resolves, every trigger names a resource the template makes — and the
 * bundle is imported and invoked.
 */
import { existsSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { parse } from "yaml";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildLambda, type LambdaBuildResult } from "../../src/build/lambda/build.ts";
import { eventBridgeSchedule } from "../../src/build/lambda/schedule-expression.ts";
import { sqsQueueName } from "../../src/components/pubsub/aws-snssqs.ts";
import { ComponentConfigError, FunctionDefinitionError } from "../../src/errors.ts";
import { componentYaml as component, createAppDir } from "../support/app-fixture.ts";
import { runCli } from "../support/cli-run.ts";

const repo = resolve(import.meta.dirname, "../..");
const temporary: string[] = [];
afterAll(() => {
  for (const dir of temporary) rmSync(dir, { recursive: true, force: true });
});

const appFunctions = `
import { binding, cron, http, subscribe } from "mecha";

export const hello = http("GET /hello/:name", async (req, ctx) => Response.json({ hello: ctx.params.name }));
export const files = http("GET /files/*", async () => new Response("file"));
export const audit = subscribe({ pubsub: "bus", topic: "orders.placed", maxRetries: 3 }, async () => {});
export const notify = subscribe({ pubsub: "bus", topic: "orders.placed", deadLetterTopic: "orders.dead" }, async () => {});
export const onDead = subscribe({ pubsub: "bus", topic: "orders.dead" }, async () => {});
export const local = subscribe({ pubsub: "memory", topic: "internal" }, async () => {});
export const nightly = cron("0 3 * * 1-5", async () => {});
export const uploaded = binding("uploads", async () => {});
`;

function appFiles(extra: Record<string, string> = {}): Record<string, string> {
  return {
    "functions/app.ts": appFunctions,
    "components/aws/bus.yaml": component("bus", "pubsub.aws.snssqs", { messageMaxNumber: "5" }),
    "components/aws/memory.yaml": component("memory", "pubsub.in-memory"),
    "components/aws/kv.yaml": component("kv", "state.aws.dynamodb", { table: "app-kv", partitionKey: "pk", ttlAttributeName: "expires" }),
    "components/aws/uploads.yaml": component("uploads", "bindings.aws.s3", { bucket: "app-uploads" }),
    ...extra,
  };
}

function build(dir: string, overrides: Partial<Parameters<typeof buildLambda>[0]> = {}): Promise<LambdaBuildResult> {
  return buildLambda({ projectDir: dir, resources: "components/aws", functions: "functions", appId: "shop", out: "dist/lambda", ...overrides });
}

type Template = { Resources: Record<string, { Type: string; Properties: Record<string, any> }>; Outputs: Record<string, unknown> };

/** Every logical id a value refers to: `Ref`, `Fn::GetAtt` and `${Id}` in `Fn::Sub`. */
function references(value: unknown, found: string[] = []): string[] {
  if (Array.isArray(value)) value.forEach((v) => references(v, found));
  else if (value && typeof value === "object") {
    for (const [key, inner] of Object.entries(value)) {
      if (key === "Ref") found.push(inner as string);
      else if (key === "Fn::GetAtt") found.push((inner as string[])[0]!);
      else if (key === "Fn::Sub") for (const [, id] of (inner as string).matchAll(/\$\{([^}.]+)(?:\.[^}]+)?\}/g)) found.push(id!);
      else references(inner, found);
    }
  }
  return found;
}

/** Resources SAM adds itself when it transforms the template. */
const samGenerated = new Set(["ServerlessHttpApi"]);

function assertSound(template: Template): void {
  const ids = new Set(Object.keys(template.Resources));
  const referenced = references(template);
  expect(referenced.length).toBeGreaterThan(5);
  for (const id of referenced) {
    if (id.startsWith("AWS::") || samGenerated.has(id)) continue;
    expect(ids, `reference to ${id}`).toContain(id);
  }
  for (const id of ids) expect(id).toMatch(/^[A-Za-z0-9]+$/);
}

describe("mecha build --target lambda on a small app", () => {
  let dir: string;
  let result: LambdaBuildResult;
  let template: Template;

  beforeAll(async () => {
    dir = createAppDir("mecha-lambda-build", appFiles());
    temporary.push(dir);
    result = await build(dir);
    template = parse(readFileSync(result.templateFile, "utf8"));
  });

  it("writes a zip-ready folder with index.mjs and its chunks, and the template beside it", () => {
    expect(result.codeDir).toBe(join(dir, "dist/lambda/function"));
    expect(readdirSync(result.codeDir).sort()).toEqual(["chunks", "index.mjs"]);
    expect(existsSync(join(dir, "dist/lambda/template.yaml"))).toBe(true);
    const fn = template.Resources.MechaFunction!;
    expect(fn.Type).toBe("AWS::Serverless::Function");
    expect(fn.Properties).toMatchObject({ CodeUri: "function", Handler: "index.handler", Runtime: "nodejs20.x" });
  });

  it("makes a template in which every reference resolves", () => {
    assertSound(template);
  });

  it("gives each snssqs subscription a queue with a redrive policy, subscribed raw to its topic, triggering the function", () => {
    const resources = Object.values(template.Resources);
    const byId = template.Resources;
    const events = Object.values(byId.MechaFunction!.Properties.Events as Record<string, { Type: string; Properties: any }>);
    const subscriptions = ["shop.app.audit", "shop.app.notify", "shop.app.onDead"];
    for (const subscription of subscriptions) {
      const queueId = Object.keys(byId).find((id) => byId[id]!.Type === "AWS::SQS::Queue" && byId[id]!.Properties.QueueName === sqsQueueName(subscription))!;
      expect(queueId, subscription).toBeDefined();
      const queue = byId[queueId]!.Properties;
      const deadLetterId = queue.RedrivePolicy.deadLetterTargetArn["Fn::GetAtt"][0];
      expect(byId[deadLetterId]!.Type).toBe("AWS::SQS::Queue");
      expect(queue.VisibilityTimeout).toBeGreaterThanOrEqual(byId.MechaFunction!.Properties.Timeout);
      const sub = resources.find((r) => r.Type === "AWS::SNS::Subscription" && r.Properties.Endpoint["Fn::GetAtt"][0] === queueId)!;
      expect(sub.Properties).toMatchObject({ Protocol: "sqs", RawMessageDelivery: true });
      const topic = byId[sub.Properties.TopicArn.Ref]!;
      expect(topic.Properties.TopicName).toBe(subscription === "shop.app.onDead" ? "orders-dead" : "orders-placed");
      const policy = resources.find((r) => r.Type === "AWS::SQS::QueuePolicy" && r.Properties.Queues[0].Ref === queueId)!;
      expect(policy.Properties.PolicyDocument.Statement[0].Condition.ArnEquals["aws:SourceArn"]).toEqual({ Ref: sub.Properties.TopicArn.Ref });
      const trigger = events.find((e) => e.Type === "SQS" && e.Properties.Queue["Fn::GetAtt"][0] === queueId)!;
      expect(trigger.Properties).toEqual({ Queue: { "Fn::GetAtt": [queueId, "Arn"] }, BatchSize: 5, FunctionResponseTypes: ["ReportBatchItemFailures"] });
    }
    // The handler's routing table names exactly those queues.
    expect(Object.values(result.aws.handler.queues).sort()).toEqual(subscriptions);
    expect(Object.keys(result.aws.handler.queues).sort()).toEqual(subscriptions.map(sqsQueueName).sort());
  });

  it("sets each queue's receive limit one past the core's own dead-lettering: maxRetries + 2, 5 + 2 with a dead-letter topic, SQS's most otherwise", () => {
    const limits = Object.fromEntries(result.aws.queues.map((q) => [q.subscription, q.maxReceiveCount]));
    expect(limits).toEqual({ "shop.app.audit": 5, "shop.app.notify": 7, "shop.app.onDead": 1000 });
  });

  it("warns about a subscription on a pub/sub Lambda does not deliver, and gives it no queue", () => {
    expect(result.aws.queues.map((q) => q.subscription)).not.toContain("shop.app.local");
    expect(result.aws.warnings.join("\n")).toMatch(/shop\.app\.local is on pub\/sub "memory" \(pubsub\.in-memory\)/);
  });

  it("routes the HTTP API per function, in API Gateway's path syntax", () => {
    const events = Object.values(template.Resources.MechaFunction!.Properties.Events as Record<string, { Type: string; Properties: any }>);
    expect(events.filter((e) => e.Type === "HttpApi").map((e) => e.Properties)).toEqual([
      { Path: "/hello/{name}", Method: "GET" },
      { Path: "/files/{proxy+}", Method: "GET" },
    ]);
  });

  it("turns the cron function into a named EventBridge rule in UTC with Sunday as 1, and maps the rule to the function", () => {
    const events = Object.values(template.Resources.MechaFunction!.Properties.Events as Record<string, { Type: string; Properties: any }>);
    const schedule = events.find((e) => e.Type === "Schedule")!;
    expect(schedule.Properties).toMatchObject({ Name: "shop-app.nightly", Schedule: "cron(0 3 ? * 2-6 *)" });
    expect(result.aws.handler.schedules).toEqual({ "shop-app.nightly": "app.nightly" });
  });

  it("makes the DynamoDB table with the component's partition key and TTL attribute, and the S3 bucket with its object events", () => {
    const table = Object.values(template.Resources).find((r) => r.Type === "AWS::DynamoDB::Table")!;
    expect(table.Properties).toMatchObject({
      TableName: "app-kv",
      KeySchema: [{ AttributeName: "pk", KeyType: "HASH" }],
      AttributeDefinitions: [{ AttributeName: "pk", AttributeType: "S" }],
      TimeToLiveSpecification: { AttributeName: "expires", Enabled: true },
    });
    const [bucketId, bucket] = Object.entries(template.Resources).find(([, r]) => r.Type === "AWS::S3::Bucket")!;
    expect(bucket.Properties.BucketName).toBe("app-uploads");
    const events = Object.values(template.Resources.MechaFunction!.Properties.Events as Record<string, { Type: string; Properties: any }>);
    expect(events.find((e) => e.Type === "S3")!.Properties.Bucket).toEqual({ Ref: bucketId });
    expect(result.aws.handler.bindingsByBucket).toEqual({ "app-uploads": "uploads" });
  });

  it("grants the function its tables, buckets and topics, and nothing account-wide", () => {
    const statements = template.Resources.MechaFunction!.Properties.Policies[0].Statement as Array<{ Action: string[]; Resource: unknown }>;
    const text = JSON.stringify(statements);
    expect(text).toContain("table/app-kv");
    expect(text).toContain("s3:::app-uploads/*");
    expect(text).toContain(":orders-placed");
    expect(statements.every((s) => s.Resource !== "*")).toBe(true);
  });

  it("keeps the AWS SDK out of index.mjs: components load their clients from chunks on first use", () => {
    const meta = JSON.parse(readFileSync(result.bundle.metafile, "utf8")) as { outputs: Record<string, { inputs: Record<string, unknown> }> };
    const index = Object.entries(meta.outputs).find(([file]) => file.endsWith("function/index.mjs"))![1];
    expect(Object.keys(index.inputs).filter((input) => input.includes("@aws-sdk"))).toEqual([]);
    expect(Object.keys(meta.outputs).some((file) => file.includes("/chunks/"))).toBe(true);
  });

  it("exports a handler that serves the HTTP functions", async () => {
    const { handler } = (await import(pathToFileURL(join(result.codeDir, "index.mjs")).href)) as { handler: (event: unknown) => Promise<any> };
    const event = JSON.parse(readFileSync(join(repo, "test/lambda/events/apigw-http.json"), "utf8"));
    Object.assign(event, { rawPath: "/hello/ada", routeKey: "GET /hello/{name}", body: undefined, isBase64Encoded: false });
    event.requestContext.http.method = "GET";
    event.requestContext.http.path = "/hello/ada";
    const response = await handler(event);
    expect(response.statusCode).toBe(200);
    expect(JSON.parse(response.body)).toEqual({ hello: "ada" });
  });

  it("removes the last build's chunks from the package when it rebuilds", async () => {
    const again = await build(dir, { minify: true });
    const listed = readdirSync(join(again.codeDir, "chunks")).map((f) => join(again.codeDir, "chunks", f));
    expect(listed.sort()).toEqual(again.bundle.files.filter((f) => f.includes("/chunks/")).sort());
  });
});

describe("mecha build --target lambda rejects what cannot run on Lambda", () => {
  it("a Node-only component, naming the file, the component and the field", async () => {
    const dir = createAppDir("mecha-lambda-bad", appFiles({ "components/aws/local.yaml": component("local", "state.sqlite") }));
    temporary.push(dir);
    const error = await build(dir).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ComponentConfigError);
    expect((error as Error).message).toMatch(/local\.yaml.*"local".*spec\.type.*runs only on a Node host/s);
  });

  it("nothing for a component that needs TCP sockets, which Lambda has (only Workers refuses it)", async () => {
    const dir = createAppDir("mecha-lambda-tcp", appFiles({ "components/aws/cache.yaml": component("cache", "state.redis", { redisHost: "localhost:6379" }) }));
    temporary.push(dir);
    const result = await build(dir);
    expect(result.aws.componentTypes).toContain("state.redis");
  });

  it("a Cloudflare component", async () => {
    const dir = createAppDir("mecha-lambda-cf", appFiles({ "components/aws/kv2.yaml": component("kv2", "state.cloudflare.workerskv") }));
    temporary.push(dir);
    await expect(build(dir)).rejects.toThrow(/needs a Cloudflare Worker's bindings/);
  });

  it("a DynamoDB store without a table", async () => {
    const dir = createAppDir("mecha-lambda-notable", appFiles({ "components/aws/kv.yaml": component("kv", "state.aws.dynamodb") }));
    temporary.push(dir);
    await expect(build(dir)).rejects.toThrow(/"kv".*table.*is required/s);
  });

  it("a schedule with seconds, which EventBridge cannot run", async () => {
    const dir = createAppDir("mecha-lambda-seconds", {
      ...appFiles(),
      "functions/app.ts": `import { cron } from "mecha";\nexport const often = cron("*/10 * * * * *", async () => {});\n`,
    });
    temporary.push(dir);
    const error = await build(dir).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(FunctionDefinitionError);
    expect((error as Error).message).toMatch(/app\.often.*minute precision/);
  });
});

describe("EventBridge schedule expressions", () => {
  it.each([
    ["* * * * *", "cron(* * * * ? *)"],
    ["*/5 * * * *", "cron(*/5 * * * ? *)"],
    ["0 9 * * 1-5", "cron(0 9 ? * 2-6 *)"],
    ["0 9 * * 0", "cron(0 9 ? * 1 *)"],
    ["0 9 * * 7", "cron(0 9 ? * 1 *)"],
    ["0 9 * * 5-7", "cron(0 9 ? * 6-7,1 *)"],
    ["0 9 * * MON,FRI", "cron(0 9 ? * MON,FRI *)"],
    ["0 0 1 * *", "cron(0 0 1 * ? *)"],
    ["0 0 L * *", "cron(0 0 L * ? *)"],
    ["0 30 6 * * *", "cron(30 6 * * ? *)"],
    ["CRON_TZ=UTC 0 6 * * *", "cron(0 6 * * ? *)"],
    ["@daily", "cron(0 0 * * ? *)"],
    ["@weekly", "cron(0 0 ? * 1 *)"],
    ["@every 1m", "rate(1 minute)"],
    ["@every 90m", "rate(90 minutes)"],
    ["@every 2h", "rate(2 hours)"],
    ["@every 48h", "rate(2 days)"],
  ])("%s → %s", (schedule, expression) => {
    expect(eventBridgeSchedule(schedule)).toBe(expression);
  });

  it.each([
    ["*/10 * * * * *", /minute precision/],
    ["0 0 1 * 1", /both the day of the month and the day of the week/],
    ["@every 30s", /whole minutes/],
    ["@every 90s", /whole minutes/],
    ["CRON_TZ=Europe/Berlin 0 6 * * *", /run in UTC/],
  ])("%s cannot run on EventBridge", (schedule, reason) => {
    expect(() => eventBridgeSchedule(schedule)).toThrow(reason);
  });
});

describe("the repo's example app", () => {
  it("builds with mecha build --target lambda into a sound template for every function", async () => {
    const out = await mkdtemp(join(tmpdir(), "mecha-lambda-example-"));
    temporary.push(out);
    const { code, stdout, stderr } = await runCli(repo, "build", "--target", "lambda", "--out", out, "--json");
    expect(code, stderr).toBe(0);
    const report = JSON.parse(stdout);
    expect(report.warnings).toEqual([]);
    const template = parse(readFileSync(join(out, "template.yaml"), "utf8")) as Template;
    assertSound(template);
    expect(report.queues.map((q: { subscription: string }) => q.subscription).sort()).toEqual(["mecha-app.orders.fulfil", "mecha-app.orders.rejectDeadOrders"]);
    expect(report.routes.map((r: { method: string; path: string }) => `${r.method} ${r.path}`).sort()).toEqual([
      "GET /orders/{id}",
      "GET /orders/{id}/receipt",
      "GET /sweep",
      "POST /orders",
    ]);
    expect(report.tables.map((t: { table: string }) => t.table)).toEqual(["mecha-orders"]);
    expect(report.buckets.map((b: { bucket: string }) => b.bucket)).toEqual(["mecha-receipts"]);
    expect(report.schedules.map((s: { expression: string }) => s.expression)).toEqual(["cron(* * * * ? *)"]);
  });
});
