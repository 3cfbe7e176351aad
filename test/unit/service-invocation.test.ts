/**
 * Service invocation (`ctx.invoke`): calls to the app's own id run its HTTP functions in-process;
 * other ids go through the name-resolution components; the callee's answer comes back as it
 * answered, and the callee continues the caller's trace.
 */
import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { gzipSync } from "node:zlib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { componentCatalog } from "../../src/components/catalog.ts";
import type { ComponentSpec } from "../../src/config/types.ts";
import { createApp, type AppOptions } from "../../src/core/app.ts";
import { invokeService } from "../../src/core/service-invocation.ts";
import { continueTrace } from "../../src/core/trace.ts";
import { ComponentConfigError, ErrorCodes, InvalidRequestError, MechaError, NotFoundError } from "../../src/errors.ts";
import { http } from "../../src/functions.ts";
import { waitFor } from "../support/wait.ts";
import { rejectionOf } from "../support/rejection.ts";

const appId = "orders";

/** Answers with what it was called with, and what its own context says about the trace. */
const echo = http("ALL /echo/:id", async (req, ctx) => {
  const url = new URL(req.url);
  return Response.json(
    {
      method: req.method,
      path: url.pathname,
      query: [...url.searchParams],
      id: ctx.params["id"],
      body: req.method === "GET" || req.method === "HEAD" ? null : await req.text(),
      contentType: req.headers.get("content-type"),
      custom: req.headers.get("x-custom"),
      caller: req.headers.get("dapr-caller-app-id"),
      callee: req.headers.get("dapr-callee-app-id"),
      apiToken: req.headers.get("dapr-api-token"),
      traceparent: req.headers.get("traceparent"),
      tracestate: req.headers.get("tracestate"),
      trace: { traceId: ctx.trace.traceId, spanId: ctx.trace.spanId },
    },
    { status: 201, headers: { "x-answer": "from-echo" } },
  );
});
const background = http("POST /background", async (_req, ctx) => {
  ctx.waitUntil(Promise.resolve("callee work"));
  return new Response(null, { status: 202 });
});
const fails = http("GET /fails", async () => {
  throw new Error("boom");
});

type Echo = {
  method: string;
  path: string;
  query: string[][];
  id: string;
  body: string | null;
  contentType: string | null;
  custom: string | null;
  caller: string | null;
  callee: string | null;
  apiToken: string | null;
  traceparent: string | null;
  tracestate: string | null;
  trace: { traceId: string; spanId: string };
};

const component = (name: string, type: string, metadata: Record<string, string>): ComponentSpec => ({
  name,
  type,
  version: "v1",
  metadata: Object.entries(metadata).map(([key, value]) => ({ name: key, value })),
  scopes: [],
  file: `components/${name}.yaml`,
});

function makeApp(components: ComponentSpec[] = [], options: Partial<AppOptions> = {}) {
  return createApp({
    appId,
    baseDir: ".",
    catalog: componentCatalog,
    resources: { components, subscriptions: [] },
    modules: [{ name: "fns", exports: { echo, background, fails } }],
    ...options,
  });
}

const traceId = "4bf92f3577b34da6a3ce929d0e0e4736";
const callerSpan = "00f067aa0ba902b7";

/** What a call threw; fails the test when it did not throw. */
async function mechaRejectionOf(call: Promise<unknown>): Promise<MechaError> {
  const error = await rejectionOf(call);
  expect(error).toBeInstanceOf(MechaError);
  return error as MechaError;
}

describe("ctx.invoke on the app's own id", () => {
  const app = makeApp();

  it("runs the HTTP function in-process with the method, path, query, body and headers", async () => {
    const response = await app.runtime
      .createContext()
      .invoke(appId, "PUT /echo/42?status=open", { total: 3 }, { headers: { "x-custom": "yes" }, query: { page: "2" } });
    const seen = (await response.json()) as Echo;
    expect(seen).toMatchObject({
      method: "PUT",
      path: "/echo/42",
      query: [["status", "open"], ["page", "2"]],
      id: "42",
      body: '{"total":3}',
      contentType: "application/json",
      custom: "yes",
    });
  });

  it("returns the callee's status, headers and body as it answered", async () => {
    const response = await app.runtime.createContext().invoke(appId, "GET /echo/1");
    expect(response.status).toBe(201);
    expect(response.headers.get("x-answer")).toBe("from-echo");
    expect(((await response.json()) as Echo).method).toBe("GET");
  });

  it("returns a callee's error answer as a Response rather than throwing", async () => {
    const missing = await app.runtime.createContext().invoke(appId, "GET /no/such/route");
    expect(missing.status).toBe(404);
    expect(((await missing.json()) as { errorCode: string }).errorCode).toBe("ERR_NOT_FOUND");
    const failed = await app.runtime.createContext().invoke(appId, "GET /fails");
    expect(failed.status).toBe(500);
  });

  it("sends a string as text, bytes as octet-stream, and a header's content type over the implied one", async () => {
    const ctx = app.runtime.createContext();
    const text = (await (await ctx.invoke(appId, "POST /echo/t", "hello")).json()) as Echo;
    expect(text).toMatchObject({ body: "hello", contentType: expect.stringMatching(/^text\/plain/) });
    const bytes = (await (await ctx.invoke(appId, "POST /echo/b", new TextEncoder().encode("raw"))).json()) as Echo;
    expect(bytes).toMatchObject({ body: "raw", contentType: "application/octet-stream" });
    const typed = (await (await ctx.invoke(appId, "POST /echo/j", { a: 1 }, { headers: { "content-type": "application/vnd.x+json" } })).json()) as Echo;
    expect(typed).toMatchObject({ body: '{"a":1}', contentType: "application/vnd.x+json" });
  });

  it("continues the caller's trace in the callee with a new span, and passes tracestate on", async () => {
    const ctx = app.runtime.createContext({ traceparent: `00-${traceId}-${callerSpan}-01`, tracestate: "vendor=abc" });
    const seen = (await (await ctx.invoke(appId, "GET /echo/t")).json()) as Echo;
    const [, sentTrace, sentSpan, flags] = seen.traceparent!.split("-");
    expect(sentTrace).toBe(traceId);
    expect(flags).toBe("01");
    expect(sentSpan).not.toBe(callerSpan);
    expect(sentSpan).not.toBe(ctx.trace.spanId);
    expect(seen.tracestate).toBe("vendor=abc");
    expect(seen.trace.traceId).toBe(traceId);
  });

  it("tells the callee the caller's and its own app id, as Dapr does", async () => {
    const seen = (await (await app.runtime.createContext().invoke(appId, "GET /echo/ids")).json()) as Echo;
    expect(seen).toMatchObject({ caller: appId, callee: appId });
  });

  it("does not pass on a dapr-api-token header, which is for the caller's own runtime", async () => {
    const response = await app.runtime.createContext().invoke(appId, "GET /echo/token", undefined, { headers: { "dapr-api-token": "secret" } });
    expect(((await response.json()) as Echo).apiToken).toBeNull();
  });

  it("hands the callee's waitUntil work to the caller's waitUntil", async () => {
    const handed: unknown[] = [];
    const ctx = app.runtime.createContext({ waitUntil: (promise) => void promise.then((value) => handed.push(value)) });
    expect((await ctx.invoke(appId, "POST /background")).status).toBe(202);
    await waitFor(() => handed.length > 0, { what: "the callee's waitUntil work" });
    expect(handed).toEqual(["callee work"]);
  });

  it("takes a streamed body and its length from the Dapr API's request", async () => {
    const response = await invokeService(app.runtime, {
      appId,
      method: "POST",
      path: "echo/s",
      headers: { "content-length": "8", "content-type": "text/plain", host: "elsewhere", "dapr-app-id": appId },
      body: new Blob(["streamed"]).stream(),
      trace: continueTrace(),
    });
    expect(await response.json()).toMatchObject({ path: "/echo/s", body: "streamed", contentType: "text/plain" });
  });

  it("applies the callee's body limit to an in-process call", async () => {
    const limited = makeApp([], { bodyLimit: 8, httpFraming: true });
    const response = await limited.runtime.createContext().invoke(appId, "POST /echo/big", "x".repeat(64));
    expect(response.status).toBe(413);
  });
});

describe("ctx.invoke's route", () => {
  const app = makeApp();
  const ctx = app.runtime.createContext();

  it.each([
    ["an empty string", ""],
    ["a lower-case method", "post /echo/1"],
    ["an unknown method", "FETCH /echo/1"],
    ["the ALL wildcard", "ALL /echo/1"],
    ["a path without a leading slash", "GET echo/1"],
    ["no path", "GET"],
    ["a space inside the path", "GET /echo/a b"],
    ["a fragment", "GET /echo/1#top"],
    ["a value that is not a string", 42 as unknown as string],
  ])("refuses %s with ERR_MALFORMED_REQUEST", async (_what, route) => {
    const error = await mechaRejectionOf(ctx.invoke(appId, route));
    expect(error).toBeInstanceOf(InvalidRequestError);
    expect(error.code).toBe(ErrorCodes.invalidRequest);
  });

  it("refuses a body on a GET", async () => {
    const error = await mechaRejectionOf(ctx.invoke(appId, "GET /echo/1", { a: 1 }));
    expect(error).toBeInstanceOf(InvalidRequestError);
  });

  it("refuses a body that cannot be JSON", async () => {
    await expect(ctx.invoke(appId, "POST /echo/1", { n: 1n })).rejects.toBeInstanceOf(InvalidRequestError);
    await expect(ctx.invoke(appId, "POST /echo/1", () => 1)).rejects.toBeInstanceOf(InvalidRequestError);
  });

  it("refuses an empty app id", async () => {
    await expect(ctx.invoke("", "GET /echo/1")).rejects.toBeInstanceOf(InvalidRequestError);
  });
});

describe("ctx.invoke on another app id", () => {
  it("fails with ERR_DIRECT_INVOKE (not found) when no name-resolution component is configured", async () => {
    const error = await mechaRejectionOf(makeApp().runtime.createContext().invoke("billing", "GET /invoices"));
    expect(error).toBeInstanceOf(NotFoundError);
    expect(error.code).toBe(ErrorCodes.directInvoke);
    expect(error.message).toMatch(/id: billing.*no name-resolution component is configured.*nameresolution\.static/);
  });

  it("fails with ERR_DIRECT_INVOKE (not found) when no name-resolution component knows the app id", async () => {
    const app = makeApp([component("peers", "nameresolution.static", { shipping: "http://127.0.0.1:1" })]);
    const error = await mechaRejectionOf(app.runtime.createContext().invoke("billing", "GET /invoices"));
    expect(error).toBeInstanceOf(NotFoundError);
    expect(error.code).toBe(ErrorCodes.directInvoke);
    expect(error.message).toMatch(/id: billing.*no name-resolution component knows the app id \(asked "peers"\)/);
  });

  describe("through nameresolution.static", () => {
    let server: Server;
    let base: string;
    const received: Array<{ method: string; url: string; headers: IncomingMessage["headers"]; body: string }> = [];

    beforeAll(async () => {
      server = createServer((req, res) => {
        let body = "";
        req.setEncoding("utf8");
        req.on("data", (chunk: string) => (body += chunk));
        req.on("end", () => {
          received.push({ method: req.method!, url: req.url!, headers: req.headers, body });
          if (req.url === "/api/gzipped") {
            res.writeHead(200, { "content-type": "application/json", "content-encoding": "gzip" });
            res.end(gzipSync(JSON.stringify({ packed: true })));
            return;
          }
          if (req.url === "/api/slow") return; // never answers
          if (req.url === "/api/moved") {
            res.writeHead(302, { location: "/elsewhere" });
            res.end();
            return;
          }
          res.writeHead(418, { "content-type": "application/json", "x-callee": "billing" });
          res.end(JSON.stringify({ answered: true }));
        });
      });
      await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
      base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    });
    afterAll(async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    });

    const peers = (url: string) => makeApp([component("peers", "nameresolution.static", { billing: url })]);
    const lastRequest = () => received[received.length - 1]!;

    it("sends the call to the app's base URL, path prefix included, and returns its answer as is", async () => {
      const response = await peers(`${base}/api/`).runtime.createContext().invoke("billing", "POST /invoices/7?x=1", { n: 1 });
      expect(response.status).toBe(418);
      expect(response.headers.get("x-callee")).toBe("billing");
      expect(await response.json()).toEqual({ answered: true });
      expect(lastRequest()).toMatchObject({ method: "POST", url: "/api/invoices/7?x=1", body: '{"n":1}' });
      expect(lastRequest().headers).toMatchObject({ "content-type": "application/json", "dapr-caller-app-id": appId, "dapr-callee-app-id": "billing" });
      expect(lastRequest().headers["content-length"]).toBe("7");
      expect(lastRequest().headers["transfer-encoding"]).toBeUndefined();
    });

    it("continues the caller's trace with a new span", async () => {
      const ctx = peers(base).runtime.createContext({ traceparent: `00-${traceId}-${callerSpan}-01` });
      await ctx.invoke("billing", "GET /api/traced");
      const traceparent = String(lastRequest().headers["traceparent"]);
      expect(traceparent).toMatch(new RegExp(`^00-${traceId}-[0-9a-f]{16}-01$`));
      expect(traceparent).not.toContain(callerSpan);
    });

    it("sends the URL's credentials as basic auth", async () => {
      await peers(base.replace("http://", "http://svc:p%40ss@")).runtime.createContext().invoke("billing", "GET /api/auth");
      expect(lastRequest().headers.authorization).toBe(`Basic ${btoa("svc:p@ss")}`);
    });

    it("returns a decoded body without the content-encoding it no longer has", async () => {
      const response = await peers(base).runtime.createContext().invoke("billing", "GET /api/gzipped");
      expect(response.headers.get("content-encoding")).toBeNull();
      expect(await response.json()).toEqual({ packed: true });
    });

    it("returns a redirect rather than following it", async () => {
      const response = await peers(base).runtime.createContext().invoke("billing", "GET /api/moved");
      expect(response.status).toBe(302);
      expect(response.headers.get("location")).toBe("/elsewhere");
    });

    it("fails with ERR_DIRECT_INVOKE, without the URL's credentials, when the app does not answer", async () => {
      const closed = createServer();
      await new Promise<void>((resolve) => closed.listen(0, "127.0.0.1", resolve));
      const port = (closed.address() as AddressInfo).port;
      await new Promise<void>((resolve) => closed.close(() => resolve()));
      const app = peers(`http://svc:hunter2@127.0.0.1:${port}`);
      const error = await mechaRejectionOf(app.runtime.createContext().invoke("billing", "GET /x"));
      expect(error.code).toBe(ErrorCodes.directInvoke);
      expect(error.message).toContain(`http://127.0.0.1:${port}`);
      expect(error.message).toContain("ECONNREFUSED");
      expect(error.message).not.toContain("hunter2");
    });

    it("gives up when the caller's signal aborts, rejecting with the signal's reason as fetch does", async () => {
      const call = peers(base).runtime.createContext().invoke("billing", "GET /api/slow", undefined, { signal: AbortSignal.timeout(50) });
      await expect(call).rejects.toMatchObject({ name: "TimeoutError" });
    });

    it("streams a body given as a ReadableStream (as the Dapr API passes its request's own)", async () => {
      const stream = new Blob(["streamed"]).stream();
      const response = await invokeService(peers(base).runtime, { appId: "billing", method: "POST", path: "api/stream", query: "?a=1", body: stream, trace: continueTrace() });
      expect(response.status).toBe(418);
      expect(lastRequest()).toMatchObject({ url: "/api/stream?a=1", body: "streamed" });
    });

    it("asks the name-resolution components in order and uses the first that knows the app", async () => {
      const app = makeApp([
        component("first", "nameresolution.static", { shipping: "http://127.0.0.1:1" }),
        component("second", "nameresolution.static", { billing: `${base}/api` }),
      ]);
      const response = await app.runtime.createContext().invoke("billing", "GET /second");
      expect(response.status).toBe(418);
      expect(lastRequest().url).toBe("/api/second");
    });
  });
});

describe("nameresolution.static metadata", () => {
  const validate = (metadata: Record<string, string>) => makeApp([component("peers", "nameresolution.static", metadata)]).runtime.validate();
  const configError = async (metadata: Record<string, string>) => {
    const error = await rejectionOf(validate(metadata));
    expect(error).toBeInstanceOf(ComponentConfigError);
    return error as ComponentConfigError;
  };

  it("refuses a value that is not a URL, naming the app id and not echoing the value", async () => {
    const error = await configError({ billing: "svc:hunter2@nowhere" });
    expect(error.field).toBe("billing");
    expect(error.message).toContain('component "peers"');
    expect(error.message).not.toContain("hunter2");
  });

  it("refuses a URL that is not http or https", async () => {
    expect((await configError({ billing: "ftp://host/" })).message).toMatch(/http:\/\/ or https:\/\//);
  });

  it("refuses a base URL with a query", async () => {
    expect((await configError({ billing: "http://host/?a=1" })).message).toMatch(/without a query/);
  });

  it("refuses an empty table", async () => {
    expect((await configError({})).message).toMatch(/lists no apps/);
  });
});

describe("nameresolution.cloudflare.servicebindings outside Workers", () => {
  it("fails the call with an error naming the missing binding and the wrangler.toml entry", async () => {
    const app = makeApp([component("peers", "nameresolution.cloudflare.servicebindings", { billing: "BILLING" })], { bindings: {} });
    const error = await mechaRejectionOf(app.runtime.createContext().invoke("billing", "GET /x"));
    expect(error).toBeInstanceOf(ComponentConfigError);
    expect(error.message).toMatch(/service binding "BILLING" is missing.*\[\[services\]\] binding = "BILLING"/);
  });

  it("refuses a binding that has no fetch", async () => {
    const app = makeApp([component("peers", "nameresolution.cloudflare.servicebindings", { billing: "BILLING" })], { bindings: { BILLING: {} } });
    const error = await mechaRejectionOf(app.runtime.createContext().invoke("billing", "GET /x"));
    expect(error.message).toMatch(/"BILLING" is not a service;/);
  });
});
