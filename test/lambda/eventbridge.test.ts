/**
 * The Lambda adapter's EventBridge side: a scheduled rule runs the cron function the build mapped
 * it to, and only that one; other EventBridge events are not routed yet and say so.
 */
import type { ScheduledEvent } from "aws-lambda";
import { describe, expect, it } from "vitest";
import { UnknownEventError } from "../../adapters/lambda/index.ts";
import { cron } from "../../src/index.ts";
import { lambdaApp, lambdaContext, loadEvent } from "./support.ts";

function cronApp(schedules: Record<string, string> = { "qt-jobs-tick": "jobs.tick" }, options: { failing?: boolean } = {}) {
  const ran: string[] = [];
  const exports = {
    tick: cron("*/5 * * * *", async (ctx) => {
      ran.push("tick");
      ctx.waitUntil(ctx.state("kv").set("ticked", true));
      if (options.failing) throw new Error("tick failed");
    }),
    hourly: cron("0 * * * *", async () => void ran.push("hourly")),
  };
  return { ...lambdaApp([{ name: "jobs", exports }], { schedules }), ran };
}

describe("Lambda adapter: EventBridge", () => {
  it("runs the cron function mapped to the scheduled rule, and only that one", async () => {
    const { handler, ran } = cronApp();
    await expect(handler(loadEvent("eventbridge-scheduled"), lambdaContext())).resolves.toBeUndefined();
    expect(ran).toEqual(["tick"]);
    expect((await (await handler.app().runtime.state("kv")).get("ticked"))?.value).toBe(true);
  });

  it("takes the rule name from a rule ARN on a custom event bus too", async () => {
    const { handler, ran } = cronApp();
    const event = loadEvent<ScheduledEvent>("eventbridge-scheduled");
    event.resources = ["arn:aws:events:us-east-1:123456789012:rule/orders-bus/qt-jobs-tick"];
    await handler(event, lambdaContext());
    expect(ran).toEqual(["tick"]);
  });

  it("runs nothing for a rule mapped to no cron function, and logs it as an error", async () => {
    const { handler, ran, logs } = cronApp({});
    await expect(handler(loadEvent("eventbridge-scheduled"), lambdaContext())).resolves.toBeUndefined();
    expect(ran).toEqual([]);
    const error = logs.find((line) => line.level === "error");
    expect(error?.msg).toBe('EventBridge rule "qt-jobs-tick" is mapped to no cron function; running none');
    expect(error?.crons).toEqual(["jobs.tick", "jobs.hourly"]);
  });

  it("runs nothing for a rule mapped to a function the app does not have", async () => {
    const { handler, ran, logs } = cronApp({ "qt-jobs-tick": "jobs.gone" });
    await handler(loadEvent("eventbridge-scheduled"), lambdaContext());
    expect(ran).toEqual([]);
    expect(logs.find((line) => line.level === "error")?.msg).toMatch(/mapped to cron function "jobs.gone", which this app does not have/);
  });

  it("logs a cron function's failure without failing the invocation (a tick is not retried)", async () => {
    const { handler, ran, logs } = cronApp(undefined, { failing: true });
    await expect(handler(loadEvent("eventbridge-scheduled"), lambdaContext())).resolves.toBeUndefined();
    expect(ran).toEqual(["tick"]);
    expect(logs.find((line) => line.level === "error")?.msg).toBe("function jobs.tick failed");
  });

  it("refuses an EventBridge event that is not a scheduled rule's, naming its source and detail-type", async () => {
    const { handler, ran } = cronApp();
    const error = await handler(loadEvent("eventbridge-s3-object-created"), lambdaContext()).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UnknownEventError);
    expect((error as Error).message).toContain('EventBridge event (source "aws.s3", detail-type "Object Created")');
    expect((error as Error).message).not.toContain("DOC-EXAMPLE-BUCKET1");
    expect(ran).toEqual([]);
  });
});
