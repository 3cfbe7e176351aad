/**
 * Finds an app's functions on disk: every module in the functions folder (`*.ts`, `*.js`,
 * `*.mjs`; not tests, not files starting with `_`), imported and listed with its exports.
 */
import { readdir } from "node:fs/promises";
import { basename, extname, join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import type { FunctionModule } from "../../src/core/registry.ts";
import { FunctionDefinitionError } from "../../src/errors.ts";

const moduleExtensions = new Set([".ts", ".mts", ".js", ".mjs"]);

export async function loadFunctionModules(dir: string): Promise<FunctionModule[]> {
  const folder = resolve(dir);
  let names: string[];
  try {
    names = (await readdir(folder)).sort();
  } catch (cause) {
    throw new FunctionDefinitionError(`cannot read the functions folder ${folder}: ${(cause as Error).message}`);
  }
  const files = names.filter(
    (name) => moduleExtensions.has(extname(name)) && !name.startsWith("_") && !/\.(test|spec)\.[mc]?[jt]s$/.test(name) && !name.endsWith(".d.ts"),
  );
  const modules: FunctionModule[] = [];
  for (const file of files) {
    const path = join(folder, file);
    let exports: Record<string, unknown>;
    try {
      exports = await import(pathToFileURL(path).href);
    } catch (cause) {
      throw new FunctionDefinitionError(`cannot load ${path}: ${(cause as Error).message}`, cause);
    }
    modules.push({ name: basename(file, extname(file)), exports });
  }
  return modules;
}
