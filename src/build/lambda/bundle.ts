/**
 * Bundles a Lambda entry with esbuild for the Node.js 20 runtime: ES modules (`index.mjs`), code
 * split so that what a component loads on first use (the AWS SDK clients) is a chunk of its own
 * that a cold start does not parse until it is needed. The output folder is the zip's content.
 */
import { join } from "node:path";
import type { BuildOptions } from "esbuild";
import { bundleEntry, type Bundle } from "../bundle.ts";

/** What to bundle, where to, and how. */
export interface LambdaBundleRequest {
  entryFile: string;
  /** The function's code folder: gets index.mjs and chunks/. */
  codeDir: string;
  /** Where meta.json goes (outside the code folder: it is not deployed). */
  metafile: string;
  workingDir: string;
  minify: boolean;
}

/**
 * How a module is bundled for Lambda's Node.js runtime. CommonJS dependencies bundled into an ES
 * module still call `require` for Node's built-ins, so the banner gives the module one.
 */
export const lambdaBuildOptions: BuildOptions = {
  bundle: true,
  format: "esm",
  platform: "node",
  target: "node20",
  splitting: true,
  mainFields: ["module", "main"],
  banner: { js: 'import { createRequire as __mechaCreateRequire } from "node:module"; const require = __mechaCreateRequire(import.meta.url);' },
};

/**
 * Bundles the entry into `<codeDir>/index.mjs` (handler `index.handler`) and its chunks.
 * @throws BundleError with esbuild's messages when a module cannot be resolved or parsed
 */
export function bundleLambda(request: LambdaBundleRequest): Promise<Bundle> {
  return bundleEntry({
    entryFile: request.entryFile,
    outDir: request.codeDir,
    entryName: "index",
    extension: ".mjs",
    metafile: request.metafile,
    workingDir: request.workingDir,
    minify: request.minify,
    platform: lambdaBuildOptions,
  });
}

/** The handler setting of a bundle made by {@link bundleLambda}. */
export const lambdaHandlerName = "index.handler";

/** The bundle's entry file in a code folder. */
export const lambdaEntryFile = (codeDir: string): string => join(codeDir, "index.mjs");
