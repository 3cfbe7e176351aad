/**
 * The Lambda adapter's HTTP side: each event shape AWS sends for HTTP (API Gateway REST and HTTP
 * API, Function URLs, ALB) reaches the app's http functions with its method, path, query,
 * headers, cookies and body intact, and gets the status, headers, cookies and body back in the
 * form that service expects.
 */
import { describe, expect, it } from "vitest";
import { http } from "../../src/index.ts";
import { lambdaApp, lambdaContext, loadEvent } from "./support.ts";

const png = new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0xff, 0xfe]);

/** Echoes what the function saw; answers with two cookies. */
const echo = async (req: Request, ctx: { params: Readonly<Record<string, string>> }) => {
  const url = new URL(req.url);
  const headers = new Headers({ "content-type": "application/json" });
  headers.append("set-cookie", "session=new; Path=/; HttpOnly");
  headers.append("set-cookie", "theme=light; Path=/");
  const body = req.method === "GET" ? [] : [...new Uint8Array(await req.arrayBuffer())];
  const seen = {
    method: req.method,
    id: ctx.params.id,
    host: url.host,
    path: url.pathname,
    tags: url.searchParams.getAll("tag"),
    q: url.searchParams.get("q"),
    cookie: req.headers.get("cookie"),
    contentType: req.headers.get("content-type"),
    xTag: req.headers.get("x-tag"),
    body,
  };
  return new Response(JSON.stringify(seen), { status: req.method === "POST" ? 201 : 200, headers });
};

const shop = {
  name: "shop",
  exports: {
    place: http("POST /orders/:id", echo),
    show: http("GET /orders/:id", echo),
    logo: http("GET /images/logo.png", async () => new Response(png, { headers: { "content-type": "image/png" } })),
    later: http("POST /later", async (_req, ctx) => {
      ctx.waitUntil(
        (async () => {
          await new Promise((resolve) => setTimeout(resolve, 50));
          await ctx.state("kv").set("later", "done");
        })(),
      );
      return new Response(null, { status: 202 });
    }),
  },
};

type Seen = { method: string; id: string; host: string; path: string; tags: string[]; q: string | null; cookie: string | null; contentType: string | null; xTag: string | null; body: number[] };
type Result = { statusCode: number; body: string; isBase64Encoded: boolean; headers?: Record<string, string>; multiValueHeaders?: Record<string, string[]>; cookies?: string[] };

const invoke = async (event: unknown) => (await lambdaApp([shop]).handler(event, lambdaContext())) as Result;
const seen = (result: Result) => JSON.parse(result.body) as Seen;

describe("Lambda adapter: API Gateway REST (payload v1)", () => {
  it("routes a request with a base64 body, multi-value query and cookies, and answers with multi-value Set-Cookie", async () => {
    const result = await invoke(loadEvent("apigw-rest"));
    expect(result.statusCode).toBe(201);
    expect(result.isBase64Encoded).toBe(false);
    expect(seen(result)).toEqual({
      method: "POST",
      id: "42",
      host: "70ixmpl4fl.execute-api.us-east-2.amazonaws.com",
      path: "/orders/42",
      tags: ["green", "blue"],
      q: "red hat",
      cookie: "session=abc123; theme=dark",
      contentType: "application/octet-stream",
      xTag: null,
      body: [0x00, 0x01, 0xfe, 0xff, 0x7b],
    });
    expect(result.multiValueHeaders?.["set-cookie"]).toEqual(["session=new; Path=/; HttpOnly", "theme=light; Path=/"]);
    expect(result.multiValueHeaders?.["content-type"]).toEqual(["application/json"]);
  });

  it("routes a custom-domain request on the API's path, without the base-path mapping", async () => {
    const event = loadEvent("apigw-rest-custom-domain");
    expect(event.path).toBe("/shop/orders/42");
    const result = await invoke(event);
    expect(result.statusCode).toBe(200);
    expect(seen(result)).toMatchObject({ method: "GET", id: "42", host: "api.example.com", path: "/orders/42" });
  });

  it("strips a multi-level base path too", async () => {
    const event = loadEvent("apigw-rest-custom-domain");
    event.path = "/shop/v2/orders/42";
    event.requestContext.path = "/shop/v2/orders/42";
    expect(seen(await invoke(event))).toMatchObject({ id: "42", path: "/orders/42" });
  });

  it("keeps the path AWS gave when the resource cannot explain it", async () => {
    const event = loadEvent("apigw-rest-custom-domain");
    event.resource = "/orders/{id}";
    event.pathParameters = { id: "42" };
    event.path = "/shop/invoices/42"; // the literal segment does not line up with the resource
    const result = await invoke(event);
    expect(result.statusCode).toBe(404);
    expect(JSON.parse(result.body)).toMatchObject({ errorCode: "ERR_NOT_FOUND", message: "no function serves GET /shop/invoices/42" });
  });

  it("answers a path no function serves with a JSON 404", async () => {
    const event = loadEvent("apigw-rest");
    event.path = "/nothing/here";
    event.resource = "/{proxy+}";
    event.pathParameters = { proxy: "nothing/here" };
    const result = await invoke(event);
    expect(result.statusCode).toBe(404);
    expect(JSON.parse(result.body).errorCode).toBe("ERR_NOT_FOUND");
  });
});

describe("Lambda adapter: API Gateway HTTP API (payload v2)", () => {
  it("routes a request with its cookies array and raw query string, and answers with a cookies array", async () => {
    const result = await invoke(loadEvent("apigw-http"));
    expect(result.statusCode).toBe(201);
    expect(seen(result)).toEqual({
      method: "POST",
      id: "42",
      host: "r3pmxmplak.execute-api.us-east-2.amazonaws.com",
      path: "/orders/42",
      tags: ["green", "blue"],
      q: "red hat",
      cookie: "session=abc123; theme=dark",
      contentType: "application/json",
      xTag: null,
      body: [...new TextEncoder().encode('{"item":"hat","qty":2}')],
    });
    expect(result.cookies).toEqual(["session=new; Path=/; HttpOnly", "theme=light; Path=/"]);
    expect(result.headers?.["content-type"]).toBe("application/json");
    expect(result.headers?.["set-cookie"]).toBeUndefined();
  });

  it("routes a named stage's request on the API's path (the stage leads rawPath on the execute-api domain)", async () => {
    const event = loadEvent("apigw-http");
    event.rawPath = "/dev/orders/42";
    event.requestContext.stage = "dev";
    event.requestContext.http.path = "/dev/orders/42";
    expect(seen(await invoke(event))).toMatchObject({ id: "42", path: "/orders/42" });
  });

  it("strips a named stage for the $default route too", async () => {
    const event = loadEvent("apigw-http");
    event.routeKey = event.requestContext.routeKey = "$default";
    delete event.pathParameters;
    event.rawPath = event.requestContext.http.path = "/dev/orders/42";
    event.requestContext.stage = "dev";
    expect(seen(await invoke(event))).toMatchObject({ id: "42", path: "/orders/42" });
  });
});

describe("Lambda adapter: Function URL", () => {
  it("answers a binary body base64-encoded", async () => {
    const result = await invoke(loadEvent("function-url"));
    expect(result.statusCode).toBe(200);
    expect(result.isBase64Encoded).toBe(true);
    expect(result.headers?.["content-type"]).toBe("image/png");
    expect([...Buffer.from(result.body, "base64")]).toEqual([...png]);
  });

  it("finishes the work a function hands to waitUntil before answering", async () => {
    const app = lambdaApp([shop]);
    const event = loadEvent("function-url");
    event.rawPath = event.requestContext.http.path = "/later";
    event.requestContext.http.method = "POST";
    const result = (await app.handler(event, lambdaContext())) as Result;
    expect(result.statusCode).toBe(202);
    // Lambda freezes the process after the answer: the work must already be done.
    expect((await (await app.handler.app().runtime.state("kv")).get("later"))?.value).toBe("done");
  });
});

describe("Lambda adapter: Application Load Balancer", () => {
  it("routes a single-value request and answers with single-value headers", async () => {
    const result = await invoke(loadEvent("alb"));
    expect(result.statusCode).toBe(200);
    expect(seen(result)).toMatchObject({
      method: "GET",
      id: "42",
      host: "lambda-alb-123578498.us-east-2.elb.amazonaws.com",
      path: "/orders/42",
      q: "red hat", // ALB passes query strings still URL-encoded
      cookie: "session=abc123; theme=dark",
    });
    expect(result.headers?.["content-type"]).toBe("application/json");
    expect(result.multiValueHeaders).toBeUndefined();
    // Without multi-value headers an ALB answer has room for one Set-Cookie.
    expect(result.headers?.["set-cookie"]).toBe("session=new; Path=/; HttpOnly");
  });

  it("routes a multi-value request, joining repeated headers with commas and cookies with semicolons", async () => {
    const result = await invoke(loadEvent("alb-multi-value"));
    expect(result.statusCode).toBe(200);
    expect(seen(result)).toMatchObject({ tags: ["green", "blue"], q: "red hat", cookie: "session=abc123; theme=dark", xTag: "one, two" });
    expect(result.multiValueHeaders?.["set-cookie"]).toEqual(["session=new; Path=/; HttpOnly", "theme=light; Path=/"]);
    expect(result.headers).toBeUndefined();
  });
});
