/**
 * A bundle's size and what it is made of: mecha's own code (core, components, adapter, the
 * generated entry), third-party dependencies, and the app's functions — so a benchmark or a user
 * can see which part to blame (DESIGN §8 counts mecha and its dependencies separately).
 */
import { relative, resolve, sep } from "node:path";
import { gzipSync } from "node:zlib";
import type { Metafile } from "esbuild";
import { packageRoot } from "./package-root.ts";

/** A bundle's raw and gzip size, and its bytes by origin. */
export interface BundleSize {
  bytes: number;
  gzipBytes: number;
  /** Bytes of the output by origin; esbuild's own helpers are in none of them. */
  split: { mecha: number; dependencies: number; functions: number };
}

/**
 * Measures an output file of a build.
 * @param workingDir the `absWorkingDir` the metafile's paths are relative to
 * @param entryFile the generated entry, counted as mecha's
 */
export function measureBundle(contents: Uint8Array, metafile: Metafile, output: string, workingDir: string, entryFile: string): BundleSize {
  const split = { mecha: 0, dependencies: 0, functions: 0 };
  for (const [input, { bytesInOutput }] of Object.entries(metafile.outputs[output]?.inputs ?? {})) {
    split[originOf(input, workingDir, entryFile)] += bytesInOutput;
  }
  return { bytes: contents.byteLength, gzipBytes: gzipSync(contents, { level: 9 }).byteLength, split };
}

function originOf(input: string, workingDir: string, entryFile: string): keyof BundleSize["split"] {
  // Plugin namespaces ("mecha-node-require:node:util") are mecha's shims.
  if (/^[\w-]+:/.test(input) && !/^[a-zA-Z]:[\\/]/.test(input)) return "mecha";
  const file = resolve(workingDir, input);
  const inPackage = relative(packageRoot, file);
  if (!inPackage.startsWith("..") && /^(src|adapters)[\\/]/.test(inPackage)) return "mecha";
  if (file.includes(`${sep}node_modules${sep}`)) return "dependencies";
  if (file === entryFile) return "mecha";
  return "functions";
}
