/** The mecha side: the Node host serving bench/http-state/functions on a state.sqlite store. */
import { writeFile, mkdir } from "node:fs/promises";
import { join } from "node:path";
import { startNodeHost, stopOnSignals } from "../../adapters/node/index.ts";
import { silentLogger } from "../../src/core/logger.ts";

const [dir] = process.argv.slice(2) as [string];
await mkdir(join(dir, "components"), { recursive: true });
await writeFile(
  join(dir, "components/counters.yaml"),
  `apiVersion: dapr.io/v1alpha1
kind: Component
metadata: { name: counters }
spec:
  type: state.sqlite
  version: v1
  metadata:
    - { name: connectionString, value: "mecha.db" }
`,
);
const host = await startNodeHost({
  baseDir: dir,
  resources: "components",
  functions: join(import.meta.dirname, "functions"),
  port: 0,
  appId: "bench",
  logger: silentLogger,
});
stopOnSignals(host);
console.log(`listening ${host.url}`);
