/**
 * Command-line parsing on `node:util` `parseArgs`: every default of the CLI, the options the
 * commands share, and the checks that turn a bad argument into a {@link UsageError} (exit 2).
 */
import { parseArgs } from "node:util";
import type { LogLevel } from "../core/logger.ts";
import { UsageError } from "./errors.ts";

/** Every default of the CLI, in one place. The app id must match between `start` and `state`. */
export const defaults = {
  resources: "components/local",
  functions: "functions",
  port: 3000,
  /** Dapr's HTTP API: daprd's default port. */
  daprHttpPort: 3500,
  host: "127.0.0.1",
  appId: "mecha-app",
  logLevel: "info",
  /** `mecha build --target workers`: the Cloudflare resources folder, the output, wrangler's config. */
  workersResources: "components/cloudflare",
  workersOut: "dist/workers",
  wranglerConfig: "wrangler.toml",
  /** `mecha build --target lambda`: the AWS resources folder and the output. */
  lambdaResources: "components/aws",
  lambdaOut: "dist/lambda",
} as const satisfies Record<string, string | number>;

/** One option: how `parseArgs` reads it, and how `--help` shows it. */
export interface OptionSpec {
  type: "string" | "boolean";
  short?: string;
  multiple?: boolean;
  /** The placeholder in help, e.g. `dir` for `--resources <dir>`. */
  placeholder?: string;
  description: string;
  /** Shown in help; applied by the command (see {@link defaults}). */
  defaultValue?: string | number;
}

export type OptionSpecs = Readonly<Record<string, OptionSpec>>;

/** The options several commands share. A command may override a description. */
export const sharedOptions = {
  resources: {
    type: "string",
    short: "r",
    placeholder: "dir",
    description: "resources folder with the component YAML",
    defaultValue: defaults.resources,
  },
  functions: {
    type: "string",
    short: "f",
    placeholder: "dir",
    description: "functions folder",
    defaultValue: defaults.functions,
  },
  port: { type: "string", short: "p", placeholder: "port", description: "HTTP port", defaultValue: defaults.port },
  host: { type: "string", placeholder: "host", description: "HTTP host", defaultValue: defaults.host },
  "app-id": {
    type: "string",
    placeholder: "id",
    description: "app id: state key prefix and event source; use the host's",
    defaultValue: defaults.appId,
  },
  "log-level": {
    type: "string",
    placeholder: "level",
    description: "debug, info, warn or error",
    defaultValue: defaults.logLevel,
  },
  json: { type: "boolean", description: "print JSON for machines" },
  help: { type: "boolean", short: "h", description: "show this help" },
} as const satisfies OptionSpecs;

/** What `parseArgs` returns for a set of specs, typed. */
export type ParsedValues<S extends OptionSpecs> = {
  [K in keyof S]?: S[K]["type"] extends "boolean" ? boolean : S[K]["multiple"] extends true ? string[] : string;
};

export interface ParsedCommand<S extends OptionSpecs> {
  values: ParsedValues<S>;
  positionals: string[];
}

/**
 * Parses a command's arguments strictly: an unknown option or a missing option value is a
 * {@link UsageError} that names the command and points at its help.
 * @param command the command as typed, e.g. `state set`, for messages
 */
export function parseCommand<S extends OptionSpecs>(command: string, argv: readonly string[], specs: S): ParsedCommand<S> {
  const options = Object.fromEntries(
    Object.entries(specs).map(([name, spec]) => [
      name,
      { type: spec.type, ...(spec.short ? { short: spec.short } : {}), ...(spec.multiple ? { multiple: true } : {}) },
    ]),
  );
  try {
    const { values, positionals } = parseArgs({ args: [...argv], options, allowPositionals: true, strict: true });
    return { values: values as ParsedValues<S>, positionals };
  } catch (error) {
    throw new UsageError(describeParseError(error, command), helpHint(command));
  }
}

/** `run "mecha <command> --help" for usage`. */
export const helpHint = (command: string) => `run "mecha ${command} --help" for usage`;

/** Node's parseArgs messages are long and multi-line; keep the part that names the problem. */
function describeParseError(error: unknown, command: string): string {
  const message = error instanceof Error ? error.message : String(error);
  const code = (error as { code?: string }).code;
  // "Option '-p, --port <value>' …": name the long form when there is one.
  const option = /--[\w-]+/.exec(message)?.[0] ?? /'(-\w)/.exec(message)?.[1] ?? "";
  if (code === "ERR_PARSE_ARGS_UNKNOWN_OPTION") return `unknown option ${option} for "mecha ${command}"`;
  if (code === "ERR_PARSE_ARGS_INVALID_OPTION_VALUE") {
    if (/argument missing/.test(message)) return `option ${option} needs a value`;
    if (/ambiguous/.test(message)) return `option ${option} needs a value; for one that starts with "-", write ${option}=<value>`;
    if (/does not take an argument/.test(message)) return `option ${option} does not take a value`;
  }
  return message.split("\n")[0]!;
}

/**
 * Checks the number of positional arguments and returns them.
 * @param names the placeholders, e.g. `["pubsub", "topic", "data"]`; a trailing `?` marks one optional
 */
export function expectPositionals(command: string, positionals: readonly string[], names: readonly string[]): string[] {
  const required = names.filter((name) => !name.endsWith("?"));
  if (positionals.length < required.length) {
    const missing = required.slice(positionals.length).map((name) => `<${name}>`);
    throw new UsageError(`missing ${missing.join(" ")} for "mecha ${command}"`, helpHint(command));
  }
  if (positionals.length > names.length) {
    throw new UsageError(`unexpected argument "${positionals[names.length]}" for "mecha ${command}"`, helpHint(command));
  }
  return [...positionals];
}

/** A TCP port, 0 (any free port) to 65535. */
export function parsePort(raw: string | undefined, fallback: number, flag = "--port"): number {
  if (raw === undefined) return fallback;
  const port = Number(raw);
  if (!/^\d+$/.test(raw.trim()) || port > 65535) {
    throw new UsageError(`${flag} must be a port number from 0 to 65535, got "${raw}"`);
  }
  return port;
}

const logLevels = ["debug", "info", "warn", "error"] as const satisfies readonly LogLevel[];

export function parseLogLevel(raw: string | undefined): LogLevel {
  const level = raw ?? defaults.logLevel;
  if (!(logLevels as readonly string[]).includes(level)) {
    throw new UsageError(`--log-level must be one of ${logLevels.join(", ")}, got "${level}"`);
  }
  return level as LogLevel;
}

/**
 * A JSON argument (a state value, an event's data). Shells eat quotes, so the message shows what
 * arrived and how to quote it.
 * @param what how the argument is called in messages, e.g. `<value>`
 */
export function parseJsonArgument(raw: string, what: string, hint?: string): unknown {
  try {
    return JSON.parse(raw);
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw new UsageError(
      `${what} must be JSON, got ${JSON.stringify(raw)} (${reason})`,
      hint ?? `quote it for the shell, e.g. '{"id":"42"}' or '"a string"'`,
    );
  }
}
