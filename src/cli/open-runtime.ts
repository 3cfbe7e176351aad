/**
 * A runtime for one-shot commands (`publish`, `state`): the components of a resources folder,
 * without functions or a server. It shares the running host's backing files, so what it writes
 * the host sees — with the same app id, the same state key prefix.
 */
import { resolve } from "node:path";
import { componentCatalog } from "../components/catalog.ts";
import { loadResources } from "../config/load.ts";
import { createConsoleLogger } from "../core/logger.ts";
import { Runtime } from "../core/runtime.ts";
import type { CliIo } from "./output.ts";

export interface OpenRuntimeRequest {
  resources: string;
  appId: string;
  io: CliIo;
}

/** Runs `use` with a runtime and closes the runtime afterwards, whatever happens. */
export async function withRuntime<T>(request: OpenRuntimeRequest, use: (runtime: Runtime) => Promise<T>): Promise<T> {
  const baseDir = resolve(request.io.cwd);
  const resources = await loadResources(resolve(baseDir, request.resources));
  const runtime = new Runtime({
    appId: request.appId,
    // Dapr's scopes: an empty list means every app may use the component.
    components: resources.components.filter((c) => c.scopes.length === 0 || c.scopes.includes(request.appId)),
    catalog: componentCatalog,
    baseDir,
    // Components' warnings go to stderr so that stdout stays the command's result.
    logger: createConsoleLogger({ level: "warn", format: "pretty", write: (_level, line) => void request.io.stderr.write(`${line}\n`) }),
    env: request.io.env,
  });
  try {
    return await use(runtime);
  } finally {
    await runtime.close();
  }
}
