/** The example app on the Node target: a real host on a real port, over real HTTP. */
import { cp, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { startNodeHost, type NodeHost } from "../../adapters/node/index.ts";
import { silentLogger } from "../../src/core/logger.ts";
import { fetchParity, type ParityDriver } from "./driver.ts";
import { describeExampleAppParity } from "./example-app.spec.ts";

const repo = resolve(import.meta.dirname, "../..");

function nodeDriver(): ParityDriver {
  let host: NodeHost | undefined;
  let dir: string | undefined;
  return {
    target: "node",
    async start() {
      // A fresh project folder per run: the example's .mecha/ files never leak between runs.
      dir = await mkdtemp(join(tmpdir(), "mecha-parity-"));
      await cp(join(repo, "components/local"), join(dir, "components/local"), { recursive: true });
      host = await startNodeHost({ baseDir: dir, functions: join(repo, "functions"), port: 0, logger: silentLogger });
    },
    request: (method, path, body, headers) => fetchParity(`${host!.url}${path}`, method, body, headers),
    async stop() {
      await host?.close();
      if (dir) await rm(dir, { recursive: true, force: true });
    },
  };
}

describeExampleAppParity(nodeDriver());
