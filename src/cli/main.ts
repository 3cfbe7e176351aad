/**
 * The `mecha` command: finds the command, runs it, and turns what it throws into an exit code.
 *
 * @example
 * // bin/mecha.js
 * const { run } = await import("../src/cli/main.ts");
 * await run(process.argv);
 */
import { readFileSync } from "node:fs";
import type { CommandEntry, CommandOutcome } from "./command.ts";
import { ExitCodes, UsageError } from "./errors.ts";
import { createOutput, processIo, type CliIo, type Output } from "./output.ts";
import { reportError } from "./report-error.ts";

const commands: readonly CommandEntry[] = [
  { name: "start", summary: "run the app: HTTP functions, subscriptions and schedules", load: () => import("./commands/start.ts") },
  { name: "dev", summary: "run the app and restart it when its files change", load: () => import("./commands/dev.ts") },
  { name: "publish", summary: "publish an event to a topic", load: () => import("./commands/publish.ts") },
  { name: "state", summary: "get, set or delete a key in a state store", load: () => import("./commands/state.ts") },
  { name: "invoke", summary: "send an HTTP request to a running host, or an event to the built Lambda handler", load: () => import("./commands/invoke.ts") },
  { name: "build", summary: "bundle the app for a platform (--target workers or lambda) with its config", load: () => import("./commands/build.ts") },
  { name: "events", summary: "print a sample AWS event for a Lambda trigger (http, sqs, schedule, s3-put, …)", load: () => import("./commands/events.ts") },
];

/**
 * Runs one command line (the arguments after `mecha`).
 * @returns the exit code, or `"running"` when a server now keeps the process alive
 */
export async function main(argv: readonly string[], io: CliIo = processIo()): Promise<CommandOutcome> {
  const output = createOutput(io);
  try {
    const [name, ...rest] = argv;
    if (name === undefined || name === "--help" || name === "-h" || name === "help") {
      const topic = name === "help" ? rest[0] : undefined;
      if (topic !== undefined) return await (await findCommand(topic).load()).run({ argv: ["--help"], io, output });
      output.line(formatHelp(output));
      return ExitCodes.ok;
    }
    if (name === "--version" || name === "-v") {
      output.line(version());
      return ExitCodes.ok;
    }
    return await (await findCommand(name).load()).run({ argv: rest, io, output });
  } catch (error) {
    return reportError(error, output);
  }
}

/** The process entry point: runs `main`, then exits with its code unless a server is running. */
export async function run(processArgv: readonly string[]): Promise<void> {
  const outcome = await main(processArgv.slice(2));
  if (outcome === "running") return;
  process.exitCode = outcome;
  // A one-shot command is done; a component that left a handle open must not keep it alive.
  setTimeout(() => process.exit(outcome), 1_000).unref();
}

function findCommand(name: string): CommandEntry {
  const command = commands.find((c) => c.name === name);
  if (!command) {
    const hint = name.startsWith("-") ? `run "mecha --help" for usage` : `run "mecha --help" for the list of commands`;
    throw new UsageError(name.startsWith("-") ? `unknown option ${name}` : `unknown command "${name}"${suggestion(name)}`, hint);
  }
  return command;
}

/** `did you mean "start"?` for a near miss. */
function suggestion(name: string): string {
  const [near] = commands
    .map((c) => ({ name: c.name, distance: c.name.startsWith(name) ? 0 : editDistance(c.name, name) }))
    .filter((c) => c.distance <= 2)
    .sort((a, b) => a.distance - b.distance);
  return near ? `; did you mean "${near.name}"?` : "";
}

function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      current[j] = Math.min(previous[j]! + 1, current[j - 1]! + 1, previous[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    previous = current;
  }
  return previous[b.length]!;
}

function formatHelp(output: Output): string {
  const { bold, cyan, dim } = output.color;
  const width = Math.max(...commands.map((c) => c.name.length));
  return [
    `${bold("mecha")} ${dim(version())} — serverless functions on Dapr-style building blocks`,
    "",
    `${bold("Usage:")} mecha <command> [options]`,
    "",
    bold("Commands:"),
    ...commands.map((c) => `  ${cyan(c.name.padEnd(width))}  ${c.summary}`),
    "",
    bold("Options:"),
    `  ${cyan("-h, --help".padEnd(13))}  show help (also after any command)`,
    `  ${cyan("-v, --version".padEnd(13))}  show the version`,
    "",
    `Run "mecha <command> --help" for a command's options.`,
  ].join("\n");
}

function version(): string {
  const pkg = JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as { version?: string };
  return pkg.version ?? "unknown";
}
