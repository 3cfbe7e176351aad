/**
 * The Lambda target: the package's size split into mecha and user code, the cold start of a
 * bundle (a fresh `node` importing `index.mjs`, then its first HTTP invocation), and the time
 * an SQS batch of 10 / 100 / 1000 records takes with a no-op handler — beside a plain handler
 * with no mecha (plain-handler.ts), bundled the same way and measured the same way in the same run.
 * The cold start has a second baseline, Hono's own Lambda adapter (hono-handler.ts), which like
 * mecha gives the function a web-standard Request.
 *
 * Size is measured on the repo's example app (components/aws); cold start and batches on the
 * bench app in app/ (a backend-free route and a no-op subscriber), so no AWS call is made.
 */
import { build, type Metafile } from "esbuild";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { buildLambda } from "../../src/build/lambda/build.ts";
import { lambdaBuildOptions, lambdaEntryFile } from "../../src/build/lambda/bundle.ts";
import { httpApiEvent } from "../../src/cli/lambda-events/http.ts";
import { sqsEvent } from "../../src/cli/lambda-events/messages.ts";
import { sqsQueueName } from "../../src/components/pubsub/aws-snssqs.ts";
import { fmt, ratio } from "../support.ts";
import { compileChildren, runChild, type ChildScripts } from "./children.ts";
import { measurePackage, type PackageSize } from "./package-size.ts";

const repo = resolve(import.meta.dirname, "../..");
/** The bench app, and the subscription (`<module>.<export>`) its batches are delivered to. */
const benchApp = { projectDir: join(import.meta.dirname, "app"), appId: "mecha-bench" };
const subscription = { pubsub: "bus", topic: "bench", name: "bench.noop" };
const batchSizes = [10, 100, 1000] as const;

export interface LambdaBenchOptions {
  /** Fresh processes per side for the cold start (alternating mecha, plain, mecha, …). */
  coldRuns: number;
  /** Processes per side for the SQS batches (alternating). */
  batchRounds: number;
  /** How long each batch size is timed in each process, after a quarter of that in warm-up. */
  batchBudgetMs: number;
}

interface ColdStart {
  importMs: number;
  firstInvokeMs: number;
  /** Node's fetch classes used after the invocation: their load, if the invocation did not load them. */
  fetchFirstUseMs: number;
}

export interface LambdaBenchResult {
  options: LambdaBenchOptions;
  size: { mecha: PackageSize; plain: PackageSize };
  cold: { mecha: ColdStart; plain: ColdStart; hono: ColdStart };
  batches: Array<{ records: number; mechaMs: number; plainMs: number }>;
}

export async function benchLambda(options: LambdaBenchOptions): Promise<LambdaBenchResult> {
  const dir = await mkdtemp(join(tmpdir(), "mecha-bench-lambda-"));
  try {
    const example = await buildLambda({ projectDir: repo, resources: "components/aws", functions: "functions", appId: "mecha-app", out: join(dir, "example"), minify: true });
    const bench = await buildLambda({ ...benchApp, resources: "components", functions: "functions", out: join(dir, "bench-app"), minify: true });
    const plain = await bundleBaseline("plain-handler.ts", join(dir, "plain"));
    const hono = await bundleBaseline("hono-handler.ts", join(dir, "hono"));
    const size = {
      mecha: await measurePackage({
        metafile: JSON.parse(await readFile(example.bundle.metafile, "utf8")) as Metafile,
        workingDir: repo,
        entryOutput: example.bundle.file,
        generatedEntry: example.entryFile,
      }),
      plain: await measurePackage({ metafile: plain.metafile, workingDir: repo, entryOutput: plain.file }),
    };

    const queueName = sqsQueueName(`${benchApp.appId}.${subscription.name}`);
    if (bench.aws.handler.queues[queueName] === undefined) {
      throw new Error(`the bench app's build has no queue ${queueName}: ${JSON.stringify(bench.aws.handler.queues)}`);
    }
    const run: TimingRun = {
      dir,
      options,
      children: await compileChildren(join(dir, "children")),
      bundles: { mecha: bench.bundle.file, plain: plain.file, hono: hono.file },
    };
    return { options, size, cold: await timeColdStarts(run), batches: await timeBatches(run, queueName) };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

interface TimingRun {
  dir: string;
  options: LambdaBenchOptions;
  children: ChildScripts;
  /** Each side's `index.mjs`. */
  bundles: Record<Side | "hono", string>;
}

type Side = "mecha" | "plain";
const sides = ["mecha", "plain"] as const;
const coldSides = ["mecha", "plain", "hono"] as const;

/** Fresh processes, alternating sides; the median of each step. */
async function timeColdStarts({ dir, options, children, bundles }: TimingRun): Promise<LambdaBenchResult["cold"]> {
  const event = join(dir, "http-event.json");
  await writeFile(event, JSON.stringify(httpApiEvent({ method: "GET", path: "/ping" })));
  const runs = { mecha: [] as ColdStart[], plain: [] as ColdStart[], hono: [] as ColdStart[] };
  for (let run = 0; run < options.coldRuns; run++) {
    for (const side of coldSides) runs[side].push(await runChild<ColdStart>(children.coldStart, [bundles[side], event]));
  }
  const medianOf = (side: (typeof coldSides)[number]): ColdStart => ({
    importMs: median(runs[side].map((run) => run.importMs)),
    firstInvokeMs: median(runs[side].map((run) => run.firstInvokeMs)),
    fetchFirstUseMs: median(runs[side].map((run) => run.fetchFirstUseMs)),
  });
  return { mecha: medianOf("mecha"), plain: medianOf("plain"), hono: medianOf("hono") };
}

/** One process per side and round, alternating; per batch size, the median over rounds of each process's median. */
async function timeBatches({ dir, options, children, bundles }: TimingRun, queueName: string): Promise<LambdaBenchResult["batches"]> {
  const file = join(dir, "sqs-batches.json");
  // Real-shaped records (the fields of test/lambda/events/sqs-raw-delivery.json, a fresh id
  // each), their bodies CloudEvents written by mecha's own publisher code.
  const events = await Promise.all(
    batchSizes.map((records) =>
      sqsEvent({
        queue: queueName,
        appId: benchApp.appId,
        pubsub: subscription.pubsub,
        topic: subscription.topic,
        messages: Array.from({ length: records }, (_, n) => ({ kind: "cloudevent" as const, data: { orderId: `order-${n}`, item: "hat", quantity: 1 } })),
      }),
    ),
  );
  await writeFile(file, JSON.stringify(events));
  type Timings = Array<{ records: number; medianMs: number }>;
  const rounds = { mecha: [] as Timings[], plain: [] as Timings[] };
  for (let round = 0; round < options.batchRounds; round++) {
    for (const side of sides) rounds[side].push(await runChild<Timings>(children.sqsBatch, [bundles[side], file, String(options.batchBudgetMs)]));
  }
  const medianOf = (side: Side, i: number) => median(rounds[side].map((timings) => timings[i]!.medianMs));
  return batchSizes.map((records, i) => ({ records, mechaMs: medianOf("mecha", i), plainMs: medianOf("plain", i) }));
}

/** A baseline handler, bundled with the Lambda build's esbuild settings into `<codeDir>/index.mjs`. */
async function bundleBaseline(file: string, codeDir: string): Promise<{ file: string; metafile: Metafile }> {
  const { metafile } = await build({
    entryPoints: { index: join(import.meta.dirname, file) },
    outdir: codeDir,
    outExtension: { ".js": ".mjs" },
    chunkNames: "chunks/[name]-[hash]",
    absWorkingDir: repo,
    ...lambdaBuildOptions,
    minify: true,
    metafile: true,
    logLevel: "silent",
  });
  return { file: lambdaEntryFile(codeDir), metafile };
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
const kb = (bytes: number) => `${fmt(bytes / 1024, 1)} KB`;
const ms = (value: number, digits = 1) => `${fmt(value, digits)} ms`;

export function formatLambda(result: LambdaBenchResult): string {
  return [formatSize(result.size), formatColdStart(result), formatBatches(result)].join("\n\n");
}

function formatSize({ mecha, plain }: LambdaBenchResult["size"]): string {
  const lines: string[] = [];
  const row = (label: string, minified: string, gzipped: string, note = "") =>
    lines.push(`${label.padEnd(36)}${minified.padStart(10)}  ${gzipped.padStart(10)}   ${note}`.trimEnd());
  // esbuild reports each part's bytes in the minified output; gzip works on whole files, so a
  // part's gzipped share is estimated in proportion to its minified bytes.
  const measured = (label: string, s: PackageSize["whole"], target = "") => {
    const share = (part: number) => `~${kb((s.gzipBytes * part) / s.bytes)}`;
    row(label, kb(s.bytes), kb(s.gzipBytes), `${s.files} file(s)`);
    if (s.split.mecha === 0) return;
    row("  mecha: core, adapter, components", kb(s.split.mecha), share(s.split.mecha), target);
    row("  dependencies", kb(s.split.dependencies), share(s.split.dependencies));
    row("  functions (the user's code)", kb(s.split.functions), share(s.split.functions));
  };
  row("", "minified", "min+gzip");
  measured("plain handler, whole package", plain.whole);
  measured("mecha example app, whole package", mecha.whole, "(target <= 30 KB min+gzip)");
  measured("plain handler, cold-start load", plain.startup);
  measured("mecha example app, cold-start load", mecha.startup);

  const dependencies = Object.entries(mecha.dependencies).sort((a, b) => b[1] - a[1]);
  const brought = mecha.whole.split.mecha + dependencies.reduce((sum, [name, bytes]) => (name === "AWS SDK" ? sum : sum + bytes), 0);
  lines.push(
    `dependencies (KB minified): ${dependencies.map(([name, bytes]) => `${name} ${fmt(bytes / 1024)}`).join(", ")}`,
    `mecha's code + the dependencies it brings (all but the AWS SDK): ${kb(brought)}, ~${kb((mecha.whole.gzipBytes * brought) / mecha.whole.bytes)} min+gzip`,
    `cold-start load: mecha adds ${kb(mecha.startup.gzipBytes - plain.startup.gzipBytes)} min+gzip to the plain handler's`,
  );
  return lines.join("\n");
}

function formatColdStart({ options, cold }: LambdaBenchResult): string {
  const total = (side: ColdStart) => side.importMs + side.firstInvokeMs;
  const added = total(cold.mecha) - total(cold.plain);
  const fetchLoad = cold.plain.fetchFirstUseMs - cold.mecha.fetchFirstUseMs;
  const row = (label: string, side: ColdStart) =>
    `${label.padEnd(20)}${ms(side.importMs).padStart(9)}  ${ms(side.firstInvokeMs).padStart(16)}  ${ms(total(side)).padStart(9)}`;
  return [
    `cold start: a fresh node imports index.mjs, then one HTTP API GET (median of ${options.coldRuns} alternating runs)`,
    `                       import  first invocation      total`,
    row("plain handler", cold.plain),
    row("bare Hono adapter", cold.hono),
    row("mecha (bench app)", cold.mecha),
    `module init (the import, what the issue's target is about): mecha adds ${ms(cold.mecha.importMs - cold.plain.importMs)} (target <= 10 ms)`,
    `import + first HTTP invocation: mecha adds ${ms(added)} to the plain handler (ratio ${fmt(ratio(total(cold.mecha), total(cold.plain)), 1)}x), of which:`,
    `  Node loading its fetch classes on first use (Hono's Request, Response; the plain handler uses none): ${ms(fetchLoad)}`,
    `  the rest (mecha's code: a bigger module, the App made, Hono's first request): ${ms(added - fetchLoad)}`,
    `against Hono's own Lambda adapter, which pays for the fetch classes too: mecha adds ${ms(total(cold.mecha) - total(cold.hono))}`,
  ].join("\n");
}

function formatBatches({ options, batches }: LambdaBenchResult): string {
  return [
    `SQS batch to a no-op handler (median time per batch, ${options.batchRounds} process(es) per side)`,
    `records      plain       mecha   ratio   mecha overhead per 100 records (target <= 2 ms)`,
    ...batches.map(
      ({ records, mechaMs, plainMs }) =>
        `${String(records).padEnd(7)}${ms(plainMs, 3).padStart(11)} ${ms(mechaMs, 3).padStart(11)} ${`${fmt(ratio(mechaMs, plainMs), 1)}x`.padStart(7)}   ${ms((mechaMs - plainMs) / (records / 100), 3)}`,
    ),
  ].join("\n");
}
