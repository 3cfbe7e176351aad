/**
 * Bundles a generated entry with esbuild for one platform, writing the outputs and the metafile
 * that says where each byte came from. The Workers and Lambda builds differ only in the
 * platform's esbuild options they pass.
 */
import { mkdir, writeFile } from "node:fs/promises";
import { dirname, join, relative } from "node:path";
import { build, type BuildFailure, type BuildOptions, type Message } from "esbuild";
import { measureOutputs, type BundleSize } from "./bundle-size.ts";
import { BundleError } from "./errors.ts";
import { packageFile } from "./package-root.ts";

/** What to bundle, where to, and how. */
export interface BundleRequest {
  /** The generated entry module. */
  entryFile: string;
  /** Where the outputs go: the entry as `<entryName><extension>`, code-split chunks beside it. */
  outDir: string;
  /** The entry output's name without extension, e.g. `index`. */
  entryName: string;
  /** The output extension, e.g. `.js` or `.mjs`. */
  extension: string;
  /** Where the metafile is written. */
  metafile: string;
  /** Where the metafile's paths are relative to (the project root). */
  workingDir: string;
  minify: boolean;
  /** The platform's esbuild options (format, platform, conditions, externals, plugins, splitting). */
  platform: BuildOptions;
}

/** What the bundler wrote. */
export interface Bundle {
  /** The entry output, absolute. */
  file: string;
  /** Every output file, absolute: the entry and its chunks. */
  files: string[];
  /** The metafile, absolute. */
  metafile: string;
  size: BundleSize;
  /** Every module the outputs import but do not contain (`node:*`, `cloudflare:*`). */
  externals: string[];
}

/**
 * Bundles the entry.
 * @throws BundleError with esbuild's messages when a module cannot be resolved or parsed
 */
export async function bundleEntry(request: BundleRequest): Promise<Bundle> {
  const file = join(request.outDir, `${request.entryName}${request.extension}`);
  const result = await build({
    entryPoints: { [request.entryName]: request.entryFile },
    outdir: request.outDir,
    outExtension: { ".js": request.extension },
    chunkNames: "chunks/[name]-[hash]",
    absWorkingDir: request.workingDir,
    bundle: true,
    ...request.platform,
    write: false,
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
  if (!result.outputFiles.some((output) => output.path === file)) throw new BundleError([`esbuild wrote no ${file}`]);
  for (const output of result.outputFiles) {
    await mkdir(dirname(output.path), { recursive: true });
    await writeFile(output.path, output.contents);
  }
  await mkdir(dirname(request.metafile), { recursive: true });
  await writeFile(request.metafile, `${JSON.stringify(result.metafile)}\n`);
  const outputKey = (path: string) => relative(request.workingDir, path).split("\\").join("/");
  const outputs = result.outputFiles.map((output) => ({ contents: output.contents, key: outputKey(output.path) }));
  const externals = new Set<string>();
  for (const { key } of outputs) {
    for (const imported of result.metafile.outputs[key]?.imports ?? []) if (imported.external) externals.add(imported.path);
  }
  return {
    file,
    files: result.outputFiles.map((output) => output.path).sort(),
    metafile: request.metafile,
    size: measureOutputs(outputs, result.metafile, request.workingDir, request.entryFile),
    externals: [...externals].sort(),
  };
}

function formatMessage(message: Message): string {
  const where = message.location ? `${message.location.file}:${message.location.line}:${message.location.column}: ` : "";
  return `${where}${message.text}`;
}
