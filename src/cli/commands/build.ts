/**
 * `mecha build --target workers|lambda`: bundle the app for a platform with the platform's
 * config. Workers: the bindings (queues, Durable Objects, KV, R2, Cron Triggers) go into
 * wrangler.toml, and `--check` writes nothing and fails when wrangler.toml is not what the build
 * would write (for CI). Lambda: a zip-ready folder and an AWS SAM template beside it.
 */
import { BuildError } from "../../build/errors.ts";
import { buildLambda } from "../../build/lambda/build.ts";
import { buildWorkers, checkWorkersConfig } from "../../build/workers/build.ts";
import { defaults, expectPositionals, helpHint, parseCommand, sharedOptions, type ParsedValues } from "../args.ts";
import type { CommandOutcome, CommandRun } from "../command.ts";
import { CliError, ExitCodes, UsageError } from "../errors.ts";
import { formatUsage, type UsageText } from "../usage.ts";
import { reportLambdaBuild } from "./build-lambda-report.ts";
import { reportWorkersBuild, reportWorkersCheck } from "./build-workers-report.ts";

const targets = ["workers", "lambda"] as const;
type Target = (typeof targets)[number];

/** Each target's default resources folder and output folder. */
const targetDefaults: Readonly<Record<Target, { resources: string; out: string }>> = {
  workers: { resources: defaults.workersResources, out: defaults.workersOut },
  lambda: { resources: defaults.lambdaResources, out: defaults.lambdaOut },
};

const buildOptions = {
  target: { type: "string", short: "t", placeholder: "platform", description: `the platform to build for: ${targets.join(", ")}` },
  resources: {
    ...sharedOptions.resources,
    description: `resources folder with the platform's component YAML (default ${defaults.workersResources} or ${defaults.lambdaResources})`,
    defaultValue: undefined,
  },
  functions: sharedOptions.functions,
  "app-id": { ...sharedOptions["app-id"], description: "app id: subscription and queue names, state key prefix" },
  out: { type: "string", short: "o", placeholder: "dir", description: `output folder (default ${defaults.workersOut} or ${defaults.lambdaOut})` },
  config: { type: "string", short: "c", placeholder: "file", description: "workers: the wrangler config to write the bindings into", defaultValue: defaults.wranglerConfig },
  memory: { type: "string", placeholder: "MB", description: "lambda: the function's memory (default 512)" },
  timeout: { type: "string", placeholder: "seconds", description: "lambda: the function's timeout (default 30)" },
  minify: { type: "boolean", description: "minify the bundle" },
  check: { type: "boolean", description: "workers: write nothing; exit 1 when the wrangler config is not what the build would write" },
  json: { ...sharedOptions.json, description: "print the result as one JSON line" },
  help: sharedOptions.help,
} as const;

const usage: UsageText = {
  synopsis: "mecha build --target workers|lambda [options]",
  description:
    "Bundles the functions, the runtime and only the components the resources folder uses.\n" +
    "workers: <out>/index.js, and the bindings the app needs in the wrangler config (a queue and a\n" +
    "dead-letter queue per subscription, Durable Objects, KV namespaces, R2 buckets, Cron Triggers);\n" +
    "then `npx wrangler deploy`.\n" +
    "lambda: <out>/function/ (handler index.handler, Node.js 20) and <out>/template.yaml, an AWS SAM\n" +
    "template with the HTTP API routes, an SNS topic per topic and an SQS queue (with a dead-letter\n" +
    "queue) per subscription, EventBridge schedules, DynamoDB tables and S3 buckets; then `sam deploy`.",
  options: buildOptions,
  examples: [
    "mecha build --target workers",
    "mecha build --target workers --minify --json",
    "mecha build --target workers --check",
    "mecha build --target lambda --minify",
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
  const target = readTarget(values.target);
  const shared = {
    projectDir: io.cwd,
    resources: values.resources ?? targetDefaults[target].resources,
    functions: values.functions ?? defaults.functions,
    appId: values["app-id"] ?? defaults.appId,
    out: values.out ?? targetDefaults[target].out,
    minify: values.minify ?? false,
    env: io.env,
  };
  assertTargetOptions(target, values);
  try {
    if (target === "lambda") {
      const memorySize = positiveInteger(values.memory, "--memory");
      const timeout = positiveInteger(values.timeout, "--timeout");
      const result = await buildLambda({ ...shared, function: { ...(memorySize && { memorySize }), ...(timeout && { timeout }) } });
      reportLambdaBuild(result, values.json ?? false, io, output);
      return ExitCodes.ok;
    }
    const request = { ...shared, config: values.config ?? defaults.wranglerConfig };
    if (values.check) return reportWorkersCheck(await checkWorkersConfig(request), values.json ?? false, io, output);
    reportWorkersBuild(await buildWorkers(request), values.json ?? false, io, output);
    return ExitCodes.ok;
  } catch (error) {
    if (error instanceof BuildError) throw new CliError(error.message, { cause: error });
    throw error;
  }
}

function readTarget(target: string | undefined): Target {
  if (target === undefined) throw new UsageError(`missing --target for "mecha build" (expected ${targets.join(" or ")})`, helpHint("build"));
  if (!(targets as readonly string[]).includes(target)) {
    throw new UsageError(`--target must be ${targets.join(" or ")}, got "${target}" (a Node app needs no build: mecha start runs it)`, helpHint("build"));
  }
  return target as Target;
}

/** An option of one target given to the other is a mistake worth saying. */
function assertTargetOptions(target: Target, values: ParsedValues<typeof buildOptions>): void {
  const only: Record<Target, Array<keyof typeof buildOptions>> = { workers: ["config", "check"], lambda: ["memory", "timeout"] };
  for (const other of targets.filter((t) => t !== target)) {
    const given = only[other].find((option) => values[option] !== undefined);
    if (given) throw new UsageError(`--${given} is for --target ${other}, not ${target}`, helpHint("build"));
  }
}

function positiveInteger(text: string | undefined, option: string): number | undefined {
  if (text === undefined) return undefined;
  const value = Number(text);
  if (!Number.isInteger(value) || value < 1) throw new UsageError(`${option} must be a positive whole number, got "${text}"`, helpHint("build"));
  return value;
}
