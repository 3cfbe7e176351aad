import { fileURLToPath } from "node:url";
import { defineConfig } from "vitest/config";

export default defineConfig({
  resolve: {
    // Function modules import "mecha"; inside this repo that is the source itself.
    alias: [{ find: /^mecha$/, replacement: fileURLToPath(new URL("./src/index.ts", import.meta.url)) }],
  },
  test: {
    include: ["test/**/*.test.ts", "src/**/*.test.ts", "adapters/**/*.test.ts"],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    // Suites talk to real files, ports and processes; two cores here.
    pool: "forks",
    maxWorkers: 2,
  },
});
