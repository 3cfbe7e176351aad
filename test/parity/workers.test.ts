/**
 * The example app on the Workers target: built by `mecha build --target workers` with
 * components/cloudflare, run in workerd (Miniflare) with local Durable Objects, Queues and R2.
 */
import { copyFile, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import type { Miniflare } from "miniflare";
import { buildWorkers } from "../../src/build/workers/build.ts";
import { startBuiltWorker } from "../support/miniflare-worker.ts";
import { parityRequestInit, readParityResponse, type ParityDriver } from "./driver.ts";
import { describeExampleAppParity } from "./example-app.spec.ts";

const repo = resolve(import.meta.dirname, "../..");

function workersDriver(): ParityDriver {
  let mf: Miniflare | undefined;
  let dir: string | undefined;
  return {
    target: "workers",
    async start() {
      // The repo's own example, built into a temp folder against a copy of wrangler.toml, so the
      // repo's wrangler.toml and dist/ are left alone.
      dir = await mkdtemp(join(tmpdir(), "mecha-parity-workers-"));
      await copyFile(join(repo, "wrangler.toml"), join(dir, "wrangler.toml"));
      const build = await buildWorkers({
        projectDir: repo,
        resources: "components/cloudflare",
        functions: "functions",
        appId: "mecha-app",
        out: join(dir, "dist"),
        config: join(dir, "wrangler.toml"),
      });
      // The receipt key is a Worker secret in production (`wrangler secret put`).
      mf = startBuiltWorker(build, { vars: { "receipt-signing-key": "parity-test-key" } });
    },
    async request(method, path, body, headers) {
      const response = await mf!.dispatchFetch(`http://worker${path}`, parityRequestInit(method, body, headers) as never);
      return readParityResponse(response as unknown as Response);
    },
    async stop() {
      await mf?.dispose();
      if (dir) await rm(dir, { recursive: true, force: true });
    },
  };
}

describeExampleAppParity(workersDriver());
