/**
 * `mecha build --target lambda`, as a function: load the app, derive its AWS resources, write the
 * entry, bundle it into a zip-ready folder and write the SAM template beside it.
 *
 * The output folder (`dist/lambda` by default):
 * - `function/` — the deployment package: `index.mjs` (handler `index.handler`) and `chunks/`;
 * - `template.yaml` — the SAM template (its `CodeUri` is `function`);
 * - `entry.ts`, `meta.json`, `resources.json` — what was bundled, for reading, not deploying.
 */
import { mkdir, rm, writeFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import type { Bundle } from "../bundle.ts";
import { usesCel } from "../cel-usage.ts";
import { loadBuildApp, type LoadedApp } from "../load-app.ts";
import { deriveLambdaResources, type LambdaResources } from "./aws-resources.ts";
import { bundleLambda, lambdaHandlerName } from "./bundle.ts";
import { lambdaEntrySource } from "./entry.ts";
import { defaultFunctionSettings, samTemplateYaml, type FunctionSettings } from "./sam-template.ts";

/** The options of `mecha build --target lambda`, resolved. */
export interface LambdaBuildRequest {
  /** The project root: the other paths are resolved from here. */
  projectDir: string;
  /** The resources folder, e.g. `components/aws`. */
  resources: string;
  functions: string;
  appId: string;
  /** The output folder, e.g. `dist/lambda`. */
  out: string;
  minify?: boolean;
  /** The environment `envRef`s in build-time metadata are read from. */
  env?: Readonly<Record<string, string | undefined>>;
  /** Overrides of the function's memory, timeout and runtime. */
  function?: Partial<Omit<FunctionSettings, "codeUri" | "handler">>;
}

/** What the build wrote. */
export interface LambdaBuildResult {
  loaded: LoadedApp;
  aws: LambdaResources;
  outDir: string;
  /** The deployment package's folder. */
  codeDir: string;
  entryFile: string;
  resourcesFile: string;
  templateFile: string;
  bundle: Bundle;
}

/** The deployment package's folder, relative to the output folder (and to the template). */
export const codeFolder = "function";

/** Builds the app for Lambda. */
export async function buildLambda(request: LambdaBuildRequest): Promise<LambdaBuildResult> {
  const env = request.env ?? {};
  const loaded = await loadBuildApp({ ...request, env });
  const aws = deriveLambdaResources(loaded, env);
  const outDir = resolve(request.projectDir, request.out);
  const codeDir = join(outDir, codeFolder);
  // Chunk names carry hashes: a rebuild must not leave the last build's chunks in the package.
  await rm(codeDir, { recursive: true, force: true });
  await mkdir(codeDir, { recursive: true });
  const entryFile = join(outDir, "entry.ts");
  const resourcesFile = join(outDir, "resources.json");
  const templateFile = join(outDir, "template.yaml");
  await writeFile(
    entryFile,
    lambdaEntrySource({
      appId: loaded.app.appId,
      modules: loaded.modules,
      resources: aws.resources,
      componentTypes: aws.componentTypes,
      handler: aws.handler,
      usesCel: usesCel(loaded),
    }),
  );
  await writeFile(resourcesFile, `${JSON.stringify(aws.resources, null, 2)}\n`);
  const bundle = await bundleLambda({
    entryFile,
    codeDir,
    metafile: join(outDir, "meta.json"),
    workingDir: resolve(request.projectDir),
    minify: request.minify ?? false,
  });
  const settings: FunctionSettings = { ...defaultFunctionSettings, ...request.function, codeUri: codeFolder, handler: lambdaHandlerName };
  await writeFile(templateFile, samTemplateYaml(loaded.app.appId, aws, settings));
  return { loaded, aws, outDir, codeDir, entryFile, resourcesFile, templateFile, bundle };
}
