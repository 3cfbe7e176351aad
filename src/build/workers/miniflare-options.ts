/**
 * A built Worker as Miniflare runs it: the bundle and the bindings the build derived — Durable
 * Objects (SQLite-backed, as the build's migrations declare them), KV, R2, and a producer and a
 * consumer per subscription queue with the build's batch size, batch timeout, retries and
 * dead-letter queue, because Miniflare's defaults differ from production's. `mecha dev --target
 * workers` and the tests that run a build in workerd share it.
 *
 * @example
 * const { Miniflare } = await import("miniflare");
 * const mf = new Miniflare({ port: 8787, ...miniflareWorkerOptions(await buildWorkers(request)) });
 */
import { dirname } from "node:path";
import type { Json, WorkerOptions } from "miniflare";
import type { WorkersBundle } from "./bundle.ts";
import type { WorkersResources } from "./cloudflare-resources.ts";

/** What of a build Miniflare needs; a `WorkersBuildResult` is one. */
export interface MiniflareBuild {
  bundle: Pick<WorkersBundle, "file">;
  cloudflare: Pick<WorkersResources, "durableObjects" | "kvNamespaces" | "r2Buckets" | "queues">;
}

/** How to run the build, beyond what the build itself says. */
export interface MiniflareWorkerRequest {
  /** Vars and secrets: strings, or JSON values as wrangler.toml's `[vars]` allows. */
  vars?: Readonly<Record<string, Json>>;
  /** Leave these bindings out of env, to see what the Worker does without them. */
  omitBindings?: readonly string[];
  /** Overrides the build's largest queue batch. */
  maxBatchSize?: number;
  /** Overrides how long a queue consumer waits to fill a batch (seconds). */
  maxBatchTimeoutSeconds?: number;
  /** Defaults to {@link defaultCompatibilityDate}. */
  compatibilityDate?: string;
  /** Defaults to `["nodejs_compat"]`, which the bundle needs (docs/workers.md). */
  compatibilityFlags?: readonly string[];
}

/** A date every workerd that runs mecha's bundle supports. */
export const defaultCompatibilityDate = "2026-01-01";

/** The Worker options of one built Worker; spread them next to Miniflare's shared options. */
export function miniflareWorkerOptions(build: MiniflareBuild, request: MiniflareWorkerRequest = {}): WorkerOptions {
  const omit = new Set(request.omitBindings ?? []);
  const keep = <T extends { binding: string }>(list: readonly T[]) => list.filter((b) => !omit.has(b.binding));
  const { cloudflare } = build;
  const queues = cloudflare.queues.filter((q) => !omit.has(q.producerBinding));
  return {
    modules: true,
    scriptPath: build.bundle.file,
    // Module names are resolved inside the bundle's folder; the bundle is one module anyway.
    modulesRoot: dirname(build.bundle.file),
    compatibilityDate: request.compatibilityDate ?? defaultCompatibilityDate,
    compatibilityFlags: [...(request.compatibilityFlags ?? ["nodejs_compat"])],
    bindings: { ...request.vars },
    durableObjects: Object.fromEntries(keep(cloudflare.durableObjects).map((d) => [d.binding, { className: d.className, useSQLite: true }])),
    kvNamespaces: keep(cloudflare.kvNamespaces).map((k) => k.binding),
    r2Buckets: keep(cloudflare.r2Buckets).map((r) => r.binding),
    queueProducers: Object.fromEntries(queues.map((q) => [q.producerBinding, { queueName: q.queue }])),
    // A queue is consumed even when its producer is left out: other producers may still fill it.
    queueConsumers: Object.fromEntries(
      cloudflare.queues.map((q) => [
        q.queue,
        {
          maxBatchSize: request.maxBatchSize ?? q.maxBatchSize,
          maxBatchTimeout: request.maxBatchTimeoutSeconds ?? q.maxBatchTimeoutSeconds,
          maxRetries: q.maxRetries,
          deadLetterQueue: q.deadLetterQueue,
        },
      ]),
    ),
  };
}

