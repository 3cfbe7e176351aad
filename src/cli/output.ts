/**
 * Where a command writes: stdout for results, stderr for errors and notices, with colors only
 * when the stream is a terminal and NO_COLOR is not set (https://no-color.org).
 */
import picocolors from "picocolors";

/** The color functions of picocolors (no-ops when colors are off). */
export type Colors = ReturnType<typeof picocolors.createColors>;

/** The process surroundings a command runs in; tests pass their own. */
export interface CliIo {
  stdout: NodeJS.WritableStream & { isTTY?: boolean };
  stderr: NodeJS.WritableStream & { isTTY?: boolean };
  env: Readonly<Record<string, string | undefined>>;
  /** The project root: relative paths in options are resolved from here. */
  cwd: string;
}

export interface Output {
  /** Colors for text written to stdout. */
  readonly color: Colors;
  /** Colors for text written to stderr. */
  readonly errorColor: Colors;
  /** A line on stdout. */
  line(text?: string): void;
  /** A line on stderr. */
  notice(text: string): void;
  /** One JSON line on stdout, for machines. */
  json(value: unknown): void;
}

export function processIo(): CliIo {
  return { stdout: process.stdout, stderr: process.stderr, env: process.env, cwd: process.cwd() };
}

export function createOutput(io: CliIo): Output {
  return {
    color: picocolors.createColors(colorEnabled(io.stdout, io.env)),
    errorColor: picocolors.createColors(colorEnabled(io.stderr, io.env)),
    line: (text = "") => void io.stdout.write(`${text}\n`),
    notice: (text) => void io.stderr.write(`${text}\n`),
    json: (value) => void io.stdout.write(`${JSON.stringify(value)}\n`),
  };
}

/** FORCE_COLOR wins, then NO_COLOR (any non-empty value), then whether the stream is a terminal. */
export function colorEnabled(stream: { isTTY?: boolean }, env: Readonly<Record<string, string | undefined>>): boolean {
  if (env["FORCE_COLOR"] !== undefined && env["FORCE_COLOR"] !== "0") return true;
  if (env["NO_COLOR"]) return false;
  return stream.isTTY === true;
}

/** A value for people: indented JSON (strings keep their quotes, so types stay visible). */
export function prettyValue(value: unknown): string {
  if (value instanceof Uint8Array) return `<${value.byteLength} bytes>`;
  return JSON.stringify(value, null, 2) ?? String(value);
}
