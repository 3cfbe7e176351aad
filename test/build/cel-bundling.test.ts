/**
 * The CEL engine (@marcbachmann/cel-js) goes into a Lambda or Workers bundle only when the app uses
 * CEL — routing rules or circuit-breaker trips — and a bundle that has it routes by CEL as the Node
 * host does. CEL that does not compile fails the build.
 */
import { readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { buildLambda } from "../../src/build/lambda/build.ts";
import { buildWorkers } from "../../src/build/workers/build.ts";
import { ComponentConfigError } from "../../src/errors.ts";
import { componentYaml, createAppDir, subscriptionYaml } from "../support/app-fixture.ts";
import { lambdaContext, sqsEvent } from "../lambda/support.ts";
import { rejectionOf } from "../support/rejection.ts";

const temporary: string[] = [];
afterAll(() => {
  for (const dir of temporary) rmSync(dir, { recursive: true, force: true });
});

const functions = `import { http } from "mecha";
const seen: string[] = ((globalThis as any).celBundlingSeen = []);
const route = (path: string) => http(\`POST \${path}\`, async (req) => { const e = (await req.json()) as any; seen.push(\`\${path} \${e.data.n}\`); return new Response(null, { status: 200 }); });
export const widgets = route("/widgets");
export const products = route("/products");
`;
const subscription = (match: string) =>
  subscriptionYaml("inventory", { pubsub: "bus", topic: "inventory", rules: [[match, "/widgets"]], defaultRoute: "/products" });
const breaker = `apiVersion: dapr.io/v1alpha1
kind: Resiliency
metadata:
  name: guard
spec:
  policies:
    circuitBreakers:
      busBreaker:
        trip: consecutiveFailures >= 3
        timeout: 5s
  targets:
    components:
      bus:
        outbound:
          circuitBreaker: busBreaker
`;

function app(files: Record<string, string>): string {
  const dir = createAppDir("mecha-cel-bundling", { "functions/app.ts": functions, "wrangler.toml": 'name = "x"\ncompatibility_date = "2026-01-01"\n', ...files });
  temporary.push(dir);
  return dir;
}

/** Whether any module of the bundle comes from the CEL package, per esbuild's metafile. */
function bundlesCel(metafile: string): boolean {
  const meta = JSON.parse(readFileSync(metafile, "utf8")) as { inputs: Record<string, unknown> };
  return Object.keys(meta.inputs).some((input) => input.includes("@marcbachmann/cel-js"));
}

const workers = (dir: string) => buildWorkers({ projectDir: dir, resources: "components", functions: "functions", appId: "shop", out: "dist", config: "wrangler.toml" });
const lambda = (dir: string) => buildLambda({ projectDir: dir, resources: "components", functions: "functions", appId: "shop", out: "dist" });

describe("the CEL engine in bundles", () => {
  it("is left out of a Workers bundle whose app uses no CEL", async () => {
    const built = await workers(app({ "components/bus.yaml": componentYaml("bus", "pubsub.cloudflare.queues") }));
    expect(readFileSync(built.entryFile, "utf8")).not.toContain("cel-engine.ts");
    expect(bundlesCel(built.bundle.metafile)).toBe(false);
  });

  it("is in a Workers bundle whose app has CEL routing rules, or a circuit breaker", async () => {
    const withRules = await workers(app({ "components/bus.yaml": componentYaml("bus", "pubsub.cloudflare.queues"), "components/subs.yaml": subscription('event.data.kind == "widget"') }));
    expect(bundlesCel(withRules.bundle.metafile)).toBe(true);
    const withBreaker = await workers(app({ "components/bus.yaml": componentYaml("bus", "pubsub.cloudflare.queues"), "components/resiliency.yaml": breaker }));
    expect(bundlesCel(withBreaker.bundle.metafile)).toBe(true);
  });

  it("lets a Lambda bundle route SQS records by CEL, as the Node host does", async () => {
    const built = await lambda(app({ "components/bus.yaml": componentYaml("bus", "pubsub.aws.snssqs"), "components/subs.yaml": subscription('event.data.kind == "widget"') }));
    expect(readFileSync(built.entryFile, "utf8")).toContain("cel-engine.ts");
    const queue = Object.keys(built.aws.handler.queues)[0]!;
    const { handler } = await import(pathToFileURL(join(built.codeDir, "index.mjs")).href);
    const response = await handler(sqsEvent([{ queue, data: { kind: "widget", n: "w" } }, { queue, data: { kind: "bolt", n: "b" } }]), lambdaContext());
    expect(response).toEqual({ batchItemFailures: [] });
    expect(((globalThis as { celBundlingSeen?: string[] }).celBundlingSeen ?? []).sort()).toEqual(["/products b", "/widgets w"]);
  });

  it("fails the build on a CEL rule that does not compile, naming the field", async () => {
    const error = await rejectionOf(lambda(app({ "components/bus.yaml": componentYaml("bus", "pubsub.aws.snssqs"), "components/subs.yaml": subscription("event.data.kind ==") })));
    expect(error).toBeInstanceOf(ComponentConfigError);
    expect(error).toMatchObject({ field: "spec.routes.rules[0].match" });
  });
});
