/**
 * Dapr's service invocation API on the Node host: `/v1.0/invoke/{appId}/method/{path}` and the
 * `dapr-app-id` header, reaching this app's functions in-process and another host's through
 * `nameresolution.static`, with the callee's answer passed back as it was given.
 */
import { join, resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { componentYaml } from "../support/app-fixture.ts";
import { startDaprApiHost, type DaprApiHost } from "../support/dapr-api-host.ts";

const repo = resolve(import.meta.dirname, "../..");
const echo = `import { http } from ${JSON.stringify(join(repo, "src/index.ts"))};
export const echo = http("ALL /echo/*", async (req, ctx) => {
  const url = new URL(req.url);
  return Response.json(
    { app: ctx.appId, method: req.method, path: url.pathname, query: url.search, body: req.method === "GET" ? null : await req.text(), traceId: ctx.trace.traceId, caller: req.headers.get("dapr-caller-app-id") },
    { status: 207, headers: { "x-callee": ctx.appId } },
  );
});
// Returns fetch()'s own Response, which on the Node host is not an instanceof the global Response.
export const proxy = http("GET /proxy", () => fetch((globalThis as any).proxyTarget));
`;

let callee: DaprApiHost;
let caller: DaprApiHost;
beforeAll(async () => {
  callee = await startDaprApiHost({ appId: "billing", files: { "functions/echo.ts": echo } });
  caller = await startDaprApiHost({
    appId: "orders",
    files: {
      "functions/echo.ts": echo,
      "components/peers.yaml": componentYaml("peers", "nameresolution.static", { billing: callee.host.url, gone: "http://127.0.0.1:1" }),
    },
  });
});
afterAll(async () => {
  await caller?.close();
  await callee?.close();
});

describe("POST /v1.0/invoke/{appId}/method/{path}", () => {
  it("calls this app's own function in-process, passing method, path, query and body, and answering its status and headers", async () => {
    const response = await caller.api("/v1.0/invoke/orders/method/echo/a%20b?x=1&y=2", { method: "PUT", body: "hello" });
    expect(response.status).toBe(207);
    expect(response.headers.get("x-callee")).toBe("orders");
    expect(await response.json()).toMatchObject({ app: "orders", method: "PUT", path: "/echo/a%20b", query: "?x=1&y=2", body: "hello", caller: "orders" });
  });

  it("calls another app through nameresolution.static, continuing the caller's trace", async () => {
    const traceId = "0af7651916cd43dd8448eb211c80319c";
    const response = await caller.api("/v1.0/invoke/billing/method/echo/invoices", {
      method: "POST",
      headers: { traceparent: `00-${traceId}-b7ad6b7169203331-01`, "content-type": "application/json" },
      body: JSON.stringify({ total: 3 }),
    });
    expect(response.status).toBe(207);
    expect(response.headers.get("x-callee")).toBe("billing");
    expect(await response.json()).toMatchObject({ app: "billing", method: "POST", path: "/echo/invoices", body: '{"total":3}', traceId, caller: "orders" });
  });

  it("routes a request that names its target in the dapr-app-id header", async () => {
    const response = await caller.api("/echo/by-header?z=9", { headers: { "dapr-app-id": "billing" } });
    expect(response.status).toBe(207);
    expect(await response.json()).toMatchObject({ app: "billing", method: "GET", path: "/echo/by-header", query: "?z=9" });
  });

  it("answers the callee's own 404 for a path it does not serve", async () => {
    const response = await caller.api("/v1.0/invoke/billing/method/nothing-here");
    expect(response.status).toBe(404);
    expect(((await response.json()) as { errorCode: string }).errorCode).toBe("ERR_NOT_FOUND");
  });

  it("answers 404 ERR_DIRECT_INVOKE for an app id nothing resolves", async () => {
    const response = await caller.api("/v1.0/invoke/shipping/method/echo/x");
    expect(response.status).toBe(404);
    expect(await response.json()).toMatchObject({ errorCode: "ERR_DIRECT_INVOKE", message: expect.stringContaining("id: shipping") });
  });

  it("answers 500 ERR_DIRECT_INVOKE for an app that does not answer", async () => {
    const response = await caller.api("/v1.0/invoke/gone/method/echo/x");
    expect(response.status).toBe(500);
    expect(await response.json()).toMatchObject({ errorCode: "ERR_DIRECT_INVOKE", message: expect.stringContaining("id: gone") });
  });
});

describe("an HTTP function that returns fetch()'s Response as is", () => {
  it("is served, status and body intact", async () => {
    (globalThis as { proxyTarget?: string }).proxyTarget = `${callee.host.url}/echo/through-proxy`;
    const response = await fetch(`${caller.host.url}/proxy`);
    expect(response.status).toBe(207);
    expect(await response.json()).toMatchObject({ app: "billing", path: "/echo/through-proxy" });
  });
});
