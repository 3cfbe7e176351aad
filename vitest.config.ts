import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts", "src/**/*.test.ts", "adapters/**/*.test.ts"],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    // Suites talk to real files, ports and processes; two cores here.
    pool: "forks",
    maxWorkers: 2,
  },
});
