/** Dapr's truthiness for per-request and subscription flags (`kit/utils.IsTruthy`): true, 1, yes, y, on. */
export function isTruthy(value: string | undefined): boolean {
  return ["true", "1", "yes", "y", "on"].includes((value ?? "").trim().toLowerCase());
}

/**
 * Typed access to a component's `spec.metadata`, with errors that name the component and field.
 * Component factories read their settings through this, so every component reports bad config
 * the same way.
 */
import { ComponentConfigError } from "../errors.ts";

export class ComponentMetadata {
  readonly #values: Readonly<Record<string, string>>;
  readonly #component: string;
  readonly #file: string | undefined;
  readonly #referenced: ReadonlySet<string>;

  /**
   * @param values the resolved metadata (secretKeyRef/envRef already replaced by their values)
   * @param component the component's name, for error messages
   * @param file the YAML file it came from, for error messages
   * @param referenced the fields whose values came from a secretKeyRef or envRef: their values
   *   never appear in an error message
   */
  constructor(values: Readonly<Record<string, string>>, component: string, file?: string, referenced: ReadonlySet<string> = new Set()) {
    this.#values = values;
    this.#component = component;
    this.#file = file;
    this.#referenced = referenced;
  }

  /** The raw values, e.g. to pass through to a client library. */
  get values(): Readonly<Record<string, string>> {
    return this.#values;
  }

  has(field: string): boolean {
    return this.#values[field] !== undefined && this.#values[field] !== "";
  }

  /** A required string; a missing or empty field is a config error. */
  requiredString(field: string): string {
    const value = this.#values[field];
    if (value === undefined || value === "") throw this.error(field, "is required");
    return value;
  }

  string(field: string, fallback: string): string;
  string(field: string): string | undefined;
  string(field: string, fallback?: string): string | undefined {
    const value = this.#values[field];
    return value === undefined || value === "" ? fallback : value;
  }

  integer(field: string, fallback: number, range: { min?: number; max?: number } = {}): number {
    const raw = this.string(field);
    if (raw === undefined) return fallback;
    const value = Number(raw);
    if (!Number.isInteger(value)) throw this.error(field, `must be a whole number, got "${raw}"`);
    if (range.min !== undefined && value < range.min) throw this.error(field, `must be >= ${range.min}, got ${value}`);
    if (range.max !== undefined && value > range.max) throw this.error(field, `must be <= ${range.max}, got ${value}`);
    return value;
  }

  boolean(field: string, fallback: boolean): boolean {
    const raw = this.string(field)?.toLowerCase();
    if (raw === undefined) return fallback;
    if (["true", "1", "yes", "on"].includes(raw)) return true;
    if (["false", "0", "no", "off"].includes(raw)) return false;
    throw this.error(field, `must be true or false, got "${raw}"`);
  }

  /** A Go-style duration (`500ms`, `30s`, `5m`, `1h`, `1m30s`) or a bare number of milliseconds. */
  durationMs(field: string, fallback: number): number {
    const raw = this.string(field);
    if (raw === undefined) return fallback;
    const ms = parseDurationMs(raw);
    if (ms === undefined) throw this.error(field, `must be a duration like "500ms", "30s" or "5m", got "${raw}"`);
    return ms;
  }

  /** One of a fixed set of values. */
  oneOf<const T extends string>(field: string, allowed: readonly T[], fallback: T): T {
    const raw = this.string(field);
    if (raw === undefined) return fallback;
    if (!(allowed as readonly string[]).includes(raw)) {
      throw this.error(field, `must be one of ${allowed.map((a) => `"${a}"`).join(", ")}, got "${raw}"`);
    }
    return raw as T;
  }

  /**
   * A config error for `field` of this component. A value that came from a secret or the
   * environment is blanked out of the message, whatever the component wrote.
   */
  error(field: string, message: string): ComponentConfigError {
    const value = this.#values[field];
    const safe = value && this.#referenced.has(field) ? message.split(value).join("<value from secretKeyRef/envRef>") : message;
    return new ComponentConfigError(safe, { file: this.#file, component: this.#component, field });
  }
}

const durationUnits: Record<string, number> = { ns: 1e-6, us: 1e-3, "µs": 1e-3, "μs": 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/**
 * Go's `time.ParseDuration` in milliseconds (`1h30m`, `1.5s`, `300ms`, `-2s`, `0`), plus Dapr's
 * reading of a bare whole number as milliseconds. `undefined` when the text is neither.
 * @example parseGoDurationMs("1m30s") // 90000
 */
export function parseGoDurationMs(text: string): number | undefined {
  if (/^[+-]?\d+$/.test(text)) return Number(text);
  const sign = text.startsWith("-") ? -1 : 1;
  let rest = text.replace(/^[+-]/, "");
  if (rest === "0") return 0;
  if (rest === "") return undefined;
  let total = 0;
  while (rest) {
    const match = /^(\d+\.?\d*|\.\d+)(ns|us|µs|μs|ms|s|m|h)/.exec(rest);
    if (!match) return undefined;
    total += Number(match[1]) * durationUnits[match[2]!]!;
    rest = rest.slice(match[0].length);
  }
  return sign * total;
}

/**
 * A duration in component metadata: Go's syntax or a bare whole number of milliseconds, never
 * negative. `undefined` when the text is not one.
 */
export function parseDurationMs(raw: string): number | undefined {
  const ms = parseGoDurationMs(raw.trim());
  return ms === undefined || ms < 0 ? undefined : ms;
}
