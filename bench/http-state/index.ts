/**
 * An HTTP function doing a state get + set on the Node host, against a bare Hono handler doing
 * the same work on the same store. Servers alternate (A B A B …) so drift on a shared machine
 * hits both; each runs in its own process, with autocannon in this one.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fmt, load, ratio, startServer, stopServer, type LoadResult } from "../support.ts";

export interface HttpStateOptions {
  rounds: number;
  durationS: number;
  connections: number;
}

export async function benchHttpState(options: HttpStateOptions): Promise<{ mecha: LoadResult; bare: LoadResult }> {
  const dir = await mkdtemp(join(tmpdir(), "mecha-bench-"));
  const servers = {
    mecha: await startServer(join(import.meta.dirname, "mecha-server.ts"), [dir]),
    bare: await startServer(join(import.meta.dirname, "bare-server.ts"), [dir]),
  };
  const runs: Record<"mecha" | "bare", LoadResult[]> = { mecha: [], bare: [] };
  const path = () => `/counter/c${Math.floor(Math.random() * 100)}`;
  try {
    for (const name of ["mecha", "bare"] as const) {
      await load({ url: servers[name].url, path, method: "POST", durationS: 1, connections: options.connections }); // warm-up
    }
    for (let round = 0; round < options.rounds; round++) {
      for (const name of round % 2 === 0 ? (["mecha", "bare"] as const) : (["bare", "mecha"] as const)) {
        runs[name].push(await load({ url: servers[name].url, path, method: "POST", durationS: options.durationS, connections: options.connections }));
      }
    }
  } finally {
    await Promise.all(Object.values(servers).map((s) => stopServer(s.child)));
    await rm(dir, { recursive: true, force: true });
  }
  return { mecha: median(runs.mecha), bare: median(runs.bare) };
}

/** The run with the median throughput (its latencies come with it). */
function median(results: LoadResult[]): LoadResult {
  const sorted = [...results].sort((a, b) => a.requestsPerSecond - b.requestsPerSecond);
  return sorted[Math.floor(sorted.length / 2)]!;
}

export function formatHttpState({ mecha, bare }: { mecha: LoadResult; bare: LoadResult }): string {
  const rows = [
    ["", "req/s", "p50 ms", "p99 ms", "errors", "non-2xx"],
    ["bare Hono + better-sqlite3", fmt(bare.requestsPerSecond), fmt(bare.p50Ms, 1), fmt(bare.p99Ms, 1), String(bare.errors), String(bare.non2xx)],
    ["mecha (Node host, state.sqlite)", fmt(mecha.requestsPerSecond), fmt(mecha.p50Ms, 1), fmt(mecha.p99Ms, 1), String(mecha.errors), String(mecha.non2xx)],
  ];
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  const table = rows.map((r) => r.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join("  ")).join("\n");
  return `${table}
throughput ratio mecha/bare: ${fmt(ratio(mecha.requestsPerSecond, bare.requestsPerSecond), 3)}x (target >= 0.95x)
p99 ratio mecha/bare:        ${fmt(ratio(mecha.p99Ms, bare.p99Ms), 3)}x (lower is better)`;
}
