/** `mecha start`: run the app on Node until SIGINT/SIGTERM. */
import { startNodeHost, stopOnSignals } from "../../../adapters/node/index.ts";
import { createConsoleLogger } from "../../core/logger.ts";
import { FunctionDefinitionError } from "../../errors.ts";
import { expectPositionals, parseCommand } from "../args.ts";
import type { CommandOutcome, CommandRun } from "../command.ts";
import { CliError } from "../errors.ts";
import { hostOptionSpecs, readHostOptions, type HostOptions } from "../host-options.ts";
import { formatSummary, summarize, summaryRecord } from "../summary.ts";
import { formatUsage, type UsageText } from "../usage.ts";

export const startUsage: UsageText = {
  synopsis: "mecha start [options]",
  description:
    "Runs the app: serves its HTTP functions, consumes its subscriptions and runs its schedules,\n" +
    "with the components of the resources folder. SIGINT or SIGTERM stops it gracefully.",
  options: hostOptionSpecs,
  examples: [
    "mecha start",
    "mecha start --resources components/aws --port 8080",
    "mecha start --port 0 --dapr-http-port 0 --json",
    "mecha start --no-dapr-api",
  ],
};

export async function run({ argv, io, output }: CommandRun): Promise<CommandOutcome> {
  const { values, positionals } = parseCommand("start", argv, hostOptionSpecs);
  if (values.help) {
    output.line(formatUsage(startUsage, output.color));
    return 0;
  }
  expectPositionals("start", positionals, []);
  const options = readHostOptions(values);
  const logger = createConsoleLogger({ level: options.logLevel, format: options.json ? "json" : "pretty" });
  const host = await startNodeHost({
    appId: options.appId,
    resources: options.resources,
    functions: options.functions,
    port: options.port,
    hostname: options.host,
    baseDir: io.cwd,
    logger,
    ...(options.daprHttpPort === false ? {} : { daprApi: { port: options.daprHttpPort, hostname: options.daprHost } }),
  }).catch((error: unknown) => {
    throw explainStartupError(error, options);
  });
  stopOnSignals(host, logger);
  const summary = summarize(host.app, host.url, host.daprApiUrl);
  if (options.json) output.json(summaryRecord(summary));
  else output.line(formatSummary(summary, output.color));
  return "running";
}

/** Startup errors that Node words badly, said in terms of what to do. */
function explainStartupError(error: unknown, options: HostOptions): unknown {
  // Without "type": "module", tsx loads functions/*.ts as CommonJS, which cannot import mecha.
  if (error instanceof FunctionDefinitionError && /require\(\) (of )?ES Module|ERR_REQUIRE_ESM/.test(error.message)) {
    return new CliError(error.message, {
      cause: error,
      hint: `functions are ES modules: add "type": "module" to the app's package.json`,
    });
  }
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  if (code === "EADDRINUSE" && (error as { daprApi?: boolean }).daprApi) {
    return new CliError(
      `port ${options.daprHttpPort} (Dapr's HTTP API) on ${options.daprHost} is already in use — by a daprd, perhaps; pick another with --dapr-http-port or turn the API off with --no-dapr-api`,
      { cause: error },
    );
  }
  if (code === "EADDRINUSE") {
    return new CliError(`port ${options.port} on ${options.host} is already in use; stop the other process or pick another with --port`, { cause: error });
  }
  if (code === "EACCES") {
    return new CliError(`no permission to listen on ${options.host}:${options.port}; use a port above 1023`, { cause: error });
  }
  if (code === "EADDRNOTAVAIL" || code === "ENOTFOUND") {
    return new CliError(`cannot listen on host "${options.host}": it is not an address of this machine`, { cause: error });
  }
  return error;
}
