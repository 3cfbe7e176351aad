/** The store both sides use: one `state.sqlite` component file, each side in its own folder. */
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";

export const storeName = "counters";
export const appId = "bench";

/** Writes `<dir>/components/counters.yaml` (a `state.sqlite` in `<dir>/state.db`) and an empty `<dir>/functions`. */
export async function writeSideFolder(dir: string): Promise<void> {
  await mkdir(join(dir, "components"), { recursive: true });
  await mkdir(join(dir, "functions"), { recursive: true });
  await writeFile(
    join(dir, "components", `${storeName}.yaml`),
    `apiVersion: dapr.io/v1alpha1
kind: Component
metadata: { name: ${storeName} }
spec:
  type: state.sqlite
  version: v1
  metadata:
    - { name: connectionString, value: "state.db" }
`,
  );
}
