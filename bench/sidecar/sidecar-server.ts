/**
 * The sidecar: the Node host with no functions, serving Dapr's HTTP API for a `state.sqlite`
 * component (bench/sidecar/components.ts) in its own process, as daprd runs beside an app.
 * Prints `listening <Dapr API URL>`.
 */
import { join } from "node:path";
import { startNodeHost, stopOnSignals } from "../../adapters/node/index.ts";
import { silentLogger } from "../../src/core/logger.ts";
import { appId } from "./components.ts";

const [dir] = process.argv.slice(2) as [string];
const host = await startNodeHost({
  baseDir: dir,
  resources: "components",
  functions: join(dir, "functions"),
  port: 0,
  appId,
  logger: silentLogger,
  daprApi: { port: 0 },
});
stopOnSignals(host);
console.log(`listening ${host.daprApiUrl}`);
