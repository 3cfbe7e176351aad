/** The state bench's load: get + set pairs over a fixed set of keys, some in flight at once. */
import { runLoad, type LoadOptions } from "../key-load.ts";

/** One side of the comparison: reads a counter and writes it back incremented. */
export interface StateSide {
  label: string;
  /** A get of `key`, then a set of `{ n: n + 1 }` (last write wins, no etag). */
  pair(key: string): Promise<void>;
  close(): Promise<void>;
}

/** A store with its sides; `sides[0]` is mecha, the others are baselines. */
export interface StateBackend {
  name: string;
  sides: StateSide[];
  /** Removes what the bench wrote and closes what the backend holds besides its sides. */
  close(): Promise<void>;
}

/** Pairs per second of one side over `durationS`; a pair that throws stops the bench, naming the side. */
export async function pairsPerSecond(side: StateSide, options: LoadOptions): Promise<number> {
  const result = await runLoad((key) => side.pair(key), options);
  if (result.errors) throw new Error(`${side.label}: ${result.errors} pair(s) failed, first: ${result.firstError}`);
  return result.opsPerSecond;
}

/** The counter a pair reads: absent is 0. */
export const counterValue = (value: { n: number } | undefined | null) => value?.n ?? 0;
