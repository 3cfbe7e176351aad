/**
 * `mecha/node`: run an app on Node.
 *
 * @example
 * import { startNodeHost, stopOnSignals } from "mecha/node";
 * const host = await startNodeHost({ resources: "components/local", port: 3000 });
 * stopOnSignals(host);
 */
export { startNodeHost, type NodeHost, type NodeHostOptions } from "./host.ts";
export { stopOnSignals } from "./signals.ts";
export { loadFunctionModules } from "./discover.ts";
