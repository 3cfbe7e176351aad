/**
 * `mecha dev --target workers`, end to end: real `node bin/mecha.js` processes in temporary app
 * folders whose components are the Cloudflare ones, serving the built Worker from Miniflare
 * (workerd) with a local Durable Object store.
 */
import { readFileSync, rmSync, writeFileSync } from "node:fs";

import { join } from "node:path";
import { componentYaml as component, createAppDir } from "../support/app-fixture.ts";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { ownBySuite, spawnMecha, startMechaServer, stopAll, stopServers, type Running } from "../support/mecha-process.ts";
import { waitFor } from "../support/wait.ts";


// ---------------------------------------------------------------------------------------------
// Fixtures: a small Workers app on disk, and `mecha dev --target workers` run in it.

/** The app's functions; `version` is what GET /hello answers, to see a reload happen. */
const appFunctions = (version: string) => `
import { http } from "mecha";

export const hello = http("GET /hello", () => new Response(${JSON.stringify(version)}));

/** A counter in the Durable Object store: each call adds one. */
export const count = http("POST /count", async (_req, ctx) => {
  const store = ctx.state("counters");
  const n = (((await store.get("n"))?.value as number | undefined) ?? 0) + 1;
  await store.set("n", n);
  return Response.json({ n });
});

/** A secret from .dev.vars and a var from wrangler.toml, both through the Worker's env. */
export const vars = http("GET /vars", async (_req, ctx) =>
  Response.json({ ...(await ctx.secret("secrets", "signing-key")), ...(await ctx.secret("secrets", "GREETING")) }),
);
`;


const wranglerToml = ['name = "dev-test"', 'compatibility_date = "2026-01-01"', "", "[vars]", 'GREETING = "hello from wrangler.toml"', ""].join("\n");

const temporary: string[] = [];

/** An app folder: package.json, node_modules/mecha → this repo, functions/, components/cloudflare/. */
function createApp(): string {
  const dir = createAppDir("mecha-dev-workers", {
    "functions/app.ts": appFunctions("v1"),
    "components/cloudflare/counters.yaml": component("counters", "state.cloudflare.durableobjects"),
    "components/cloudflare/secrets.yaml": component("secrets", "secretstores.local.env"),
    ".dev.vars": "# local secrets\nsigning-key=dev-secret\n",
    "wrangler.toml": wranglerToml,
  });
  temporary.push(dir);
  return dir;
}

interface StartedDev extends Running {
  url: string;
  summary: DevSummary;
}

interface DevSummary {
  msg: string;
  target: string;
  url: string;
  routes: Array<{ method: string; path: string; function: string }>;
  bindings: Array<{ binding: string; kind: string; target: string }>;
}

/** `mecha dev --target workers --port 0 --json` until its summary line says where it listens. */
async function startDev(cwd: string, ...extra: string[]): Promise<StartedDev> {
  const running = await startMechaServer<DevSummary>(cwd, ["dev", "--target", "workers", "--port", "0", "--json", ...extra], {
    what: "mecha dev --target workers to print its summary",
    timeoutMs: 40_000,
  });
  return { ...running, url: running.summary.url };
}

afterEach(stopServers);

afterAll(async () => {
  await stopAll();
  for (const dir of temporary) rmSync(dir, { recursive: true, force: true });
});

const text = (url: string, init?: RequestInit) => fetch(url, init).then((r) => (r.ok ? r.text() : undefined), () => undefined);
const count = async (url: string) => ((await (await fetch(`${url}/count`, { method: "POST" })).json()) as { n: number }).n;

// ---------------------------------------------------------------------------------------------

describe("mecha dev --help", () => {
  it("documents --target", async () => {
    const result = await spawnMecha(createApp(), ["dev", "--help"]).exited;
    expect(result.code).toBe(0);
    expect(result.stdout).toContain("--target <platform>");
    expect(result.stdout).toContain("mecha dev --target workers");
  });

  it("documents the options of --target workers", async () => {
    const result = await spawnMecha(createApp(), ["dev", "--target", "workers", "--help"]).exited;
    expect(result.code).toBe(0);
    expect(result.stdout).toContain("Usage: mecha dev --target workers");
    for (const text of ["--resources", "components/cloudflare", "--port", "8787", "--persist", ".mecha/workers", "--json"]) expect(result.stdout).toContain(text);
  });

  it("rejects a target it does not know", async () => {
    const result = await spawnMecha(createApp(), ["dev", "--target", "lambda"]).exited;
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('error: --target must be node or workers, got "lambda"');
  });
});

describe("mecha dev --target workers", () => {
  let app: string;
  let dev: StartedDev;

  beforeAll(async () => {
    app = createApp();
    dev = await startDev(app);
    ownBySuite(dev.child);
  }, 60_000);

  it("prints one JSON line with the URL, the routes and the bindings", () => {
    expect(dev.summary).toMatchObject({ target: "workers", url: expect.stringMatching(/^http:\/\/127\.0\.0\.1:\d+$/) });
    expect(dev.summary.routes.map((r) => `${r.method} ${r.path}`).sort()).toEqual(["GET /hello", "GET /vars", "POST /count"]);
    expect(dev.summary.bindings).toContainEqual(expect.objectContaining({ binding: "MECHA_STATE", kind: "durable-object", target: "MechaStateObject" }));
  });

  it("serves an HTTP function whose state lives in a Durable Object", async () => {
    expect(await text(`${dev.url}/hello`)).toBe("v1");
    const first = await count(dev.url);
    expect(await count(dev.url)).toBe(first + 1);
  });

  it("gives the Worker the vars of wrangler.toml and the secrets of .dev.vars", async () => {
    const response = await fetch(`${dev.url}/vars`);
    expect(await response.json()).toEqual({ "signing-key": "dev-secret", GREETING: "hello from wrangler.toml" });
  });

  it("builds into .mecha/workers and leaves the project's wrangler.toml as it was", () => {
    expect(readFileSync(join(app, "wrangler.toml"), "utf8")).toBe(wranglerToml);
    expect(readFileSync(join(app, ".mecha/workers/wrangler.toml"), "utf8")).toContain("MechaStateObject");
    expect(readFileSync(join(app, ".mecha/workers/dist/index.js"), "utf8").length).toBeGreaterThan(0);
  });
});

describe("mecha dev --target workers across restarts", () => {
  it("keeps Durable Object state in the --persist folder, and exits 0 on SIGTERM", async () => {
    const app = createApp();
    const first = await startDev(app, "--persist", "state");
    expect(await count(first.url)).toBe(1);
    expect(await count(first.url)).toBe(2);
    first.child.kill("SIGTERM");
    expect((await first.exited).code).toBe(0);
    // Nothing serves the old URL any more.
    expect(await text(`${first.url}/hello`)).toBeUndefined();

    const second = await startDev(app, "--persist", "state");
    expect(await count(second.url)).toBe(3);
  }, 90_000);
});

describe("mecha dev --target workers on a change", () => {
  it("rebuilds and reloads the Worker in place, keeping its state", async () => {
    const app = createApp();
    const dev = await startDev(app);
    expect(await count(dev.url)).toBe(1);

    writeFileSync(join(app, "functions/app.ts"), appFunctions("v2"));
    await waitFor(async () => (await text(`${dev.url}/hello`)) === "v2", { timeoutMs: 30_000, what: "the reloaded Worker to answer v2" });
    expect(dev.stderr()).toMatch(/\[mecha dev\] .*changed; reloaded in \d+ ms/);
    expect(dev.summary.url).toBe(dev.url);
    expect(await count(dev.url)).toBe(2);
  }, 60_000);

  it("prints a build error and keeps the previous Worker serving", async () => {
    const app = createApp();
    const dev = await startDev(app);

    writeFileSync(join(app, "functions/app.ts"), `${appFunctions("v2")}\nexport const broken = ;\n`);
    await waitFor(() => /\[mecha dev\] the build failed; the previous Worker keeps serving/.test(dev.stderr()), {
      timeoutMs: 30_000,
      what: "mecha dev to report the failed build",
    });
    expect(dev.stderr()).toMatch(/^error: .*functions\/app\.ts/m);
    expect(await text(`${dev.url}/hello`)).toBe("v1");

    // The next change that builds is served.
    writeFileSync(join(app, "functions/app.ts"), appFunctions("v3"));
    await waitFor(async () => (await text(`${dev.url}/hello`)) === "v3", { timeoutMs: 30_000, what: "the fixed Worker to answer v3" });
  }, 60_000);
});
