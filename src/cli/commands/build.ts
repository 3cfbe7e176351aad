/**
 * `mecha build --target workers`: bundle the app as a Cloudflare Worker and write the bindings it
 * needs (queues, Durable Objects, KV, R2, Cron Triggers) into wrangler.toml. `--check` writes
 * nothing and fails when wrangler.toml is not what the build would write (for CI).
 */
import { relative } from "node:path";
import { BuildError } from "../../build/errors.ts";
import { buildWorkers, checkWorkersConfig, type WorkersBuildRequest, type WorkersBuildResult, type WorkersConfigCheck } from "../../build/workers/build.ts";
import { defaults, expectPositionals, helpHint, parseCommand, sharedOptions, type ParsedValues } from "../args.ts";
import type { CommandOutcome, CommandRun } from "../command.ts";
import { CliError, ExitCodes, UsageError } from "../errors.ts";
import type { CliIo, Output } from "../output.ts";
import { formatUsage, type UsageText } from "../usage.ts";

const targets = ["workers"] as const;

const buildOptions = {
  target: { type: "string", short: "t", placeholder: "platform", description: `the platform to build for: ${targets.join(", ")}` },
  resources: {
    ...sharedOptions.resources,
    description: "resources folder with the platform's component YAML",
    defaultValue: defaults.workersResources,
  },
  functions: sharedOptions.functions,
  "app-id": { ...sharedOptions["app-id"], description: "app id: subscription and queue names, state key prefix" },
  out: { type: "string", short: "o", placeholder: "dir", description: "output folder", defaultValue: defaults.workersOut },
  config: { type: "string", short: "c", placeholder: "file", description: "wrangler config to write the bindings into", defaultValue: defaults.wranglerConfig },
  minify: { type: "boolean", description: "minify the bundle" },
  check: { type: "boolean", description: "write nothing; exit 1 when the wrangler config is not what the build would write" },
  json: { ...sharedOptions.json, description: "print the result as one JSON line" },
  help: sharedOptions.help,
} as const;

const usage: UsageText = {
  synopsis: "mecha build --target workers [options]",
  description:
    "Bundles the functions, the runtime and only the components the resources folder uses into\n" +
    "<out>/index.js, and writes the bindings the app needs into the wrangler config: a queue and a\n" +
    "dead-letter queue per subscription, Durable Objects, KV namespaces, R2 buckets and Cron\n" +
    "Triggers. Then `npx wrangler deploy` deploys it.",
  options: buildOptions,
  examples: [
    "mecha build --target workers",
    "mecha build --target workers --minify --json",
    "mecha build --target workers --check",
  ],
};

/** Runs `mecha build`. */
export async function run({ argv, io, output }: CommandRun): Promise<CommandOutcome> {
  const { values, positionals } = parseCommand("build", argv, buildOptions);
  if (values.help) {
    output.line(formatUsage(usage, output.color));
    return ExitCodes.ok;
  }
  expectPositionals("build", positionals, []);
  readTarget(values.target);
  const request: WorkersBuildRequest = {
    projectDir: io.cwd,
    resources: values.resources ?? defaults.workersResources,
    functions: values.functions ?? defaults.functions,
    appId: values["app-id"] ?? defaults.appId,
    out: values.out ?? defaults.workersOut,
    config: values.config ?? defaults.wranglerConfig,
    minify: values.minify ?? false,
    env: io.env,
  };
  try {
    if (values.check) return reportCheck(await checkWorkersConfig(request), values, io, output);
    const result = await buildWorkers(request);
    reportBuild(result, values, io, output);
    return ExitCodes.ok;
  } catch (error) {
    if (error instanceof BuildError) throw new CliError(error.message, { cause: error });
    throw error;
  }
}

function readTarget(target: string | undefined): (typeof targets)[number] {
  if (target === undefined) throw new UsageError(`missing --target for "mecha build" (expected ${targets.join(", ")})`, helpHint("build"));
  if (!(targets as readonly string[]).includes(target)) {
    throw new UsageError(`--target must be ${targets.join(", ")}, got "${target}" (node and lambda builds are not available yet)`, helpHint("build"));
  }
  return target as (typeof targets)[number];
}

function reportBuild(result: WorkersBuildResult, values: ParsedValues<typeof buildOptions>, io: CliIo, output: Output): void {
  const { bundle, cloudflare } = result;
  const path = (file: string) => displayPath(io, file);
  const bindings = [
    ...cloudflare.durableObjects.map((b) => ({ binding: b.binding, kind: "durable-object", target: b.className, components: b.components })),
    ...cloudflare.kvNamespaces.map((b) => ({ binding: b.binding, kind: "kv-namespace", target: b.id, components: b.components })),
    ...cloudflare.r2Buckets.map((b) => ({ binding: b.binding, kind: "r2-bucket", target: b.bucketName, components: b.components })),
    ...cloudflare.queues.map((q) => ({ binding: q.producerBinding, kind: "queue-producer", target: q.queue, components: [q.pubsub] })),
  ];
  if (values.json) {
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

function reportCheck(check: WorkersConfigCheck, values: ParsedValues<typeof buildOptions>, io: CliIo, output: Output): CommandOutcome {
  const path = displayPath(io, check.configPath);
  const upToDate = check.differences.length === 0;
  if (values.json) {
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

function displayPath(io: CliIo, file: string): string {
  const rel = relative(io.cwd, file);
  return rel && !rel.startsWith("..") ? rel : file;
}

function formatBytes(bytes: number): string {
  return bytes < 1024 ? `${bytes} B` : `${(bytes / 1024).toFixed(1)} KB`;
}
