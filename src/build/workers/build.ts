/**
 * `mecha build --target workers`, as a function: load the app, derive its Cloudflare resources,
 * write the entry, bundle it, and write the bindings into wrangler.toml — or, for `--check`,
 * only say whether wrangler.toml is what the build would write.
 */
import { mkdir, writeFile } from "node:fs/promises";
import { dirname, join, relative, resolve, sep } from "node:path";
import { usesCel } from "../cel-usage.ts";
import { loadBuildApp, type LoadedApp } from "../load-app.ts";
import { bundleWorker, type WorkersBundle } from "./bundle.ts";
import { deriveWorkersResources, type WorkersResources } from "./cloudflare-resources.ts";
import { workersEntrySource } from "./entry.ts";
import {
  diffWranglerConfig,
  mergeWranglerConfig,
  readWranglerConfig,
  writeWranglerConfig,
  type ConfigDifference,
  type WranglerConfigRequest,
} from "./wrangler-config.ts";

/** The options of `mecha build --target workers`, resolved. */
export interface WorkersBuildRequest {
  /** The project root: the other paths are resolved from here. */
  projectDir: string;
  /** The resources folder, e.g. `components/cloudflare`. */
  resources: string;
  functions: string;
  appId: string;
  /** The output folder, e.g. `dist/workers`. */
  out: string;
  /** wrangler.toml. */
  config: string;
  minify?: boolean;
  /** The environment `envRef`s in build-time metadata are read from. */
  env?: Readonly<Record<string, string | undefined>>;
}

/** What the build derived, before it writes anything. */
export interface WorkersPlan {
  loaded: LoadedApp;
  cloudflare: WorkersResources;
  outDir: string;
  configPath: string;
  wrangler: WranglerConfigRequest;
}

/** What the build wrote. */
export interface WorkersBuildResult extends WorkersPlan {
  entryFile: string;
  resourcesFile: string;
  bundle: WorkersBundle;
  /** Whether wrangler.toml was rewritten (false when it already said the same). */
  configChanged: boolean;
}

/** The outcome of `--check`. */
export interface WorkersConfigCheck {
  configPath: string;
  exists: boolean;
  /** Empty when wrangler.toml is up to date. */
  differences: ConfigDifference[];
}

/** Loads the app and derives everything the build writes, without writing anything. */
export async function planWorkersBuild(request: WorkersBuildRequest): Promise<WorkersPlan> {
  const env = request.env ?? {};
  const loaded = await loadBuildApp({ ...request, env });
  const cloudflare = deriveWorkersResources(loaded, env);
  const outDir = resolve(request.projectDir, request.out);
  const configPath = resolve(request.projectDir, request.config);
  const main = relative(dirname(configPath), join(outDir, "index.js")).split(sep).join("/");
  return { loaded, cloudflare, outDir, configPath, wrangler: { main, appId: request.appId, resources: cloudflare } };
}

/**
 * Builds the Worker: `<out>/entry.ts`, `<out>/index.js`, `<out>/meta.json`,
 * `<out>/resources.json`, and the bindings in wrangler.toml.
 */
export async function buildWorkers(request: WorkersBuildRequest): Promise<WorkersBuildResult> {
  const plan = await planWorkersBuild(request);
  const { loaded, cloudflare, outDir } = plan;
  await mkdir(outDir, { recursive: true });
  const entryFile = join(outDir, "entry.ts");
  const resourcesFile = join(outDir, "resources.json");
  await writeFile(
    entryFile,
    workersEntrySource({
      appId: loaded.app.appId,
      modules: loaded.modules,
      resources: cloudflare.resources,
      componentTypes: cloudflare.componentTypes,
      queues: Object.fromEntries(cloudflare.queues.map((q) => [q.queue, q.subscription])),
      usesCel: usesCel(loaded),
    }),
  );
  await writeFile(resourcesFile, `${JSON.stringify(cloudflare.resources, null, 2)}\n`);
  const bundle = await bundleWorker({ entryFile, outDir, workingDir: resolve(request.projectDir), minify: request.minify ?? false });
  const { changed } = await writeWranglerConfig(plan.configPath, plan.wrangler);
  return { ...plan, entryFile, resourcesFile, bundle, configChanged: changed };
}

/** Compares wrangler.toml with what the build would write; writes nothing. */
export async function checkWorkersConfig(request: WorkersBuildRequest): Promise<WorkersConfigCheck> {
  const plan = await planWorkersBuild(request);
  const current = await readWranglerConfig(plan.configPath);
  if (!current) return { configPath: plan.configPath, exists: false, differences: [{ key: "(file)", change: "added" }] };
  const expected = mergeWranglerConfig(current.config, plan.wrangler);
  return { configPath: plan.configPath, exists: true, differences: diffWranglerConfig(current.config, expected) };
}
