/**
 * Loads a resources folder (`--resources components/local`): every `*.yaml` / `*.yml` file in it,
 * not recursive, in name order so that errors and results are the same on every machine.
 * Node-only: bundled targets get the folder compiled in at build time and never parse YAML.
 */
import { readdir, readFile, stat } from "node:fs/promises";
import { join, relative, resolve } from "node:path";
import { ComponentConfigError } from "../errors.ts";
import { checkResiliencyReferences, validateResiliencies } from "./parse-resiliency.ts";
import { parseResourcesText } from "./parse-resources.ts";
import type { Resources } from "./types.ts";

export { parseResourcesText } from "./parse-resources.ts";

/**
 * Reads and validates every resource file of a folder.
 * @param dir the resources folder, absolute or relative to the working directory
 * @throws ComponentConfigError for a missing folder, bad YAML, an invalid resource, or a
 *   component or subscription name used twice (naming both files), a Resiliency target naming an
 *   undefined policy, or a circuit breaker `trip` that is not a boolean CEL expression
 * @example
 * const { components, subscriptions } = await loadResources("components/local");
 */
export async function loadResources(dir: string): Promise<Resources> {
  const folder = resolve(dir);
  const files = await resourceFiles(folder);
  const resources: Resources = { components: [], subscriptions: [] };
  for (const name of files) {
    const path = join(folder, name);
    const parsed = parseResourcesText(await readFile(path, "utf8"), displayPath(path));
    resources.components.push(...parsed.components);
    resources.subscriptions.push(...parsed.subscriptions);
    if (parsed.resiliencies) (resources.resiliencies ??= []).push(...parsed.resiliencies);
  }
  assertUniqueNames(resources.components, "component");
  assertUniqueNames(resources.subscriptions, "subscription");
  if (resources.resiliencies) {
    // Targets may use policies from other files, so references are checked once all are read.
    checkResiliencyReferences(resources.resiliencies);
    await validateResiliencies(resources.resiliencies);
  }
  return resources;
}

async function resourceFiles(folder: string): Promise<string[]> {
  const info = await stat(folder).catch((cause: NodeJS.ErrnoException) => {
    const reason = cause.code === "ENOENT" ? "does not exist" : `cannot be read (${cause.code ?? cause.message})`;
    throw new ComponentConfigError(`resources folder "${displayPath(folder)}" ${reason}; pass the folder that holds your component YAML files`, {
      cause,
    });
  });
  if (!info.isDirectory()) {
    throw new ComponentConfigError(`resources path "${displayPath(folder)}" is a file, not a folder; pass the folder that holds it`);
  }
  const entries = await readdir(folder, { withFileTypes: true });
  return entries
    .filter((entry) => entry.isFile() && /\.ya?ml$/i.test(entry.name))
    .map((entry) => entry.name)
    .sort();
}

function assertUniqueNames(specs: ReadonlyArray<{ name: string; file?: string }>, kind: "component" | "subscription"): void {
  const first = new Map<string, { name: string; file?: string }>();
  for (const spec of specs) {
    const earlier = first.get(spec.name);
    if (!earlier) {
      first.set(spec.name, spec);
      continue;
    }
    const where = earlier.file === spec.file ? "earlier in the same file" : `in ${earlier.file}`;
    const message = `${kind} name "${spec.name}" is already used ${where}; names must be unique across the resources folder`;
    throw kind === "component"
      ? new ComponentConfigError(message, { file: spec.file, component: spec.name, field: "metadata.name" })
      : new ComponentConfigError(message, { file: spec.file, field: "metadata.name" });
  }
}

/** Relative to the working directory when inside it: shorter, and what the user typed. */
function displayPath(path: string): string {
  const rel = relative(process.cwd(), path);
  return rel && !rel.startsWith("..") ? rel : path;
}
