/**
 * Runs a Worker built by `mecha build --target workers` in Miniflare (workerd), with the
 * bindings the build derived: Durable Objects, KV, R2 and Queues. Queue consumers get explicit
 * batch size, batch timeout and retries, because Miniflare's defaults differ from production's.
 */
import { Miniflare } from "miniflare";
import { dirname } from "node:path";
import type { WorkersBuildResult } from "../../src/build/workers/build.ts";

export interface WorkerHarnessOptions {
  /** Extra string bindings (vars and secrets). */
  vars?: Record<string, string>;
  /** Leave these bindings out of env, to test what a Worker does without them. */
  omitBindings?: string[];
  /** Queue batches: largest size, and how long to wait to fill one (seconds). */
  maxBatchSize?: number;
  maxBatchTimeoutSeconds?: number;
}

export function startBuiltWorker(build: WorkersBuildResult, options: WorkerHarnessOptions = {}): Miniflare {
  const omit = new Set(options.omitBindings ?? []);
  const keep = <T extends { binding: string }>(list: readonly T[]) => list.filter((b) => !omit.has(b.binding));
  const { cloudflare } = build;
  return new Miniflare({
    modules: true,
    scriptPath: build.bundle.file,
    // Module names are resolved inside this folder; the bundle is one module anyway.
    modulesRoot: dirname(build.bundle.file),
    compatibilityDate: "2026-01-01",
    compatibilityFlags: ["nodejs_compat"],
    bindings: options.vars ?? {},
    durableObjects: Object.fromEntries(
      keep(cloudflare.durableObjects).map((d) => [d.binding, { className: d.className, useSQLite: true }]),
    ),
    kvNamespaces: keep(cloudflare.kvNamespaces).map((k) => k.binding),
    r2Buckets: keep(cloudflare.r2Buckets).map((r) => r.binding),
    queueProducers: Object.fromEntries(
      cloudflare.queues.filter((q) => !omit.has(q.producerBinding)).map((q) => [q.producerBinding, { queueName: q.queue }]),
    ),
    queueConsumers: Object.fromEntries(
      cloudflare.queues.map((q) => [
        q.queue,
        {
          maxBatchSize: options.maxBatchSize ?? q.maxBatchSize,
          maxBatchTimeout: options.maxBatchTimeoutSeconds ?? 0.05,
          maxRetries: q.maxRetries,
          deadLetterQueue: q.deadLetterQueue,
        },
      ]),
    ),
  });
}
