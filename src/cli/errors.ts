/**
 * The CLI's own errors. A {@link UsageError} is the user's command line (exit 2, with a hint);
 * a {@link CliError} is an expected failure that is not mecha's (exit 1, message only). Both,
 * like every `MechaError`, are printed as one `error: <message>` line — never a stack trace.
 */

/** Exit codes of every command. */
export const ExitCodes = {
  ok: 0,
  failure: 1,
  usage: 2,
} as const;

export type ExitCode = (typeof ExitCodes)[keyof typeof ExitCodes];

/** The command line is wrong: an unknown command or option, a missing or malformed argument. */
export class UsageError extends Error {
  /** What to run next, e.g. `run "mecha start --help" for usage`. */
  readonly hint: string | undefined;

  constructor(message: string, hint?: string) {
    super(message);
    this.name = "UsageError";
    this.hint = hint;
  }
}

/** An expected failure outside mecha's own errors: no host listening, a key not found. */
export class CliError extends Error {
  /** What to do about it, when the message alone does not say. */
  readonly hint: string | undefined;

  constructor(message: string, options: { cause?: unknown; hint?: string } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = "CliError";
    this.hint = options.hint;
  }
}
