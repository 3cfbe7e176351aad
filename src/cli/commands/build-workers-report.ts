/** What `mecha build --target workers` prints: the bundle, its queues, bindings and Cron Triggers. */
import type { WorkersBuildResult, WorkersConfigCheck } from "../../build/workers/build.ts";
import type { CommandOutcome } from "../command.ts";
import { ExitCodes } from "../errors.ts";
import type { CliIo, Output } from "../output.ts";
import { displayPath, formatBytes } from "../paths.ts";

/** Prints what `mecha build --target workers` wrote. */
export function reportWorkersBuild(result: WorkersBuildResult, json: boolean, io: CliIo, output: Output): void {
  const { bundle, cloudflare } = result;
  const path = (file: string) => displayPath(io, file);
  const bindings = [
    ...cloudflare.durableObjects.map((b) => ({ binding: b.binding, kind: "durable-object", target: b.className, components: b.components })),
    ...cloudflare.kvNamespaces.map((b) => ({ binding: b.binding, kind: "kv-namespace", target: b.id, components: b.components })),
    ...cloudflare.r2Buckets.map((b) => ({ binding: b.binding, kind: "r2-bucket", target: b.bucketName, components: b.components })),
    ...cloudflare.queues.map((q) => ({ binding: q.producerBinding, kind: "queue-producer", target: q.queue, components: [q.pubsub] })),
  ];
  if (json) {
    output.json({
      target: "workers",
      bundle: { path: path(bundle.file), bytes: bundle.size.bytes, gzipBytes: bundle.size.gzipBytes, split: bundle.size.split },
      metafile: path(bundle.metafile),
      entry: path(result.entryFile),
      resources: path(result.resourcesFile),
      config: { path: path(result.configPath), changed: result.configChanged },
      queues: cloudflare.queues.map((q) => ({
        queue: q.queue,
        deadLetterQueue: q.deadLetterQueue,
        binding: q.producerBinding,
        subscription: q.subscription,
        pubsub: q.pubsub,
        topic: q.topic,
        maxRetries: q.maxRetries,
      })),
      bindings,
      crons: cloudflare.crons,
      nodeBuiltins: bundle.nodeBuiltins,
      warnings: cloudflare.warnings,
    });
    return;
  }
  const { bold, cyan, dim, green } = output.color;
  const { split } = bundle.size;
  const lines = [
    `${green("✓")} built ${bold(path(bundle.file))}  ${formatBytes(bundle.size.bytes)}, ${formatBytes(bundle.size.gzipBytes)} gzip`,
    dim(`  mecha ${formatBytes(split.mecha)} · dependencies ${formatBytes(split.dependencies)} · functions ${formatBytes(split.functions)}`),
  ];
  const section = (title: string, rows: Array<[string, string]>) => {
    if (!rows.length) return;
    const width = Math.max(...rows.map(([left]) => left.length));
    lines.push("", bold(title), ...rows.map(([left, right]) => `  ${cyan(left.padEnd(width))}  ${right}`));
  };
  section(
    "Queues",
    cloudflare.queues.map((q) => [q.queue, `${q.pubsub}/${q.topic} ${dim(`→ ${q.subscription} (retries ${q.maxRetries}, then ${q.deadLetterQueue})`)}`]),
  );
  section(
    "Bindings",
    bindings.map((b) => [b.binding, `${b.kind} ${b.target}${b.kind === "queue-producer" ? "" : dim(` (${b.components.join(", ")})`)}`]),
  );
  section(
    "Cron Triggers",
    cloudflare.crons.map((c) => [c.schedule, c.functions.join(", ")]),
  );
  lines.push("", `${green("✓")} ${result.configChanged ? "wrote" : "unchanged:"} ${bold(path(result.configPath))}`);
  if (cloudflare.queues.length) {
    lines.push(dim("Queues must exist before the first deploy:"));
    for (const q of cloudflare.queues) lines.push(dim(`  npx wrangler queues create ${q.queue} && npx wrangler queues create ${q.deadLetterQueue}`));
  }
  output.line(lines.join("\n"));
  for (const warning of cloudflare.warnings) output.notice(`${output.errorColor.yellow("warning:")} ${warning}`);
}

/** Prints the outcome of `mecha build --target workers --check`; exit 1 when the config is stale. */
export function reportWorkersCheck(check: WorkersConfigCheck, json: boolean, io: CliIo, output: Output): CommandOutcome {
  const path = displayPath(io, check.configPath);
  const upToDate = check.differences.length === 0;
  if (json) {
    output.json({ config: path, upToDate, differences: check.exists ? check.differences : [], exists: check.exists });
    return upToDate ? ExitCodes.ok : ExitCodes.failure;
  }
  const { bold, dim, green, red } = output.color;
  if (upToDate) {
    output.line(`${green("✓")} ${bold(path)} is up to date`);
    return ExitCodes.ok;
  }
  if (!check.exists) {
    output.line(`${red("✗")} ${bold(path)} does not exist`);
  } else {
    const marks = { added: "+", removed: "-", changed: "~" } as const;
    output.line(`${red("✗")} ${bold(path)} differs from what mecha build would write:`);
    for (const d of check.differences) output.line(`  ${marks[d.change]} ${d.key}${d.detail ? dim(`: ${d.detail}`) : dim(` (${d.change})`)}`);
  }
  output.line(dim(`run "mecha build --target workers" to write it`));
  return ExitCodes.failure;
}
