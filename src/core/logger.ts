/**
 * The `ctx.log` interface and a console implementation. Hosts choose the output: readable lines
 * for people, JSON lines for machines.
 */

export type LogLevel = "debug" | "info" | "warn" | "error";
const levelOrder: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

export type LogFields = Record<string, unknown>;

export interface Logger {
  debug(message: string, fields?: LogFields): void;
  info(message: string, fields?: LogFields): void;
  warn(message: string, fields?: LogFields): void;
  error(message: string, fields?: LogFields): void;
  /** A logger that adds these fields to every line. */
  child(fields: LogFields): Logger;
}

export interface ConsoleLoggerOptions {
  level?: LogLevel;
  format?: "pretty" | "json";
  /** Where lines go; defaults to `console.log` / `console.error`. */
  write?: (level: LogLevel, line: string) => void;
}

export function createConsoleLogger(options: ConsoleLoggerOptions = {}, bound: LogFields = {}): Logger {
  const min = levelOrder[options.level ?? "info"];
  const format = options.format ?? "json";
  const write =
    options.write ?? ((level: LogLevel, line: string) => (level === "error" || level === "warn" ? console.error(line) : console.log(line)));
  const emit = (level: LogLevel, message: string, fields?: LogFields) => {
    if (levelOrder[level] < min) return;
    const all = { ...bound, ...fields };
    if (format === "json") {
      write(level, JSON.stringify({ time: new Date().toISOString(), level, msg: message, ...serialisable(all) }));
    } else {
      const extras = Object.entries(serialisable(all))
        .map(([k, v]) => `${k}=${typeof v === "string" ? v : JSON.stringify(v)}`)
        .join(" ");
      write(level, `${level.padEnd(5)} ${message}${extras ? `  ${extras}` : ""}`);
    }
  };
  return {
    debug: (m, f) => emit("debug", m, f),
    info: (m, f) => emit("info", m, f),
    warn: (m, f) => emit("warn", m, f),
    error: (m, f) => emit("error", m, f),
    child: (fields) => createConsoleLogger(options, { ...bound, ...fields }),
  };
}

/** Errors become `{ name, code, message }`: no stack traces in logs by default, no secrets. */
function serialisable(fields: LogFields): LogFields {
  const out: LogFields = {};
  for (const [key, value] of Object.entries(fields)) {
    out[key] =
      value instanceof Error
        ? { name: value.name, message: value.message, ...("code" in value ? { code: value.code } : {}) }
        : value;
  }
  return out;
}

/** A logger that drops everything (tests, benchmarks). */
export const silentLogger: Logger = {
  debug() {},
  info() {},
  warn() {},
  error() {},
  child: () => silentLogger,
};
