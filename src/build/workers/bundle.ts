/**
 * Bundles a Worker entry with esbuild into one ES module for workerd, plus the metafile that
 * says where each byte came from.
 */
import type { BuildOptions } from "esbuild";
import { bundleEntry, type Bundle } from "../bundle.ts";
import { nodeBuiltinsPlugin } from "./node-builtins.ts";
import { join } from "node:path";

/** What to bundle, where to, and how. */
export interface WorkersBundleRequest {
  /** The generated entry module. */
  entryFile: string;
  /** The output folder: gets index.js and meta.json. */
  outDir: string;
  /** Where the metafile's paths are relative to (the project root). */
  workingDir: string;
  minify: boolean;
}

/** What the bundler wrote. */
export interface WorkersBundle extends Bundle {
  /** The Node built-ins the bundle imports, which workerd provides under `nodejs_compat`. */
  nodeBuiltins: string[];
}

/**
 * How any module is bundled for workerd: one ES module, resolved the way workerd resolves
 * packages. The bench builds its bare Worker with the same settings.
 */
export const workerdBuildOptions: BuildOptions = {
  bundle: true,
  format: "esm",
  target: "es2022",
  platform: "neutral",
  // workerd's own export conditions first, then the browser builds of packages, which use web
  // APIs (fetch, crypto.subtle) that a Worker has.
  conditions: ["workerd", "worker", "browser"],
  mainFields: ["browser", "module", "main"],
};

/**
 * Bundles the entry into `<outDir>/index.js` (one module: workerd loads a Worker as one).
 * @throws BundleError with esbuild's messages when a module cannot be resolved or parsed
 */
export async function bundleWorker(request: WorkersBundleRequest): Promise<WorkersBundle> {
  const bundle = await bundleEntry({
    entryFile: request.entryFile,
    outDir: request.outDir,
    entryName: "index",
    extension: ".js",
    metafile: join(request.outDir, "meta.json"),
    workingDir: request.workingDir,
    minify: request.minify,
    platform: { ...workerdBuildOptions, external: ["cloudflare:*", "node:*"], plugins: [nodeBuiltinsPlugin()] },
  });
  return { ...bundle, nodeBuiltins: bundle.externals.filter((path) => path.startsWith("node:")) };
}
