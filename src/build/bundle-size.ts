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

/** One output file of a build: its bytes and its key in the metafile. */
export interface BundleOutput {
  contents: Uint8Array;
  /** The output's path as the metafile names it (relative to the working directory). */
  key: string;
}

/**
 * Measures the output files of a build together: bytes and gzip bytes (each file compressed on
 * its own, as each is loaded on its own) and the bytes by origin.
 * @param workingDir the `absWorkingDir` the metafile's paths are relative to
 * @param entryFile the generated entry, counted as mecha's
 */
export function measureOutputs(outputs: readonly BundleOutput[], metafile: Metafile, workingDir: string, entryFile: string): BundleSize {
  const size: BundleSize = { bytes: 0, gzipBytes: 0, split: { mecha: 0, dependencies: 0, functions: 0 } };
  for (const { contents, key } of outputs) {
    size.bytes += contents.byteLength;
    size.gzipBytes += gzipSync(contents, { level: 9 }).byteLength;
    for (const [input, { bytesInOutput }] of Object.entries(metafile.outputs[key]?.inputs ?? {})) {
      size.split[originOf(input, workingDir, entryFile)] += bytesInOutput;
    }
  }
  return size;
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
