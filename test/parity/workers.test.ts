/**
 * The example app on the Workers target: built by `mecha build --target workers` with
 * components/cloudflare, run in workerd (Miniflare) with local Durable Objects, Queues and R2.
 */
import { copyFile, cp, mkdtemp, rm } from "node:fs/promises";
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
      // Build from a copy, so the repo's own wrangler.toml and dist/ are left alone.
      dir = await mkdtemp(join(tmpdir(), "mecha-parity-workers-"));
      await cp(join(repo, "functions"), join(dir, "functions"), { recursive: true });
      await cp(join(repo, "components/cloudflare"), join(dir, "components/cloudflare"), { recursive: true });
      await copyFile(join(repo, "wrangler.toml"), join(dir, "wrangler.toml"));
      const build = await buildWorkers({
        projectDir: dir,
        resources: "components/cloudflare",
        functions: "functions",
        appId: "mecha-app",
        out: "dist/workers",
        config: "wrangler.toml",
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
