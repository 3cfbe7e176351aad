/**
 * State get + set through mecha's state client beside the raw client of the same store, in one
 * process: Redis (redis.ts) and PostgreSQL (postgresql.ts); each file says what its sides do.
 *
 * The work is the HTTP bench's counter without the HTTP: over 100 keys, read `{ n }` and write
 * `{ n: n + 1 }` back (last write wins, no etag), with `concurrency` pairs in flight. Sides take
 * turns in an order that rotates each round, after a warm-up each; the median pairs/s over rounds
 * is reported. A store that is not running is skipped.
 */
import { isListening, services, type ServiceName } from "../../test/support/services.ts";
import { freshName } from "../../test/support/wait.ts";
import { fmt, ratio } from "../support.ts";
import { pairsPerSecond, type StateBackend } from "./load.ts";
import { postgresqlStateBackend } from "./postgresql.ts";
import { redisStateBackend } from "./redis.ts";

export interface StateBenchOptions {
  rounds: number;
  /** Seconds each side runs per round. */
  durationS: number;
  /** get + set pairs in flight at once. */
  concurrency: number;
  /** How many distinct keys the pairs spread over. */
  keys: number;
}

export interface StateSideResult {
  label: string;
  /** get + set pairs/s of each round, in order. */
  runs: number[];
  median: number;
}

export interface StateBackendResult {
  name: string;
  skipped?: string;
  /** mecha first, then the baselines; the first baseline is the target's. */
  sides: StateSideResult[];
}

const postgresUrl = process.env["MECHA_TEST_POSTGRES_URL"] ?? `postgres://postgres@${services.postgresql.host}:${services.postgresql.port}/test`;

const backends: Array<{ name: string; service: ServiceName; open: (keys: readonly string[]) => Promise<StateBackend> }> = [
  { name: "Redis", service: "redis", open: (keys) => redisStateBackend(freshName("bench-state"), keys) },
  { name: "PostgreSQL", service: "postgresql", open: () => postgresqlStateBackend(postgresUrl, freshName("bench_state").replace(/-/g, "_")) },
];

export async function benchStateClients(options: StateBenchOptions): Promise<{ options: StateBenchOptions; backends: StateBackendResult[] }> {
  const keys = Array.from({ length: options.keys }, (_, i) => `c${i}`);
  const load = { concurrency: options.concurrency, keys };
  const results: StateBackendResult[] = [];
  for (const { name, service, open } of backends) {
    const { host, port } = services[service];
    if (!(await isListening(host, port))) {
      results.push({ name, skipped: `${services[service].name} is not reachable on ${host}:${port}`, sides: [] });
      continue;
    }
    const backend = await open(keys);
    try {
      const runs = backend.sides.map(() => [] as number[]);
      for (const side of backend.sides) await pairsPerSecond(side, { ...load, durationS: Math.min(1, options.durationS) });
      for (let round = 0; round < options.rounds; round++) {
        for (let turn = 0; turn < backend.sides.length; turn++) {
          const side = (round + turn) % backend.sides.length;
          runs[side]!.push(await pairsPerSecond(backend.sides[side]!, { ...load, durationS: options.durationS }));
        }
      }
      results.push({ name, sides: backend.sides.map((side, i) => ({ label: side.label, runs: runs[i]!, median: median(runs[i]!) })) });
    } finally {
      await Promise.all(backend.sides.map((side) => side.close()));
      await backend.close();
    }
  }
  return { options, backends: results };
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

/**
 * mecha's rate over a baseline's, the median over rounds of the two sides' runs in the same round:
 * a round's sides run back to back, so load from elsewhere on the machine moves both.
 */
const roundRatio = (mecha: { runs: number[] }, baseline: { runs: number[] }) =>
  median(mecha.runs.map((run, round) => ratio(run, baseline.runs[round]!)));

export function formatStateClients({ options, backends: results }: { options: StateBenchOptions; backends: StateBackendResult[] }): string {
  return results
    .map(({ name, skipped, sides }) => {
      if (skipped) return `${name}: skipped (${skipped})`;
      const [mecha, ...baselines] = sides as [StateSideResult, ...StateSideResult[]];
      const width = Math.max(...sides.map((s) => s.label.length));
      const row = (side: StateSideResult, note = "") =>
        `${side.label.padEnd(width)}  ${fmt(side.median).padStart(7)}  ${`(${side.runs.map((r) => fmt(r)).join(", ")})`.padEnd(8 * options.rounds)}  ${note}`.trimEnd();
      return [
        `${name}: get + set pairs/s over ${options.keys} keys, ${options.concurrency} in flight, median of ${options.rounds} round(s) × ${options.durationS} s`,
        ...baselines.map((b, i) => row(b, `mecha/this ${fmt(roundRatio(mecha, b), 2)}x${i === 0 ? " (target >= 0.9x)" : ""}`)),
        row(mecha),
      ].join("\n");
    })
    .join("\n\n");
}
