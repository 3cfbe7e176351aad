/**
 * The Workers adapter in workerd (Miniflare): Queue batches go through the core's pipeline with
 * per-message ack/retry — one poison message is retried and dead-lettered while the rest of its
 * batch is acked once, and each subscription's queue keeps its own outcomes.
 */
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Miniflare } from "miniflare";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildWorkers, type WorkersBuildResult } from "../../src/build/workers/build.ts";
import { startBuiltWorker } from "../support/miniflare-worker.ts";
import { waitFor } from "../support/wait.ts";

const functions = `import { cron, http, subscribe, type Context } from "mecha";

async function bump(ctx: Context, key: string): Promise<void> {
  const state = ctx.state("jobs");
  for (;;) {
    const current = await state.get<number>(key);
    try {
      await state.set(key, (current?.value ?? 0) + 1, current ? { etag: current.etag } : { concurrency: "first-write" });
      return;
    } catch (error) {
      if ((error as { code?: string }).code !== "ERR_STATE_ETAG_MISMATCH") throw error;
    }
  }
}

const label = (data: unknown) => (typeof data === "object" && data !== null && "n" in data ? String((data as { n: unknown }).n) : "raw:" + String(data));

export const strict = subscribe(
  { pubsub: "bus", topic: "jobs", deadLetterTopic: "jobs.dead", maxRetries: 2, backoff: { initialMs: 100, maxMs: 100 } },
  async (event, ctx) => {
    const n = label(event.data);
    if ((event.data as { poison?: boolean }).poison) {
      await bump(ctx, "attempts:" + n);
      throw new Error("poison");
    }
    await bump(ctx, "strict:" + n);
  },
);

export const lenient = subscribe({ pubsub: "bus", topic: "jobs" }, async (event, ctx) => bump(ctx, "lenient:" + label(event.data)));

export const dead = subscribe({ pubsub: "bus", topic: "jobs.dead" }, async (event, ctx) => bump(ctx, "dead:" + label(event.data)));

export const publishAll = http("POST /publish", async (req, ctx) => {
  for (const item of (await req.json()) as unknown[]) await ctx.publish("bus", "jobs", item);
  return new Response(null, { status: 202 });
});

export const counts = http("POST /counts", async (req, ctx) => {
  const keys = (await req.json()) as string[];
  const entries = await ctx.state("jobs").getBulk<number>(keys);
  return Response.json(Object.fromEntries(entries.map((e) => [e.key, e.value ?? 0])));
});

export const missing = http("GET /missing", async (_req, ctx) => Response.json(await ctx.binding("nope").invoke("get")));
export const health = http("GET /health", async () => new Response("ok"));

export const tick = cron("*/5 * * * *", async (ctx) => bump(ctx, "ticks"));
export const otherTick = cron("0 * * * *", async (ctx) => bump(ctx, "hourly"));
`;

const yaml = (name: string, type: string, metadata = "[]") =>
  `apiVersion: dapr.io/v1alpha1\nkind: Component\nmetadata:\n  name: ${name}\nspec:\n  type: ${type}\n  version: v1\n  metadata: ${metadata}\n`;

describe("Workers adapter: queue batches in workerd", () => {
  let dir: string;
  let build: WorkersBuildResult;
  let mf: Miniflare;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "mecha-workers-queues-"));
    await mkdir(join(dir, "functions"));
    await mkdir(join(dir, "components"));
    await writeFile(join(dir, "functions/jobs.ts"), functions);
    await writeFile(join(dir, "components/jobs.yaml"), yaml("jobs", "state.cloudflare.durableobjects"));
    await writeFile(join(dir, "components/bus.yaml"), yaml("bus", "pubsub.cloudflare.queues"));
    await writeFile(join(dir, "wrangler.toml"), 'name = "queue-test"\ncompatibility_date = "2026-01-01"\n');
    build = await buildWorkers({ projectDir: dir, resources: "components", functions: "functions", appId: "qt", out: "dist", config: "wrangler.toml" });
    mf = startBuiltWorker(build, { maxBatchSize: 10, maxBatchTimeoutSeconds: 0.05 });
  }, 60_000);

  afterAll(async () => {
    await mf?.dispose();
    await rm(dir, { recursive: true, force: true });
  });

  const counts = async (keys: string[]) => (await (await mf.dispatchFetch("http://worker/counts", { method: "POST", body: JSON.stringify(keys) })).json()) as Record<string, number>;

  it("derives one queue per subscription, each with its dead-letter queue", () => {
    expect(build.cloudflare.queues.map((q) => q.subscription).sort()).toEqual(["qt.jobs.dead", "qt.jobs.lenient", "qt.jobs.strict"]);
    for (const q of build.cloudflare.queues) expect(q.deadLetterQueue).toBe(`${q.queue}-dlq`);
  });

  it("acks the good messages of a batch once, retries then dead-letters the poison one, and never re-runs the other subscription", async () => {
    const batch = [1, 2, 3, 4].map((n) => ({ n: String(n) }));
    const response = await mf.dispatchFetch("http://worker/publish", { method: "POST", body: JSON.stringify([...batch, { n: "p", poison: true }]) });
    expect(response.status).toBe(202);

    const keys = ["1", "2", "3", "4"].flatMap((n) => [`strict:${n}`, `lenient:${n}`]).concat(["lenient:p", "strict:p", "attempts:p", "dead:p"]);
    const done = await waitFor(
      async () => {
        const c = await counts(keys);
        return c["dead:p"] === 1 ? c : undefined;
      },
      { timeoutMs: 30_000, what: "the poison message to be dead-lettered" },
    );
    for (const n of ["1", "2", "3", "4"]) {
      expect(done[`strict:${n}`], `strict:${n}`).toBe(1);
      expect(done[`lenient:${n}`], `lenient:${n}`).toBe(1);
    }
    expect(done["lenient:p"]).toBe(1); // the other subscription handled the poison message once
    expect(done["strict:p"]).toBe(0);
    expect(done["attempts:p"]).toBe(3); // the first delivery and maxRetries (2) redeliveries
  }, 40_000);

  it("delivers a body another producer wrote (not a mecha envelope) as a raw payload", async () => {
    const lenient = build.cloudflare.queues.find((q) => q.subscription === "qt.jobs.lenient")!;
    const producer = await mf.getQueueProducer<string>(lenient.producerBinding);
    await producer.send("garbage");
    await waitFor(async () => (await counts(["lenient:raw:garbage"]))["lenient:raw:garbage"] === 1, { timeoutMs: 15_000, what: "the raw message" });
  });

  it("runs the cron functions whose schedule a Cron Trigger names, and only those", async () => {
    expect(build.cloudflare.crons.map((c) => c.schedule).sort()).toEqual(["*/5 * * * *", "0 * * * *"]);
    const worker = await mf.getWorker();
    await worker.scheduled({ cron: "*/5 * * * *" });
    await worker.scheduled({ cron: "*/5 * * * *" });
    const c = await counts(["ticks", "hourly"]);
    expect(c).toEqual({ ticks: 2, hourly: 0 });
  });

  it("answers an unknown binding name with a JSON 500, and keeps serving", async () => {
    const response = await mf.dispatchFetch("http://worker/missing");
    expect(response.status).toBe(500);
    expect(((await response.json()) as { errorCode: string }).errorCode).toBe("ERR_COMPONENT_NOT_FOUND");
    expect((await mf.dispatchFetch("http://worker/health")).status).toBe(200);
  });
});

describe("Workers adapter: a binding missing from env", () => {
  it("fails the calls that need it with an error naming the binding, and keeps serving", async () => {
    const dir = await mkdtemp(join(tmpdir(), "mecha-workers-missing-"));
    try {
      await mkdir(join(dir, "functions"));
      await mkdir(join(dir, "components"));
      await writeFile(join(dir, "functions/jobs.ts"), functions);
      await writeFile(join(dir, "components/jobs.yaml"), yaml("jobs", "state.cloudflare.durableobjects"));
      await writeFile(join(dir, "components/bus.yaml"), yaml("bus", "pubsub.cloudflare.queues"));
      await writeFile(join(dir, "wrangler.toml"), 'name = "missing-test"\ncompatibility_date = "2026-01-01"\n');
      const build = await buildWorkers({ projectDir: dir, resources: "components", functions: "functions", appId: "qt", out: "dist", config: "wrangler.toml" });
      const logs: string[] = [];
      const mf = startBuiltWorker(build, { omitBindings: ["MECHA_STATE"] });
      try {
        const response = await mf.dispatchFetch("http://worker/counts", { method: "POST", body: "[\"k\"]" });
        expect(response.status).toBe(500);
        expect(((await response.json()) as { errorCode: string }).errorCode).toBe("ERR_COMPONENT_CONFIG");
        expect((await mf.dispatchFetch("http://worker/health")).status).toBe(200);
        void logs;
      } finally {
        await mf.dispose();
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }, 60_000);
});
