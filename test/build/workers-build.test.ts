/**
 * `mecha build --target workers`, for real: esbuild bundles a small app from a temporary folder,
 * the wrangler config is parsed back, the bundle runs in workerd through Miniflare, and the
 * repo's example passes `wrangler deploy --dry-run`.
 */
import { spawn } from "node:child_process";
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync, mkdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { Miniflare } from "miniflare";
import { parse } from "smol-toml";
import { componentYaml as component, createAppDir } from "../support/app-fixture.ts";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { componentFiles } from "../../src/build/component-files.ts";
import { isValidQueueName, queueNamesFor } from "../../src/build/queue-names.ts";
import { componentCatalog } from "../../src/components/catalog.ts";
import type { Resources } from "../../src/config/types.ts";
import { runCli } from "../support/cli-run.ts";
import { waitFor } from "../support/wait.ts";

const repo = resolve(import.meta.dirname, "../..");
const temporary: string[] = [];

afterAll(() => {
  for (const dir of temporary) rmSync(dir, { recursive: true, force: true });
});

// ---------------------------------------------------------------------------------------------
// Fixtures: an app folder on disk, and the CLI run in it.

const appFunctions = `
import { cron, http, subscribe } from "mecha";

export const hello = http("GET /hello", async (_req, ctx) => {
  await ctx.state("kv").set("greeting", { text: "hi" });
  const entry = await ctx.state("kv").get("greeting");
  return Response.json({ value: entry?.value, etag: entry?.etag });
});

/** Publishing builds a CloudEvent: the cloudevents package (CommonJS, Node builtins) must load. */
export const announce = http("POST /announce", async (_req, ctx) => {
  await ctx.publish("memory", "notes", { note: "hello" });
  return Response.json({ published: true });
});

export const audit = subscribe({ pubsub: "bus", topic: "orders.placed", maxRetries: 3 }, async () => {});
export const notify = subscribe({ pubsub: "bus", topic: "orders.placed", deadLetterTopic: "orders.dead" }, async () => {});
export const onDead = subscribe({ pubsub: "bus", topic: "orders.dead" }, async () => {});

export const nightly = cron("0 3 * * *", async () => {});
`;


const userConfig = [
  "# my worker",
  'name = "build-test"',
  'compatibility_date = "2026-01-01"',
  'compatibility_flags = ["streams_enable_constructors"]',
  "",
  "[vars]",
  'GREETING = "hello"',
  "",
].join("\n");

/** An app folder: package.json, node_modules/mecha → this repo, functions/, a resources folder. */
function createApp(resources: Record<string, string>, functions = appFunctions): string {
  const files = Object.fromEntries(Object.entries(resources).map(([file, text]) => [`components/cloudflare/${file}`, text]));
  const dir = createAppDir("mecha-build", { ...files, "functions/app.ts": functions, "wrangler.toml": userConfig });
  mkdirSync(join(dir, "components/cloudflare"), { recursive: true });
  temporary.push(dir);
  return dir;
}


const mecha = runCli;

const readToml = (file: string) => parse(readFileSync(file, "utf8")) as Record<string, any>;

// ---------------------------------------------------------------------------------------------

describe("component files", () => {
  it("list a source file for exactly the types of the component catalog", () => {
    expect(Object.keys(componentFiles).sort()).toEqual(Object.keys(componentCatalog).sort());
  });

  it("point at files that exist", () => {
    for (const [type, { file }] of Object.entries(componentFiles)) expect(existsSync(join(repo, file)), `${type}: ${file}`).toBe(true);
  });
});

describe("queue names", () => {
  it("are the durable name lowercased, with other characters as dashes", () => {
    expect(queueNamesFor(["mecha-app.orders.rejectDeadOrders"])[0]).toEqual({
      subscription: "mecha-app.orders.rejectDeadOrders",
      queue: "mecha-app-orders-rejectdeadorders",
      deadLetterQueue: "mecha-app-orders-rejectdeadorders-dlq",
      producerBinding: "Q_MECHA_APP_ORDERS_REJECTDEADORDERS",
    });
  });

  it("stay valid and unique when long names share a prefix, dead-letter queues included", () => {
    const long = "a-very-long-application-identifier.a-module-with-a-long-name.export";
    const names = queueNamesFor([`${long}One`, `${long}Two`]);
    const all = names.flatMap((n) => [n.queue, n.deadLetterQueue]);
    expect(all.every(isValidQueueName)).toBe(true);
    expect(new Set(all).size).toBe(4);
  });

  it("stay unique when two durable names differ only in characters a queue name cannot hold", () => {
    const [a, b] = queueNamesFor(["app.x_y", "app.x.y"]);
    expect(a!.queue).not.toBe(b!.queue);
    expect([a!.queue, b!.queue].every(isValidQueueName)).toBe(true);
  });
});

describe("mecha build --target workers", () => {
  let dir: string;
  let result: Record<string, any>;
  let config: Record<string, any>;

  beforeAll(async () => {
    dir = createApp({
      "kv.yaml": component("kv", "state.in-memory"),
      "orders.yaml": component("orders", "state.cloudflare.durableobjects"),
      "cache.yaml": component("cache", "state.cloudflare.workerskv", { binding: "CACHE", kvNamespaceID: "0123456789abcdef" }),
      "files.yaml": component("files", "bindings.cloudflare.r2", { binding: "FILES", bucketName: "build-test-files" }),
      "bus.yaml": component("bus", "pubsub.cloudflare.queues"),
      "memory.yaml": component("memory", "pubsub.in-memory"),
    });
    const run = await mecha(dir, "build", "--target", "workers", "--json");
    expect(run.stderr).toBe("");
    expect(run.code).toBe(0);
    result = JSON.parse(run.stdout);
    config = readToml(join(dir, "wrangler.toml"));
  });

  it("writes the bundle, its metafile and the compiled resources into the output folder", () => {
    expect(result.bundle.path).toBe("dist/workers/index.js");
    for (const file of ["index.js", "meta.json", "resources.json", "entry.ts"]) expect(existsSync(join(dir, "dist/workers", file))).toBe(true);
    const meta = JSON.parse(readFileSync(join(dir, "dist/workers/meta.json"), "utf8"));
    expect(Object.keys(meta.outputs)).toContain("dist/workers/index.js");
    expect(result.bundle.split.mecha).toBeGreaterThan(0);
    expect(result.bundle.split.functions).toBeGreaterThan(0);
  });

  it("bundles only the components the resources folder uses", () => {
    const inputs = Object.keys(JSON.parse(readFileSync(join(dir, "dist/workers/meta.json"), "utf8")).inputs);
    expect(inputs.some((path) => path.endsWith("src/components/state/in-memory.ts"))).toBe(true);
    expect(inputs.some((path) => path.endsWith("src/components/state/sqlite.ts"))).toBe(false);
    expect(inputs.some((path) => path.includes("node_modules/yaml/"))).toBe(false);
  });

  it("keeps the user's keys, adds nodejs_compat and points main at the bundle", () => {
    expect(config.name).toBe("build-test");
    expect(config.compatibility_date).toBe("2026-01-01");
    expect(config.vars).toEqual({ GREETING: "hello" });
    expect(config.compatibility_flags).toEqual(["streams_enable_constructors", "nodejs_compat"]);
    expect(config.main).toBe("dist/workers/index.js");
    expect(readFileSync(join(dir, "wrangler.toml"), "utf8")).toMatch(/^# The Cloudflare Worker\. `mecha build --target workers` rewrites/);
  });

  it("binds the Durable Object store to MechaStateObject with a SQLite migration", () => {
    expect(config.durable_objects).toEqual({ bindings: [{ name: "MECHA_STATE", class_name: "MechaStateObject" }] });
    expect(config.migrations).toEqual([{ tag: "v1", new_sqlite_classes: ["MechaStateObject"] }]);
  });

  it("binds KV namespaces and R2 buckets from their components' metadata", () => {
    expect(config.kv_namespaces).toEqual([{ binding: "CACHE", id: "0123456789abcdef" }]);
    expect(config.r2_buckets).toEqual([{ binding: "FILES", bucket_name: "build-test-files" }]);
  });

  it("gives two subscriptions on one topic their own valid queue, and publishing fans out to both", () => {
    const consumers = config.queues.consumers as Array<Record<string, unknown>>;
    const audit = consumers.find((c) => c.queue === "mecha-app-app-audit");
    const notify = consumers.find((c) => c.queue === "mecha-app-app-notify");
    expect(audit).toEqual({ queue: "mecha-app-app-audit", max_batch_size: 10, max_batch_timeout: 5, max_retries: 4, dead_letter_queue: "mecha-app-app-audit-dlq" });
    expect(notify).toMatchObject({ max_retries: 100, dead_letter_queue: "mecha-app-app-notify-dlq" });
    const queues = consumers.flatMap((c) => [c.queue as string, c.dead_letter_queue as string]);
    expect(queues.every(isValidQueueName)).toBe(true);
    expect(new Set(queues).size).toBe(queues.length);
    expect(config.queues.producers).toContainEqual({ queue: "mecha-app-app-audit", binding: "Q_MECHA_APP_APP_AUDIT" });

    const resources = JSON.parse(readFileSync(join(dir, "dist/workers/resources.json"), "utf8")) as Resources;
    const topics = resources.components.find((c) => c.name === "bus")!.metadata.find((m) => m.name === "topics")!.value!;
    expect(JSON.parse(topics)).toEqual({
      "orders.placed": ["Q_MECHA_APP_APP_AUDIT", "Q_MECHA_APP_APP_NOTIFY"],
      "orders.dead": ["Q_MECHA_APP_APP_ONDEAD"],
    });
  });

  it("turns cron schedules into Cron Triggers", () => {
    expect(config.triggers).toEqual({ crons: ["0 3 * * *"] });
  });

  it("passes --check right after a build, and names the section that drifted", async () => {
    expect((await mecha(dir, "build", "--target", "workers", "--check")).code).toBe(0);
    const path = join(dir, "wrangler.toml");
    const original = readFileSync(path, "utf8");
    try {
      writeFileSync(path, original.replace('crons = [ "0 3 * * *" ]', 'crons = [ "0 4 * * *" ]'));
      const run = await mecha(dir, "build", "--target", "workers", "--check", "--json");
      expect(run.code).toBe(1);
      expect(JSON.parse(run.stdout)).toMatchObject({ upToDate: false, differences: [{ key: "triggers", change: "changed" }] });
      expect(readFileSync(path, "utf8")).toContain("0 4 * * *");
    } finally {
      writeFileSync(path, original);
    }
  });

  it("keeps earlier migrations and rewrites nothing on a second build", async () => {
    const run = await mecha(dir, "build", "--target", "workers", "--json");
    expect(JSON.parse(run.stdout).config).toEqual({ path: "wrangler.toml", changed: false });
    expect(readToml(join(dir, "wrangler.toml")).migrations).toHaveLength(1);
  });

  it("builds a bundle that serves its HTTP functions in workerd", async () => {
    const scriptPath = join(dir, "dist/workers/index.js");
    const mf = new Miniflare({
      modules: true,
      scriptPath,
      modulesRoot: dirname(scriptPath),
      compatibilityDate: "2026-01-01",
      compatibilityFlags: ["nodejs_compat"],
    });
    try {
      const response = await mf.dispatchFetch("http://localhost/hello");
      expect(response.status).toBe(200);
      expect(await response.json()).toEqual({ value: { text: "hi" }, etag: expect.any(String) });
      const published = await mf.dispatchFetch("http://localhost/announce", { method: "POST" });
      expect(await published.json()).toEqual({ published: true });
    } finally {
      await mf.dispose();
    }
  });
});

describe("mecha build --target workers, refusing what cannot work", () => {
  it("names the file, the component and the field of an unknown spec.type", async () => {
    const dir = createApp({ "kv.yaml": component("kv", "state.nosuchstore"), "bus.yaml": component("bus", "pubsub.cloudflare.queues") });
    const run = await mecha(dir, "build", "--target", "workers");
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/kv\.yaml, component "kv", field "spec\.type": unknown type "state\.nosuchstore"/);
    expect(existsSync(join(dir, "dist"))).toBe(false);
  });

  it("rejects a component that runs only on Node, saying what to use instead", async () => {
    const dir = createApp({ "kv.yaml": component("kv", "state.sqlite", { connectionString: "x.db" }), "bus.yaml": component("bus", "pubsub.cloudflare.queues") });
    const run = await mecha(dir, "build", "--target", "workers");
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/kv\.yaml, component "kv", field "spec\.type": state\.sqlite cannot run in a Worker.*state\.cloudflare\.durableobjects/);
  });

  it("rejects a component whose client needs TCP sockets, saying what to use instead", async () => {
    const dir = createApp({ "kv.yaml": component("kv", "state.redis", { redisHost: "localhost:6379" }), "bus.yaml": component("bus", "pubsub.cloudflare.queues") });
    const run = await mecha(dir, "build", "--target", "workers");
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/kv\.yaml, component "kv", field "spec\.type": state\.redis cannot run in a Worker: it needs TCP connections.*state\.cloudflare\.durableobjects/);
  });

  it("rejects a schedule that Cron Triggers cannot run", async () => {
    const dir = createApp({}, `import { cron } from "mecha";\nexport const often = cron("@every 10s", async () => {});\n`);
    const run = await mecha(dir, "build", "--target", "workers");
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/function app\.often: schedule "@every 10s" is not a five-field cron expression/);
  });

  it("asks for a target", async () => {
    const run = await mecha(repo, "build");
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/missing --target/);
  });
});

describe("the example app on Workers", () => {
  let dir: string;
  let configPath: string;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "mecha-example-"));
    temporary.push(dir);
    configPath = join(dir, "wrangler.toml");
    copyFileSync(join(repo, "wrangler.toml"), configPath);
    const run = await mecha(repo, "build", "--target", "workers", "--minify", "--out", join(dir, "dist"), "--config", configPath, "--json");
    expect(run.code).toBe(0);
  });

  it("gets the Durable Object, R2, queue and cron bindings of components/cloudflare", () => {
    const config = readToml(configPath);
    expect(config.main).toBe("dist/index.js");
    expect(config.durable_objects.bindings).toEqual([{ name: "MECHA_STATE", class_name: "MechaStateObject" }]);
    expect(config.r2_buckets).toEqual([{ binding: "RECEIPTS", bucket_name: "mecha-receipts" }]);
    expect(config.queues.consumers.map((c: { queue: string }) => c.queue)).toEqual(["mecha-app-orders-fulfil", "mecha-app-orders-rejectdeadorders"]);
    expect(config.triggers.crons).toEqual(["* * * * *"]);
  });

  it("passes wrangler deploy --dry-run offline", async () => {
    const wrangler = join(repo, "node_modules/wrangler/bin/wrangler.js");
    const dryRun = await runProcess(process.execPath, [wrangler, "deploy", "--dry-run", "--outdir", join(dir, "upload"), "--config", configPath], dir);
    expect(dryRun.code, dryRun.output).toBe(0);
    expect(dryRun.output).toMatch(/--dry-run: exiting now/);
    expect(existsSync(join(dir, "upload/index.js"))).toBe(true);
  });

  it("runs the order flow in workerd with the bindings its wrangler.toml declares", async () => {
    const mf = new Miniflare({
      ...miniflareBindings(readToml(configPath)),
      // The secret the receipts are signed with (`wrangler secret put` in production).
      bindings: { "receipt-signing-key": "test-key" },
      modules: true,
      scriptPath: join(dir, "dist/index.js"),
      modulesRoot: join(dir, "dist"),
      compatibilityDate: "2026-01-01",
      compatibilityFlags: ["nodejs_compat"],
    });
    try {
      const placed = await mf.dispatchFetch("http://localhost/orders", { method: "POST", body: JSON.stringify({ id: "o1", item: "tea", quantity: 1 }) });
      expect(placed.status).toBe(201);
      // HTTP → Durable Object → queue → subscription → R2 → Durable Object.
      await waitFor(async () => ((await (await mf.dispatchFetch("http://localhost/orders/o1")).json()) as { status: string }).status === "fulfilled", {
        what: "order o1 to be fulfilled",
      });
      const receipt = await mf.dispatchFetch("http://localhost/orders/o1/receipt");
      expect(await receipt.json()).toMatchObject({ orderId: "o1", item: "tea", signature: expect.stringMatching(/^[0-9a-f]{64}$/) });
      // A bad order is dropped to orders.dead, whose own queue marks it rejected.
      await mf.dispatchFetch("http://localhost/orders", { method: "POST", body: JSON.stringify({ id: "bad", item: "", quantity: 0 }) });
      await waitFor(async () => ((await (await mf.dispatchFetch("http://localhost/orders/bad")).json()) as { status: string }).status === "rejected", {
        what: "order bad to be rejected",
      });
    } finally {
      await mf.dispose();
    }
  });
});

/** Miniflare's options for the bindings a wrangler.toml declares (queues deliver at once). */
function miniflareBindings(config: Record<string, any>) {
  const sqliteClasses = new Set((config.migrations ?? []).flatMap((m: { new_sqlite_classes?: string[] }) => m.new_sqlite_classes ?? []));
  return {
    durableObjects: Object.fromEntries(
      (config.durable_objects?.bindings ?? []).map((b: { name: string; class_name: string }) => [b.name, { className: b.class_name, useSQLite: sqliteClasses.has(b.class_name) }]),
    ),
    r2Buckets: Object.fromEntries((config.r2_buckets ?? []).map((b: { binding: string; bucket_name: string }) => [b.binding, b.bucket_name])),
    kvNamespaces: Object.fromEntries((config.kv_namespaces ?? []).map((b: { binding: string; id: string }) => [b.binding, b.id])),
    queueProducers: Object.fromEntries((config.queues?.producers ?? []).map((p: { binding: string; queue: string }) => [p.binding, { queueName: p.queue }])),
    queueConsumers: Object.fromEntries(
      (config.queues?.consumers ?? []).map((c: { queue: string; max_batch_size: number; max_retries: number; dead_letter_queue: string }) => [
        c.queue,
        { maxBatchSize: c.max_batch_size, maxBatchTimeout: 0, maxRetries: c.max_retries, deadLetterQueue: c.dead_letter_queue },
      ]),
    ),
  };
}

function runProcess(command: string, args: string[], cwd: string): Promise<{ code: number | null; output: string }> {
  return new Promise((resolveRun, reject) => {
    const child = spawn(command, args, {
      cwd,
      env: { ...process.env, WRANGLER_SEND_METRICS: "false", CI: "1", NO_COLOR: "1" },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let output = "";
    child.stdout.on("data", (chunk) => (output += chunk));
    child.stderr.on("data", (chunk) => (output += chunk));
    child.once("error", reject);
    child.once("exit", (code) => resolveRun({ code, output }));
  });
}
