/**
 * A Node host with Dapr's HTTP API on a free port, for the API's tests: an app folder made from
 * component YAML (and optional functions), started with `daprApi: { port: 0 }`.
 */
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { startNodeHost, type NodeHost, type NodeHostOptions } from "../../adapters/node/index.ts";
import { silentLogger } from "../../src/core/logger.ts";
import { createAppDir } from "./app-fixture.ts";

export interface DaprApiHost {
  host: NodeHost;
  dir: string;
  /** Calls the Dapr API: `api("/v1.0/state/store/key")`. */
  api(path: string, init?: RequestInit): Promise<Response>;
  close(): Promise<void>;
}

export async function startDaprApiHost(request: {
  /** Files of the app folder: `components/<name>.yaml`, `functions/<name>.ts`, … */
  files: Readonly<Record<string, string>>;
  appId?: string;
  options?: Partial<NodeHostOptions>;
}): Promise<DaprApiHost> {
  const dir = createAppDir("mecha-dapr-api", request.files);
  for (const folder of ["functions", "components"]) mkdirSync(join(dir, folder), { recursive: true });
  const host = await startNodeHost({
    baseDir: dir,
    resources: "components",
    port: 0,
    logger: silentLogger,
    appId: request.appId ?? "api-test",
    ...request.options,
    daprApi: { port: 0, ...request.options?.daprApi },
  });
  return {
    host,
    dir,
    api: (path, init) => fetch(`${host.daprApiUrl}${path}`, init),
    close: () => host.close(),
  };
}

/** A JSON request body with its content type. */
export const json = (body: unknown, init: RequestInit = {}): RequestInit => ({
  method: "POST",
  ...init,
  headers: { "content-type": "application/json", ...(init.headers as Record<string, string> | undefined) },
  body: JSON.stringify(body),
});
