import { rmSync } from "node:fs";
import { afterAll, describe, expect, it } from "vitest";
import { deriveLambdaResources } from "../../src/build/lambda/aws-resources.ts";
import { loadBuildApp } from "../../src/build/load-app.ts";
import { deriveWorkersResources } from "../../src/build/workers/cloudflare-resources.ts";
import { createResiliency } from "../../src/core/resiliency.ts";
import { componentYaml, createAppDir } from "../support/app-fixture.ts";

const resiliency = (name: string, scopes: string, timeout: string) =>
  `apiVersion: dapr.io/v1alpha1\nkind: Resiliency\nmetadata:\n  name: ${name}\n${scopes}spec:\n  policies:\n    timeouts:\n      DefaultTimeoutPolicy: ${timeout}\n`;

const dirs: string[] = [];
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

async function loaded() {
  const dir = createAppDir("mecha-resiliency-bundle", {
    "functions/hello.ts": `import { http } from "mecha";\nexport const hello = http("GET /hello", async (_req, ctx) => Response.json(await ctx.state("kv").get("k")));\n`,
    "components/kv.yaml": componentYaml("kv", "state.in-memory"),
    "components/resiliency.yaml": `${resiliency("everyone", "", "2s")}---\n${resiliency("others", "scopes: [billing]\n", "9s")}---\n${resiliency("mine", "scopes: [shop]\n", "3s")}`,
  });
  dirs.push(dir);
  return loadBuildApp({ projectDir: dir, resources: "components", functions: "functions", appId: "shop" });
}

describe("bundles embed the Resiliency documents of their app", () => {
  it("a Lambda bundle carries the documents in scope, in order", async () => {
    const { resources } = deriveLambdaResources(await loaded(), {});
    expect(resources.resiliencies?.map((r) => r.name)).toEqual(["everyone", "mine"]);
  });

  it("a Worker bundle carries the documents in scope, in order", async () => {
    const { resources } = deriveWorkersResources(await loaded(), {});
    expect(resources.resiliencies?.map((r) => r.name)).toEqual(["everyone", "mine"]);
  });

  it("the embedded JSON gives the bundle's Runtime the same policies", async () => {
    const { resources } = deriveLambdaResources(await loaded(), {});
    const embedded = JSON.parse(JSON.stringify(resources));
    const executor = createResiliency({ appId: "shop", specs: embedded.resiliencies }).forComponent("kv", "state", "outbound");
    expect(executor.policies?.timeout).toEqual({ name: "DefaultTimeoutPolicy", ms: 3000 });
  });
});
