/**
 * Load for the benches that call one function over a fixed set of keys (state clients, sidecar):
 * `concurrency` workers, one call after another each, for a fixed time, every call timed.
 */

export interface LoadOptions {
  durationS: number;
  /** Calls in flight at once (each worker makes one call after another). */
  concurrency: number;
  keys: readonly string[];
}

export interface KeyLoadResult {
  /** Calls that completed. */
  calls: number;
  opsPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  /** CPU time (user + system) this process spent per call, in µs. */
  cpuUsPerCall: number;
  /** CPU time another process (the sidecar) spent per call, in µs, where it was measured. */
  sidecarCpuUsPerCall?: number;
  /** Calls that threw; they are not counted in `opsPerSecond`. */
  errors: number;
  /** The first error's message, to say what went wrong. */
  firstError?: string;
}

/** Runs `call` on `concurrency` workers for `durationS`; answers calls/s and per-call latency percentiles. */
export async function runLoad(call: (key: string) => Promise<void>, { durationS, concurrency, keys }: LoadOptions): Promise<KeyLoadResult> {
  const latencies: number[] = [];
  let errors = 0;
  let firstError: string | undefined;
  const cpu = process.cpuUsage();
  const started = performance.now();
  const until = started + durationS * 1000;
  const worker = async () => {
    for (let now = performance.now(); now < until; ) {
      try {
        await call(keys[Math.floor(Math.random() * keys.length)]!);
        const end = performance.now();
        latencies.push(end - now);
        now = end;
      } catch (error) {
        errors++;
        firstError ??= (error as Error).message;
        now = performance.now();
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  const elapsed = performance.now() - started;
  const { user, system } = process.cpuUsage(cpu);
  const sorted = Float64Array.from(latencies).sort();
  return {
    calls: latencies.length,
    opsPerSecond: (latencies.length / elapsed) * 1000,
    p50Ms: percentile(sorted, 0.5),
    p99Ms: percentile(sorted, 0.99),
    cpuUsPerCall: (user + system) / Math.max(1, latencies.length),
    errors,
    ...(firstError !== undefined ? { firstError } : {}),
  };
}

/** Nearest-rank percentile of ascending `sorted`. */
function percentile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil(p * sorted.length) - 1)]!;
}
