/**
 * What a build knows about an app: its resources folder, its function modules (with the file
 * each came from, to import it statically in the bundle) and the App assembled from them, whose
 * subscription plans and schedules the build turns into platform resources. Assembling the App
 * does no I/O: components are only created on first use, and a build never uses one.
 */
import { readdir } from "node:fs/promises";
import { basename, extname, join, resolve } from "node:path";
import { loadFunctionModules } from "../../adapters/node/discover.ts";
import { componentCatalog } from "../components/catalog.ts";
import { loadResources } from "../config/load.ts";
import type { Resources } from "../config/types.ts";
import { createApp, type App } from "../core/app.ts";
import { compileRoutingRules } from "../core/routing-rules.ts";
import type { FunctionModule } from "../core/registry.ts";
import { FunctionDefinitionError } from "../errors.ts";

/** Where the app is and what it is called. */
export interface LoadAppRequest {
  /** The project root: relative folders are resolved from here. */
  projectDir: string;
  resources: string;
  functions: string;
  appId: string;
  env?: Readonly<Record<string, string | undefined>>;
}

/** A function module with the file it came from. */
export interface BuildModule extends FunctionModule {
  /** The module's absolute path. */
  file: string;
}

/** The app as a build sees it. */
export interface LoadedApp {
  resources: Resources;
  /** The resources folder, absolute. */
  resourcesDir: string;
  /** The functions folder, absolute. */
  functionsDir: string;
  modules: BuildModule[];
  app: App;
}

/**
 * Loads and checks an app for a build.
 * @throws ComponentConfigError for a bad resources folder or an unknown `spec.type` (naming the
 *   file, the component and the field), FunctionDefinitionError for a bad function module
 */
export async function loadBuildApp(request: LoadAppRequest): Promise<LoadedApp> {
  const resourcesDir = resolve(request.projectDir, request.resources);
  const functionsDir = resolve(request.projectDir, request.functions);
  const resources = await loadResources(resourcesDir);
  const loaded = await loadFunctionModules(functionsDir);
  const files = await moduleFiles(functionsDir);
  const modules = loaded.map((module) => ({ ...module, file: fileOf(module.name, files, functionsDir) }));
  const app = createApp({
    appId: request.appId,
    resources,
    modules,
    catalog: componentCatalog,
    baseDir: request.projectDir,
    env: request.env ?? {},
    // The platform fires schedules; no implicit bindings.cron component is configured.
    cronTriggers: "platform",
  });
  // A bundle never reads YAML and starts without a startup check: CEL routing rules that do not
  // compile fail the build, here.
  await compileRoutingRules(app.subscriptions);
  return { resources, resourcesDir, functionsDir, modules, app };
}

/**
 * The module files of the folder by module name. loadFunctionModules names a module by its file
 * without extension; the same name twice (orders.ts and orders.js) cannot be told apart.
 */
async function moduleFiles(folder: string): Promise<Map<string, string[]>> {
  const byName = new Map<string, string[]>();
  for (const file of await readdir(folder)) {
    const name = basename(file, extname(file));
    byName.set(name, [...(byName.get(name) ?? []), join(folder, file)]);
  }
  return byName;
}

const moduleExtensions = new Set([".ts", ".mts", ".js", ".mjs"]);

function fileOf(name: string, files: ReadonlyMap<string, string[]>, folder: string): string {
  const candidates = (files.get(name) ?? []).filter((file) => moduleExtensions.has(extname(file)) && !file.endsWith(".d.ts"));
  if (candidates.length !== 1) {
    throw new FunctionDefinitionError(
      candidates.length
        ? `${folder} has more than one module named "${name}" (${candidates.map((f) => basename(f)).join(", ")}); rename one`
        : `cannot find the file of function module "${name}" in ${folder}`,
    );
  }
  return candidates[0]!;
}
