/**
 * A Lambda package's size, measured twice: the whole package (every file of the zip) and what a
 * cold start loads before it first needs a backend — `index.mjs` and the chunks it imports
 * statically (the AWS SDK and other lazily imported code stay in chunks of their own). Each is
 * split into mecha, dependencies and functions by src/build/bundle-size.ts.
 */
import { readFile } from "node:fs/promises";
import { relative, resolve } from "node:path";
import type { Metafile } from "esbuild";
import { measureOutputs, type BundleSize } from "../../src/build/bundle-size.ts";

export interface PackageSize {
  whole: BundleSize & { files: number };
  startup: BundleSize & { files: number };
  /** Minified bytes of the whole package by dependency; what only the AWS SDK reaches is one "AWS SDK". */
  dependencies: Record<string, number>;
}

/** What was bundled and where the metafile's paths are relative to. */
export interface MeasureRequest {
  metafile: Metafile;
  workingDir: string;
  /** The entry output (`.../index.mjs`), absolute. */
  entryOutput: string;
  /** The generated entry, counted as mecha's; none for a hand-written handler. */
  generatedEntry?: string;
}

export async function measurePackage({ metafile, workingDir, entryOutput, generatedEntry = "" }: MeasureRequest): Promise<PackageSize> {
  const keyOf = (path: string) => relative(workingDir, path).split("\\").join("/");
  const read = async (keys: Iterable<string>) =>
    Promise.all([...keys].map(async (key) => ({ key, contents: await readFile(resolve(workingDir, key)) })));
  const measure = async (keys: Set<string>) => ({
    ...measureOutputs(await read(keys), metafile, workingDir, generatedEntry),
    files: keys.size,
  });
  const all = new Set(Object.keys(metafile.outputs).filter((key) => !key.endsWith(".map")));
  return {
    whole: await measure(all),
    startup: await measure(staticClosure(metafile, keyOf(entryOutput))),
    dependencies: dependencyBytes(metafile),
  };
}

/** The entry and every chunk it reaches by static imports: what `import("index.mjs")` loads. */
function staticClosure(metafile: Metafile, entry: string): Set<string> {
  const seen = new Set<string>([entry]);
  for (const key of seen) {
    for (const imported of metafile.outputs[key]?.imports ?? []) {
      if (!imported.external && imported.kind === "import-statement") seen.add(imported.path);
    }
  }
  return seen;
}

/**
 * Minified bytes by dependency. A package that mecha's code or the user's reaches without going
 * through the AWS SDK keeps its name (hono, cloudevents and what they import); everything only
 * the SDK's clients reach is counted as one "AWS SDK".
 */
function dependencyBytes(metafile: Metafile): Record<string, number> {
  const packageOf = (input: string) => /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(input)?.[1];
  const isSdk = (input: string) => /^@aws-sdk\//.test(packageOf(input) ?? "");
  const reached = new Set(Object.keys(metafile.inputs).filter((input) => !packageOf(input)));
  for (const input of reached) {
    for (const imported of metafile.inputs[input]?.imports ?? []) {
      if (!imported.external && !isSdk(imported.path)) reached.add(imported.path);
    }
  }
  const bytes: Record<string, number> = {};
  for (const output of Object.values(metafile.outputs)) {
    for (const [input, { bytesInOutput }] of Object.entries(output.inputs)) {
      const name = packageOf(input);
      if (!name) continue;
      const label = reached.has(input) ? name : "AWS SDK";
      bytes[label] = (bytes[label] ?? 0) + bytesInOutput;
    }
  }
  return bytes;
}
