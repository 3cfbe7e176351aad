/**
 * How a failed command ends: one `error: <message>` line on stderr and an exit code. Expected
 * errors — the user's command line, mecha's own errors, system errors such as a missing file —
 * never print a stack trace; anything else is a bug, and its stack helps report it.
 */
import { MechaError } from "../errors.ts";
import { CliError, ExitCodes, UsageError, type ExitCode } from "./errors.ts";
import type { Output } from "./output.ts";

export function reportError(error: unknown, output: Output): ExitCode {
  const color = output.errorColor;
  const say = (message: string) => output.notice(`${color.red(color.bold("error:"))} ${message}`);
  if (error instanceof UsageError) {
    say(error.message);
    if (error.hint) output.notice(color.dim(error.hint));
    return ExitCodes.usage;
  }
  if (error instanceof MechaError) {
    say(error.message);
    for (const cause of causes(error)) output.notice(color.dim(`  caused by: ${cause}`));
    return ExitCodes.failure;
  }
  // A CliError's message already says what its cause means.
  if (error instanceof CliError || isSystemError(error)) {
    say((error as Error).message);
    if (error instanceof CliError && error.hint) output.notice(color.dim(error.hint));
    return ExitCodes.failure;
  }
  say(error instanceof Error ? (error.stack ?? error.message) : String(error));
  return ExitCodes.failure;
}

/** Node's system errors (`ENOENT`, `EACCES`, …) are the user's situation, not a bug. */
function isSystemError(error: unknown): boolean {
  return error instanceof Error && typeof (error as NodeJS.ErrnoException).code === "string" && /^E[A-Z]+$/.test((error as NodeJS.ErrnoException).code!);
}

/** The messages of the cause chain that add something to the message above them. */
function causes(error: unknown): string[] {
  const messages: string[] = [];
  let current = (error as { cause?: unknown }).cause;
  let above = (error as Error).message;
  for (let depth = 0; current !== undefined && depth < 5; depth++) {
    const message = current instanceof Error ? current.message : String(current);
    if (message && !above.includes(message)) messages.push(message);
    above = message;
    current = (current as { cause?: unknown } | null)?.cause;
  }
  return messages;
}
