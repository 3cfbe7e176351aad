/**
 * The shape of a `mecha` command. The command table lists each one with a loader, so that
 * `mecha --help` or `mecha invoke` does not pay for importing the host, the components and YAML.
 */
import type { ExitCode } from "./errors.ts";
import type { CliIo, Output } from "./output.ts";

/** A one-shot command finishes with an exit code; a server keeps the process alive. */
export type CommandOutcome = ExitCode | "running";

export interface CommandRun {
  /** The arguments after the command name. */
  argv: readonly string[];
  io: CliIo;
  output: Output;
}

/** What a file under src/cli/commands/ exports. */
export interface CommandModule {
  run(request: CommandRun): Promise<CommandOutcome>;
}

export interface CommandEntry {
  name: string;
  /** One line for `mecha --help`. */
  summary: string;
  load(): Promise<CommandModule>;
}
