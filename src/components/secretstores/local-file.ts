/**
 * `secretstores.local.file`: secrets from a JSON file, as Dapr's component reads them. For
 * development. The file is read once, on first use; values never appear in an error.
 *
 * Metadata (Dapr's):
 * - `secretsFile` (required) — the JSON file, relative to the project root.
 * - `nestedSeparator` (default `:`) — joins the keys of nested objects: `{ "db": { "user": "u" } }`
 *   holds the secret `db:user`.
 * - `multiValued` (default false) — each top-level key is one secret whose values are its
 *   flattened contents: `db` → `{ user: "u", … }`.
 *
 * @example
 * spec:
 *   type: secretstores.local.file
 *   metadata:
 *     - { name: secretsFile, value: secrets.json }
 */
import { readFile } from "node:fs/promises";
import { resolve } from "node:path";
import type { SecretStoreComponent } from "../../blocks/secrets.ts";
import type { ComponentOptions } from "../types.ts";

export const type = "secretstores.local.file";

type Secrets = Map<string, Record<string, string>>;

/** Creates the store; the file is read on the first `get` or `bulkGet`. */
export function create({ metadata, baseDir }: ComponentOptions): SecretStoreComponent {
  const file = resolve(baseDir, metadata.requiredString("secretsFile"));
  const separator = metadata.string("nestedSeparator", ":");
  const multiValued = metadata.boolean("multiValued", false);
  let loading: Promise<Secrets> | undefined;

  const secrets = (): Promise<Secrets> => {
    if (!loading) {
      loading = readSecrets(file, separator, multiValued, (reason) => metadata.error("secretsFile", `secrets file ${file} ${reason}`));
      // A failed read is not cached: fixing the file should not need a restart.
      loading.catch(() => (loading = undefined));
    }
    return loading;
  };

  return {
    type,
    async get(key) {
      const values = (await secrets()).get(key);
      return values && { ...values };
    },
    async bulkGet() {
      return Object.fromEntries([...(await secrets())].map(([key, values]) => [key, { ...values }]));
    },
    async close() {
      loading = undefined;
    },
  };
}

async function readSecrets(
  file: string,
  separator: string,
  multiValued: boolean,
  fail: (reason: string) => Error,
): Promise<Secrets> {
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (cause) {
    const code = (cause as NodeJS.ErrnoException).code;
    throw fail(code === "ENOENT" ? "does not exist" : `cannot be read (${code ?? "unknown error"})`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (cause) {
    // JSON.parse's message quotes the file's text, which is secrets: report only where it broke.
    throw fail(`is not valid JSON${jsonErrorPosition(text, cause)}`);
  }
  if (!isObject(json)) throw fail("must hold a JSON object of secrets");

  const secrets: Secrets = new Map();
  for (const [key, value] of Object.entries(json)) {
    if (multiValued && typeof value === "object" && value !== null) {
      secrets.set(key, flatten(value, separator, "", {}, fail));
    } else if (multiValued) {
      secrets.set(key, { [key]: leafText(value) });
    } else {
      for (const [name, flat] of Object.entries(flatten({ [key]: value }, separator, "", {}, fail))) {
        if (secrets.has(name)) throw fail(`defines the key "${name}" twice`);
        secrets.set(name, { [name]: flat });
      }
    }
  }
  return secrets;
}

/** Nested objects and arrays → `a:b:0`-style keys, as Dapr's file store flattens them. */
function flatten(
  value: object,
  separator: string,
  path: string,
  into: Record<string, string>,
  fail: (reason: string) => Error,
): Record<string, string> {
  for (const [key, child] of Object.entries(value)) {
    const name = path ? `${path}${separator}${key}` : key;
    if (typeof child === "object" && child !== null) {
      flatten(child, separator, name, into, fail);
    } else {
      if (name in into) throw fail(`defines the key "${name}" twice once nested keys are joined with "${separator}"`);
      into[name] = leafText(child);
    }
  }
  return into;
}

/** A JSON leaf as secret text; `null` is an empty secret. */
function leafText(value: unknown): string {
  return value === null || value === undefined ? "" : String(value);
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** " at line L, column C" from a JSON.parse error, without any of the text around it. */
function jsonErrorPosition(text: string, error: unknown): string {
  const match = /position (\d+)/.exec(error instanceof Error ? error.message : "");
  if (!match) return "";
  const before = text.slice(0, Number(match[1]));
  const lines = before.split("\n");
  return ` at line ${lines.length}, column ${lines.at(-1)!.length + 1}`;
}
