/**
 * The Workers bundle: its size (minified, gzipped), split into mecha, third-party dependencies
 * and the user's functions, and the time workerd takes to load it — beside a bare Hono Worker
 * serving the same routes, built and started the same way in the same run.
 */
import { build } from "esbuild";
import { Miniflare } from "miniflare";
import { copyFile, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { gzipSync } from "node:zlib";
import { buildWorkers } from "../../src/build/workers/build.ts";
import { workerdBuildOptions } from "../../src/build/workers/bundle.ts";
import { fmt, ratio } from "../support.ts";

const repo = resolve(import.meta.dirname, "../..");

export interface WorkersBundleResult {
  mecha: { bytes: number; gzipBytes: number; split: { mecha: number; dependencies: number; functions: number }; startMs: number };
  bare: { bytes: number; gzipBytes: number; startMs: number };
}

export async function benchWorkersBundle(startRuns = 5): Promise<WorkersBundleResult> {
  const dir = await mkdtemp(join(tmpdir(), "mecha-bench-workers-"));
  try {
    // The repo's own example, built into a temp folder against a copy of wrangler.toml, so
    // that the bench leaves the repo as it was.
    await copyFile(join(repo, "wrangler.toml"), join(dir, "wrangler.toml"));
    const mecha = await buildWorkers({
      projectDir: repo,
      resources: "components/cloudflare",
      functions: "functions",
      appId: "mecha-app",
      out: join(dir, "dist"),
      config: join(dir, "wrangler.toml"),
      minify: true,
    });
    const bareFile = join(dir, "bare/index.js");
    await build({
      entryPoints: [join(import.meta.dirname, "bare-worker.ts")],
      outfile: bareFile,
      ...workerdBuildOptions,
      minify: true,
      external: ["cloudflare:*"],
      logLevel: "silent",
    });
    const bareBytes = (await import("node:fs")).readFileSync(bareFile);

    const mechaOptions = {
      scriptPath: mecha.bundle.file,
      durableObjects: Object.fromEntries(mecha.cloudflare.durableObjects.map((d) => [d.binding, { className: d.className, useSQLite: true }])),
      r2Buckets: mecha.cloudflare.r2Buckets.map((r) => r.binding),
      queueProducers: Object.fromEntries(mecha.cloudflare.queues.map((q) => [q.producerBinding, { queueName: q.queue }])),
    };
    const bareOptions = {
      scriptPath: bareFile,
      durableObjects: { ORDERS: { className: "Orders", useSQLite: true } },
      r2Buckets: ["RECEIPTS"],
      queueProducers: { PLACED: { queueName: "placed" } },
    };
    const startMs = { mecha: [] as number[], bare: [] as number[] };
    for (let run = 0; run < startRuns; run++) {
      for (const [name, options] of [["mecha", mechaOptions], ["bare", bareOptions]] as const) {
        startMs[name].push(await timeStart(options));
      }
    }
    return {
      mecha: { ...mecha.bundle.size, startMs: median(startMs.mecha) },
      bare: { bytes: bareBytes.byteLength, gzipBytes: gzipSync(bareBytes, { level: 9 }).byteLength, startMs: median(startMs.bare) },
    };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** From `new Miniflare` to the first answer: workerd starting, loading the module, serving. */
async function timeStart(options: { scriptPath: string } & Record<string, unknown>): Promise<number> {
  const started = performance.now();
  const mf = new Miniflare({
    modules: true,
    modulesRoot: dirname(options.scriptPath),
    compatibilityDate: "2026-01-01",
    compatibilityFlags: ["nodejs_compat"],
    ...options,
  });
  try {
    await (await mf.dispatchFetch("http://worker/orders/none")).arrayBuffer();
    return performance.now() - started;
  } finally {
    await mf.dispose();
  }
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
const kb = (bytes: number) => `${fmt(bytes / 1024, 1)} KB`;

export function formatWorkersBundle({ mecha, bare }: WorkersBundleResult): string {
  // esbuild reports each part's bytes in the minified output; gzip works on the whole file, so a
  // part's gzipped share is estimated in proportion to its minified bytes.
  const gzipShare = (part: number) => (mecha.gzipBytes * part) / mecha.bytes;
  return [
    `                        minified   min+gzip   start (workerd, median)`,
    `bare Hono Worker        ${kb(bare.bytes).padStart(9)}  ${kb(bare.gzipBytes).padStart(9)}   ${fmt(bare.startMs)} ms`,
    `mecha Worker (example)  ${kb(mecha.bytes).padStart(9)}  ${kb(mecha.gzipBytes).padStart(9)}   ${fmt(mecha.startMs)} ms`,
    `  mecha core + adapter  ${kb(mecha.split.mecha).padStart(9)}  ~${kb(gzipShare(mecha.split.mecha)).padStart(8)}   (target <= 30 KB min+gzip)`,
    `  dependencies          ${kb(mecha.split.dependencies).padStart(9)}  ~${kb(gzipShare(mecha.split.dependencies)).padStart(8)}`,
    `  user functions        ${kb(mecha.split.functions).padStart(9)}  ~${kb(gzipShare(mecha.split.functions)).padStart(8)}`,
    `size ratio mecha/bare (min+gzip): ${fmt(ratio(mecha.gzipBytes, bare.gzipBytes), 2)}x · start ratio: ${fmt(ratio(mecha.startMs, bare.startMs), 2)}x`,
  ].join("\n");
}
