/**
 * The same function — read a counter, write it back incremented (bench/sidecar/counter.ts) —
 * with its state store reached two ways, on the same kind of store (`state.sqlite`):
 *
 * - **in-process**: mecha's model. The function gets a fresh per-invocation context from an App
 *   (`createApp`) in the bench process and calls `ctx.state("counters").get/.set`.
 * - **sidecar-style**: Dapr's model. The function runs in the bench process and reaches the store
 *   through Dapr's HTTP state API over loopback, served by the Node host (`daprApi`) in its own
 *   process, with two clients: Node's global fetch, and `node:http` with a keep-alive Agent (what
 *   the Dapr JS SDK runs on). The target is checked against the faster of the two.
 *
 * Each side's store is its own SQLite file. Sides run one after another, never at once: a
 * warm-up each, then rounds whose order rotates, so drift on a shared machine moves them all.
 * Besides calls/s and latency, each side reports the CPU a call costs, counting the sidecar
 * process's too (from /proc, on Linux): a sidecar's work runs on the same machine's cores.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { componentCatalog } from "../../src/components/catalog.ts";
import { loadResources } from "../../src/config/load.ts";
import { createApp } from "../../src/core/app.ts";
import { silentLogger } from "../../src/core/logger.ts";
import { apiTokenFromEnv } from "../../src/dapr-api/api-token.ts";
import { fmt, ratio, startServer, stopServer } from "../support.ts";
import { appId, storeName, writeSideFolder } from "./components.ts";
import { bumpCounter } from "./counter.ts";
import { daprHttpState, type HttpClientKind } from "./dapr-http-state.ts";
import { runLoad, type KeyLoadResult } from "../key-load.ts";
import { processCpuMs } from "./process-cpu.ts";

export interface SidecarBenchOptions {
  rounds: number;
  /** Seconds each side runs per round. */
  durationS: number;
  /** Function calls in flight at once. */
  concurrency: number;
  /** How many distinct counter keys the calls spread over. */
  keys: number;
}

export interface SidecarSideResult {
  label: string;
  /** Each round's result, in order. */
  runs: KeyLoadResult[];
  /** The round with the median throughput (its latencies come with it). */
  median: KeyLoadResult;
  /** In-process calls/s over this side's, the median of the rounds' ratios (sidecar-style sides only). */
  inProcessRatio?: number;
}

export interface SidecarBenchResult {
  options: SidecarBenchOptions;
  /** The in-process side first, then the sidecar-style sides. */
  sides: [SidecarSideResult, ...SidecarSideResult[]];
  /** The in-process ratio over the fastest sidecar-style side: the number the target is about. */
  throughputRatio: number;
}

/** The in-process path must reach at least this many times the sidecar-style throughput. */
export const targetRatio = 3;

const sidecarClients: ReadonlyArray<{ client: HttpClientKind; label: string }> = [
  { client: "fetch", label: "sidecar-style: fetch → Dapr HTTP API (loopback)" },
  { client: "node:http", label: "sidecar-style: node:http → Dapr HTTP API (loopback)" },
];

export async function benchSidecar(options: SidecarBenchOptions): Promise<SidecarBenchResult> {
  const dir = await mkdtemp(join(tmpdir(), "mecha-bench-sidecar-"));
  const folders = { inProcess: join(dir, "in-process"), sidecar: join(dir, "sidecar") };
  await Promise.all([writeSideFolder(folders.inProcess), writeSideFolder(folders.sidecar)]);
  const app = createApp({
    appId,
    resources: await loadResources(join(folders.inProcess, "components")),
    modules: [],
    catalog: componentCatalog,
    baseDir: folders.inProcess,
    logger: silentLogger,
  });
  const server = await startServer(join(import.meta.dirname, "sidecar-server.ts"), [folders.sidecar]);
  const remotes = sidecarClients.map(({ client }) =>
    daprHttpState({ baseUrl: server.url, store: storeName, client, apiToken: apiTokenFromEnv(process.env) }),
  );
  const sides = [
    // A context per call, as the host makes one per invocation.
    { label: "in-process: ctx.state(…) → state.sqlite", viaSidecar: false, call: (key: string) => bumpCounter(app.runtime.createContext().state(storeName), key) },
    ...sidecarClients.map(({ label }, i) => ({ label, viaSidecar: true, call: (key: string) => bumpCounter(remotes[i]!, key) })),
  ];
  const keys = Array.from({ length: options.keys }, (_, i) => `c${i}`);
  const load = { concurrency: options.concurrency, keys };
  // The sidecar's CPU is part of what a call costs when it goes through the sidecar.
  const measure = async (side: (typeof sides)[number], durationS: number): Promise<KeyLoadResult> => {
    const before = side.viaSidecar ? await processCpuMs(server.child.pid!) : undefined;
    const result = await runLoad(side.call, { ...load, durationS });
    const after = before === undefined ? undefined : await processCpuMs(server.child.pid!);
    if (before === undefined || after === undefined) return result;
    return { ...result, sidecarCpuUsPerCall: ((after - before) * 1000) / Math.max(1, result.calls) };
  };
  const runs = sides.map(() => [] as KeyLoadResult[]);
  try {
    for (const side of sides) await measure(side, Math.min(0.5, options.durationS));
    for (let round = 0; round < options.rounds; round++) {
      for (let turn = 0; turn < sides.length; turn++) {
        const side = (round + turn) % sides.length;
        runs[side]!.push(await measure(sides[side]!, options.durationS));
      }
    }
  } finally {
    for (const remote of remotes) remote.close();
    await stopServer(server.child);
    await app.runtime.close();
    await rm(dir, { recursive: true, force: true });
  }
  const [inProcess, ...sidecars] = sides.map((side, i) => ({ label: side.label, runs: runs[i]!, median: medianRun(runs[i]!) }));
  const compared = sidecars.map((side) => ({ ...side, inProcessRatio: roundRatio(inProcess!.runs, side.runs) }));
  return { options, sides: [inProcess!, ...compared], throughputRatio: Math.min(...compared.map((side) => side.inProcessRatio)) };
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
const medianRun = (results: KeyLoadResult[]) => [...results].sort((a, b) => a.opsPerSecond - b.opsPerSecond)[Math.floor(results.length / 2)]!;

/** The median over rounds of the two sides' ratio in the same round: a round's sides run back to back, so load from elsewhere moves both. */
const roundRatio = (a: KeyLoadResult[], b: KeyLoadResult[]) => median(a.map((run, round) => ratio(run.opsPerSecond, b[round]!.opsPerSecond)));

export function formatSidecar({ options, sides, throughputRatio }: SidecarBenchResult): string {
  const [inProcess] = sides;
  const rows = [
    ["", "calls/s", "p50 ms", "p99 ms", "CPU µs/call", "errors", "in-process/this", "rounds (calls/s)"],
    ...sides.map(({ label, median: m, runs, inProcessRatio }) => [
      label,
      fmt(m.opsPerSecond),
      fmt(m.p50Ms, 2),
      fmt(m.p99Ms, 2),
      m.sidecarCpuUsPerCall === undefined ? fmt(m.cpuUsPerCall) : `${fmt(m.cpuUsPerCall)} + ${fmt(m.sidecarCpuUsPerCall)}`,
      String(runs.reduce((sum, run) => sum + run.errors, 0)),
      inProcessRatio === undefined ? "" : `${fmt(inProcessRatio, 1)}x`,
      `(${runs.map((run) => fmt(run.opsPerSecond)).join(", ")})`,
    ]),
  ];
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  const last = widths.length - 1;
  const table = rows.map((r) => r.map((c, i) => (i === 0 || i === last ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join("  ").trimEnd()).join("\n");
  const fastest = sides.slice(1).reduce((a, b) => (b.median.opsPerSecond > a.median.opsPerSecond ? b : a));
  const failures = sides.flatMap((side) => side.runs.filter((run) => run.firstError).map((run) => `${side.label}: first error: ${run.firstError}`)).slice(0, 3);
  return [
    `get + set of a counter over ${options.keys} keys on state.sqlite, ${options.concurrency} calls in flight, median of ${options.rounds} round(s) × ${options.durationS} s per side`,
    table,
    `throughput ratio in-process/sidecar (the faster sidecar client): ${fmt(throughputRatio, 1)}x (target >= ${targetRatio}x: ${throughputRatio >= targetRatio ? "met" : "NOT met"})`,
    `p99 ratio sidecar/in-process (the faster sidecar client):       ${fmt(ratio(fastest.median.p99Ms, inProcess.median.p99Ms), 1)}x`,
    "CPU µs/call: user + system time per call in the function's process (+ in the sidecar's, from /proc on Linux), in the median round",
    ...failures,
  ].join("\n");
}
