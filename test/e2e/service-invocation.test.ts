/**
 * Service invocation between two real Node hosts: app "orders" calls app "billing" with
 * `ctx.invoke`, found through `nameresolution.static`. The callee's answer comes back as it
 * answered, the callee continues the caller's trace, and a callee that is down is
 * ERR_DIRECT_INVOKE — with no credentials from the URL in what the caller sees or logs.
 */
import { rm } from "node:fs/promises";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startNodeHost, type NodeHost } from "../../adapters/node/index.ts";
import { createConsoleLogger, silentLogger } from "../../src/core/logger.ts";
import { componentYaml, createAppDir } from "../support/app-fixture.ts";
import { freshName } from "../support/wait.ts";

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

// The callee's Response is returned as is: status, headers and body pass through.
export const checkout = http("POST /checkout/:id", async (req, ctx) =>
  ctx.invoke("billing", "POST /invoices/" + ctx.params.id, await req.json()),
);
`;

const traceId = "0af7651916cd43dd8448eb211c80319c";

describe("service invocation between two Node hosts", () => {
  const dirs: string[] = [];
  let billing: NodeHost;
  let orders: NodeHost;
  const ordersLog: string[] = [];

  beforeAll(async () => {
    const billingDir = createAppDir("mecha-invoke-billing", { "functions/billing.ts": billingFunctions, "components/.keep": "" });
    dirs.push(billingDir);
    billing = await startNodeHost({ baseDir: billingDir, resources: "components", port: 0, logger: silentLogger, appId: "billing" });
    // Credentials in the URL are sent as basic auth, and must never show up in errors or logs.
    const billingUrl = billing.url.replace("http://", "http://svc:hunter2@");
    const ordersDir = createAppDir("mecha-invoke-orders", {
      "functions/orders.ts": ordersFunctions,
      "components/peers.yaml": componentYaml("peers", "nameresolution.static", { billing: billingUrl }),
    });
    dirs.push(ordersDir);
    orders = await startNodeHost({
      baseDir: ordersDir,
      resources: "components",
      port: 0,
      appId: "orders",
      logger: createConsoleLogger({ level: "debug", write: (_level, line) => ordersLog.push(line) }),
    });
  });

  afterAll(async () => {
    await orders?.close();
    await billing?.close();
    await Promise.all(dirs.map((dir) => rm(dir, { recursive: true, force: true })));
  });

  const checkout = (id: string, traceparent?: string) =>
    fetch(`${orders.url}/checkout/${id}`, {
      method: "POST",
      headers: { "content-type": "application/json", ...(traceparent ? { traceparent } : {}) },
      body: JSON.stringify({ total: 42 }),
    });

  it("returns the callee's status, header and JSON body to the caller", async () => {
    const id = freshName("inv");
    const response = await checkout(id);
    expect(response.status).toBe(201);
    expect(response.headers.get("x-billing")).toBe("invoiced");
    expect(await response.json()).toMatchObject({ invoice: id, total: 42, caller: "orders" });
  });

  it("lets the callee continue the caller's trace", async () => {
    const response = await checkout(freshName("inv"), `00-${traceId}-b7ad6b7169203331-01`);
    expect(((await response.json()) as { traceId: string }).traceId).toBe(traceId);
  });

  it("answers ERR_DIRECT_INVOKE with a 5xx when the callee is down, without leaking the URL's credentials", async () => {
    await billing.close();
    const response = await checkout(freshName("inv"));
    expect(response.status).toBeGreaterThanOrEqual(500);
    const text = await response.text();
    expect(JSON.parse(text)).toMatchObject({ errorCode: "ERR_DIRECT_INVOKE" });
    expect(text).not.toContain("hunter2");
    const logged = ordersLog.filter((line) => line.includes("ERR_DIRECT_INVOKE"));
    expect(logged.length).toBeGreaterThan(0);
    expect(logged.join("\n")).toContain("ECONNREFUSED");
    expect(ordersLog.join("\n")).not.toContain("hunter2");
  });
});
