/**
 * One parsed document of a resources folder, with typed reads that fail with a
 * `ComponentConfigError` naming the file, the resource and the field path — so every parser
 * reports bad YAML the same way and the user can jump straight to the mistake.
 */
import { ComponentConfigError } from "../errors.ts";

/** A plain mapping, as YAML parses one. */
export type YamlMapping = Record<string, unknown>;

export function isMapping(value: unknown): value is YamlMapping {
  return typeof value === "object" && value !== null && !Array.isArray(value) && !(value instanceof Uint8Array);
}

export class ResourceDocument {
  /** The file, as shown in error messages. */
  readonly file: string;
  readonly #raw: YamlMapping;
  /** 1-based position of the document in its file, to point at unnamed documents. */
  readonly #position: number;
  /** The resource's kind and name once known, e.g. `component "orders"`. */
  #label: { kind: string; name: string } | undefined;

  constructor(raw: YamlMapping, file: string, position: number) {
    this.#raw = raw;
    this.file = file;
    this.#position = position;
  }

  /** The value at a dotted path (`spec.routes.default`), or undefined if any step is missing. */
  get(path: string): unknown {
    let value: unknown = this.#raw;
    for (const step of path.split(".")) {
      if (!isMapping(value)) return undefined;
      value = value[step];
    }
    return value;
  }

  /**
   * Reads and checks `metadata.name`; from then on errors name the resource.
   * @param kind how the resource is called in messages: `component`, `subscription`
   */
  name(kind: string): string {
    const name = this.get("metadata.name");
    if (name === undefined || name === null || name === "") {
      throw this.error("metadata.name", `is required: every ${kind} needs a name that functions refer to it by`);
    }
    if (typeof name !== "string") throw this.error("metadata.name", `must be a string, got ${describe(name)}`);
    this.#label = { kind, name };
    return name;
  }

  /** A required, non-empty string. */
  requiredString(path: string, hint = ""): string {
    const value = this.optionalString(path);
    if (value === undefined || value === "") throw this.error(path, `is required${hint ? `, ${hint}` : ""}`);
    return value;
  }

  /** A string if the field is set; numbers and booleans are read as their text, as Dapr does. */
  optionalString(path: string): string | undefined {
    const value = this.get(path);
    if (value === undefined || value === null) return undefined;
    if (typeof value === "string") return value;
    if (typeof value === "number" || typeof value === "boolean") return String(value);
    throw this.error(path, `must be a string, got ${describe(value)}`);
  }

  /** A mapping if the field is set. */
  optionalMapping(path: string): YamlMapping | undefined {
    const value = this.get(path);
    if (value === undefined || value === null) return undefined;
    if (!isMapping(value)) throw this.error(path, `must be a mapping, got ${describe(value)}`);
    return value;
  }

  /** A list of strings (e.g. `scopes`); missing means empty. */
  stringList(path: string): string[] {
    const value = this.get(path);
    if (value === undefined || value === null) return [];
    if (!Array.isArray(value)) throw this.error(path, `must be a list of strings, got ${describe(value)}`);
    return value.map((item, i) => {
      if (typeof item !== "string" || item === "") throw this.error(`${path}[${i}]`, `must be a non-empty string, got ${describe(item)}`);
      return item;
    });
  }

  /** A config error for `field` of this document. */
  error(field: string, message: string): ComponentConfigError {
    if (!this.#label) {
      return new ComponentConfigError(`${message} (document ${this.#position} of the file)`, { file: this.file, field });
    }
    // ComponentConfigError names a component by itself; other kinds say what they are.
    const { kind, name } = this.#label;
    return kind === "component"
      ? new ComponentConfigError(message, { file: this.file, component: name, field })
      : new ComponentConfigError(`${message} (in ${kind} "${name}")`, { file: this.file, field });
  }
}

/** A short description of a YAML value for error messages; never prints the value itself. */
export function describe(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "a list";
  if (value instanceof Uint8Array) return "binary data";
  if (typeof value === "object") return "a mapping";
  return `a ${typeof value}`;
}
