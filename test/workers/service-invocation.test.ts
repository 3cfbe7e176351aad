/**
 * Service invocation on Cloudflare Workers, in workerd (Miniflare): two Workers built by
 * `mecha build --target workers`, where app "orders" calls app "billing" through a service
 * binding found by `nameresolution.cloudflare.servicebindings`, and calls its own functions
 * in-process.
 */
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Miniflare } from "miniflare";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildWorkers, type WorkersBuildResult } from "../../src/build/workers/build.ts";
import { miniflareWorkerOptions } from "../../src/build/workers/miniflare-options.ts";
import { componentYaml } from "../support/app-fixture.ts";

const billingFunctions = `import { http } from "mecha";

export const invoice = http("POST /invoices/:id", async (req, ctx) => {
  const order = (await req.json()) as { total: number };
  return Response.json(
    { invoice: ctx.params.id, total: order.total, traceId: ctx.trace.traceId, caller: req.headers.get("dapr-caller-app-id") },
    { status: 201, headers: { "x-billing": "invoiced" } },
  );
});
`;

const ordersFunctions = `import { http } from "mecha";

export const checkout = http("POST /checkout/:id", async (req, ctx) =>
  ctx.invoke("billing", "POST /invoices/" + ctx.params.id, await req.json()),
);

export const self = http("GET /self", async (_req, ctx) => ctx.invoke("orders", "GET /whoami?via=invoke"));

export const whoami = http("GET /whoami", async (req, ctx) =>
  Response.json({ app: ctx.appId, via: new URL(req.url).searchParams.get("via"), caller: req.headers.get("dapr-caller-app-id") }),
);

export const stranger = http("GET /stranger", async (_req, ctx) => ctx.invoke("nobody", "GET /"));
`;

const traceId = "5b8efff798038103d269b633813fc60c";

async function buildApp(root: string, appId: string, files: Record<string, string>): Promise<WorkersBuildResult> {
  const dir = join(root, appId);
  await mkdir(join(dir, "functions"), { recursive: true });
  await mkdir(join(dir, "components"), { recursive: true });
  for (const [path, text] of Object.entries(files)) await writeFile(join(dir, path), text);
  await writeFile(join(dir, "wrangler.toml"), `name = "${appId}"\ncompatibility_date = "2026-01-01"\n`);
  return buildWorkers({ projectDir: dir, resources: "components", functions: "functions", appId, out: "dist", config: "wrangler.toml" });
}

describe("service invocation between Workers through a service binding", () => {
  let root: string;
  let mf: Miniflare;

  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), "mecha-workers-invoke-"));
    const billing = await buildApp(root, "billing", { "functions/billing.ts": billingFunctions });
    const orders = await buildApp(root, "orders", {
      "functions/orders.ts": ordersFunctions,
      "components/peers.yaml": componentYaml("peers", "nameresolution.cloudflare.servicebindings", { billing: "BILLING" }),
    });
    mf = new Miniflare({
      workers: [
        { name: "orders", ...miniflareWorkerOptions(orders), serviceBindings: { BILLING: "billing" } },
        { name: "billing", ...miniflareWorkerOptions(billing) },
      ],
    });
    await mf.ready;
  }, 90_000);

  afterAll(async () => {
    try {
      await mf?.dispose();
    } finally {
      if (root) await rm(root, { recursive: true, force: true });
    }
  });

  it("returns the callee Worker's status, header and JSON body, and the callee continues the trace", async () => {
    const response = await mf.dispatchFetch("http://orders/checkout/7", {
      method: "POST",
      headers: { "content-type": "application/json", traceparent: `00-${traceId}-b7ad6b7169203331-01` },
      body: JSON.stringify({ total: 42 }),
    });
    expect(response.status).toBe(201);
    expect(response.headers.get("x-billing")).toBe("invoiced");
    expect(await response.json()).toEqual({ invoice: "7", total: 42, traceId, caller: "orders" });
  });

  it("runs a call to the Worker's own app id in-process", async () => {
    const response = await mf.dispatchFetch("http://orders/self");
    expect(await response.json()).toEqual({ app: "orders", via: "invoke", caller: "orders" });
  });

  it("answers 404 ERR_DIRECT_INVOKE for an app id no name resolution knows", async () => {
    const response = await mf.dispatchFetch("http://orders/stranger");
    expect(response.status).toBe(404);
    expect(((await response.json()) as { errorCode: string }).errorCode).toBe("ERR_DIRECT_INVOKE");
  });
});
