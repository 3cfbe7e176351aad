/** The state bench's load: get + set pairs over a fixed set of keys, some in flight at once. */

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

export interface LoadOptions {
  durationS: number;
  /** Pairs in flight at once (each worker runs one pair after another). */
  concurrency: number;
  keys: readonly string[];
}

/** Runs pairs on `concurrency` workers for `durationS` and answers pairs/s. */
export async function runLoad(side: StateSide, { durationS, concurrency, keys }: LoadOptions): Promise<number> {
  let pairs = 0;
  const started = performance.now();
  const until = started + durationS * 1000;
  const worker = async () => {
    while (performance.now() < until) {
      await side.pair(keys[Math.floor(Math.random() * keys.length)]!);
      pairs++;
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return (pairs / (performance.now() - started)) * 1000;
}

/** The counter a pair reads: absent is 0. */
export const counterValue = (value: { n: number } | undefined | null) => value?.n ?? 0;
