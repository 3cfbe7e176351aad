/**
 * Bundles a Worker entry with esbuild into one ES module for workerd, plus the metafile that
 * says where each byte came from.
 */
import { writeFile } from "node:fs/promises";
import { join, relative } from "node:path";
import { build, type BuildFailure, type BuildOptions, type Message } from "esbuild";
import { measureBundle, type BundleSize } from "../bundle-size.ts";
import { BundleError } from "../errors.ts";
import { packageFile } from "../package-root.ts";
import { nodeBuiltinsPlugin } from "./node-builtins.ts";

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
export interface WorkersBundle {
  /** index.js, absolute. */
  file: string;
  /** meta.json, absolute. */
  metafile: string;
  size: BundleSize;
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
 * Bundles the entry.
 * @throws BundleError with esbuild's messages when a module cannot be resolved or parsed
 */
export async function bundleWorker(request: WorkersBundleRequest): Promise<WorkersBundle> {
  const file = join(request.outDir, "index.js");
  const result = await build({
    entryPoints: [request.entryFile],
    outfile: file,
    absWorkingDir: request.workingDir,
    ...workerdBuildOptions,
    write: false,
    external: ["cloudflare:*", "node:*"],
    plugins: [nodeBuiltinsPlugin()],
    // User functions import "mecha": the same source the adapter is built from, so both share
    // one copy of the core.
    alias: { mecha: packageFile("src/index.ts") },
    minify: request.minify,
    metafile: true,
    logLevel: "silent",
  }).catch((error: unknown) => {
    const failure = error as Partial<BuildFailure>;
    if (Array.isArray(failure.errors)) throw new BundleError(failure.errors.map(formatMessage), error);
    throw error;
  });
  const output = result.outputFiles.find((f) => f.path === file);
  if (!output) throw new BundleError([`esbuild wrote no ${file}`]);
  const metafilePath = join(request.outDir, "meta.json");
  await writeFile(file, output.contents);
  await writeFile(metafilePath, `${JSON.stringify(result.metafile)}\n`);
  const outputKey = relative(request.workingDir, file).split("\\").join("/");
  const imports = result.metafile.outputs[outputKey]?.imports ?? [];
  return {
    file,
    metafile: metafilePath,
    size: measureBundle(output.contents, result.metafile, outputKey, request.workingDir, request.entryFile),
    nodeBuiltins: [...new Set(imports.filter((i) => i.external && i.path.startsWith("node:")).map((i) => i.path))].sort(),
  };
}

function formatMessage(message: Message): string {
  const where = message.location ? `${message.location.file}:${message.location.line}:${message.location.column}: ` : "";
  return `${where}${message.text}`;
}
