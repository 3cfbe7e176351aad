/**
 * Runs a Worker built by `mecha build --target workers` in Miniflare (workerd), with the
 * bindings the build derived — the same options `mecha dev --target workers` uses. Queue
 * consumers wait only 50 ms to fill a batch, so tests do not wait on production's timeout.
 */
import { Miniflare } from "miniflare";
import type { WorkersBuildResult } from "../../src/build/workers/build.ts";
import { miniflareWorkerOptions, type MiniflareWorkerRequest } from "../../src/build/workers/miniflare-options.ts";

export function startBuiltWorker(build: WorkersBuildResult, options: MiniflareWorkerRequest = {}): Miniflare {
  return new Miniflare(miniflareWorkerOptions(build, { maxBatchTimeoutSeconds: 0.05, ...options }));
}
