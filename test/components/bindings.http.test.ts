import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { OutputBindingComponent } from "../../src/blocks/bindings.ts";
import * as http from "../../src/components/bindings/http.ts";
import { ComponentMetadata } from "../../src/config/metadata.ts";
import { ComponentConfigError, ErrorCodes, MechaError } from "../../src/errors.ts";
import { rejectionOf } from "../support/rejection.ts";

/** What the test server saw of one request; it answers with this as JSON. */
interface Echo {
  method: string;
  url: string;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

let server: Server;
let baseUrl: string;
/** Responses the /hang route holds open until the suite ends. */
const hanging: ServerResponse[] = [];

async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  const url = req.url ?? "/";
  if (url.startsWith("/api/hang")) {
    hanging.push(res);
    return;
  }
  const status = /^\/api\/status\/(\d+)/.exec(url);
  if (status) {
    res.writeHead(Number(status[1]), { "content-type": "text/plain" }).end(`nope: ${"x".repeat(1000)}`);
    return;
  }
  if (url.startsWith("/api/bytes")) {
    res.writeHead(200, { "content-type": "application/octet-stream" }).end(Buffer.from([0, 1, 2, 255]));
    return;
  }
  const echo: Echo = { method: req.method ?? "", url, headers: req.headers, body: Buffer.concat(chunks).toString("utf8") };
  res.writeHead(200, { "content-type": "application/json", "x-echo": "yes" }).end(req.method === "HEAD" ? undefined : JSON.stringify(echo));
}

beforeAll(async () => {
  server = createServer((req, res) => void handle(req, res));
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/api`;
});

afterAll(async () => {
  for (const res of hanging) res.destroy();
  await new Promise((resolve) => server.close(resolve));
});

const binding = (values: Record<string, string> = {}): OutputBindingComponent =>
  http.create({ name: "api", appId: "test-app", baseDir: process.cwd(), metadata: new ComponentMetadata({ url: baseUrl, ...values }, "api") });

const echoOf = (data: unknown): Echo => JSON.parse(new TextDecoder().decode(data as Uint8Array)) as Echo;

describe("bindings.http", () => {
  it("lists Dapr's operations", () => {
    // Not "trace": fetch refuses to send TRACE requests.
    expect(binding().operations).toEqual(["create", "get", "head", "post", "put", "patch", "delete", "options"]);
  });

  it.each([
    ["get", "GET"],
    ["post", "POST"],
    ["create", "POST"],
    ["put", "PUT"],
    ["patch", "PATCH"],
    ["delete", "DELETE"],
    ["options", "OPTIONS"],
  ])("%s sends a %s request", async (operation, method) => {
    const { data, metadata } = await binding().invoke({ operation });
    expect(echoOf(data).method).toBe(method);
    expect(metadata["statusCode"]).toBe("200");
  });

  it("head sends a HEAD request and returns no body", async () => {
    const { data, metadata } = await binding().invoke({ operation: "head" });
    expect(data).toEqual(new Uint8Array());
    expect(metadata["X-Echo"]).toBe("yes");
  });

  it("returns the body as bytes and the status and headers as metadata", async () => {
    const { data, metadata } = await binding().invoke({ operation: "get", metadata: { path: "/bytes" } });
    expect(data).toBeInstanceOf(Uint8Array);
    expect([...(data as Uint8Array)]).toEqual([0, 1, 2, 255]);
    expect(metadata).toMatchObject({ statusCode: "200", status: "200 OK", "Content-Type": "application/octet-stream" });
  });

  it("appends metadata.path to the url with exactly one slash, keeping its query", async () => {
    const { data } = await binding().invoke({ operation: "get", metadata: { path: "things/1234?lastName=Jones" } });
    expect(echoOf(data).url).toBe("/api/things/1234?lastName=Jones");
    const { data: again } = await binding({ url: `${baseUrl}/` }).invoke({ operation: "get", metadata: { path: "/things" } });
    expect(echoOf(again).url).toBe("/api/things");
  });

  it("sends capitalised metadata and trace context as headers, and nothing else", async () => {
    const traceparent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";
    const { data } = await binding().invoke({
      operation: "get",
      metadata: { Authorization: "Bearer t", "X-Request-Id": "r1", traceparent, path: "/x", lowercase: "no" },
    });
    const { headers } = echoOf(data);
    expect(headers).toMatchObject({ authorization: "Bearer t", "x-request-id": "r1", traceparent });
    expect(headers["lowercase"]).toBeUndefined();
    expect(headers["path"]).toBeUndefined();
  });

  it("sends objects as JSON", async () => {
    const { data } = await binding().invoke({ operation: "post", data: { id: 1, items: ["a"] } });
    const echo = echoOf(data);
    expect(JSON.parse(echo.body)).toEqual({ id: 1, items: ["a"] });
    expect(echo.headers["content-type"]).toBe("application/json; charset=utf-8");
  });

  it("sends strings and bytes as they are", async () => {
    const text = echoOf((await binding().invoke({ operation: "put", data: "plain text" })).data);
    expect(text.body).toBe("plain text");
    expect(text.headers["content-type"]).toBe("text/plain; charset=utf-8");
    const bytes = echoOf((await binding().invoke({ operation: "patch", data: new TextEncoder().encode("raw") })).data);
    expect(bytes.body).toBe("raw");
    expect(bytes.headers["content-type"]).toBe("application/octet-stream");
  });

  it("lets metadata override the content type", async () => {
    const { data } = await binding().invoke({ operation: "post", data: '{"a":1}', metadata: { "Content-Type": "application/json" } });
    expect(echoOf(data).headers["content-type"]).toBe("application/json");
  });

  it("sends securityToken in securityTokenHeader", async () => {
    const { data } = await binding({ securityToken: "tok", securityTokenHeader: "X-Token" }).invoke({ operation: "get" });
    expect(echoOf(data).headers["x-token"]).toBe("tok");
  });

  it("sends url credentials as basic auth, and never shows them in errors", async () => {
    const withCredentials = baseUrl.replace("http://", "http://user:p%40ss@");
    const { data } = await binding({ url: withCredentials }).invoke({ operation: "get" });
    expect(echoOf(data).headers["authorization"]).toBe(`Basic ${Buffer.from("user:p@ss").toString("base64")}`);
    const error = await rejectionOf<Error>(
      binding({ url: withCredentials }).invoke({ operation: "get", metadata: { path: "/status/500" } }),
    );
    expect(error.message).not.toContain("p%40ss");
    expect(error.message).not.toContain("user:");
  });

  it("fails on a status >= 400 with the binding, the status and a truncated body", async () => {
    const error = await rejectionOf<MechaError>(
      binding().invoke({ operation: "get", metadata: { path: "/status/404?token=secret" } }),
    );
    expect(error).toBeInstanceOf(MechaError);
    expect(error.code).toBe(ErrorCodes.bindingInvoke);
    expect(error.component).toBe("api");
    expect(error.message).toContain('binding "api"');
    expect(error.message).toContain("404");
    expect(error.message).toContain("nope: xxx");
    expect(error.message.length).toBeLessThan(500);
    expect(error.message).not.toContain("secret");
  });

  it("returns a non-2xx response when errorIfNot2XX is false", async () => {
    const { metadata } = await binding({ errorIfNot2XX: "false" }).invoke({ operation: "get", metadata: { path: "/status/503" } });
    expect(metadata["statusCode"]).toBe("503");
    const perRequest = await binding().invoke({ operation: "get", metadata: { path: "/status/409", errorIfNot2XX: "false" } });
    expect(perRequest.metadata["statusCode"]).toBe("409");
  });

  it("times out after responseTimeout", async () => {
    const error = await rejectionOf<MechaError>(
      binding({ responseTimeout: "200ms" }).invoke({ operation: "get", metadata: { path: "/hang" } }),
    );
    expect(error).toBeInstanceOf(MechaError);
    expect(error.code).toBe(ErrorCodes.bindingInvoke);
    expect(error.message).toContain("timed out after 200 ms");
  });

  it("reports a refused connection as an invoke error", async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, "127.0.0.1", resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve));
    const error = await rejectionOf<MechaError>(
      binding({ url: `http://127.0.0.1:${port}/` }).invoke({ operation: "get" }),
    );
    expect(error.code).toBe(ErrorCodes.bindingInvoke);
    expect(error.message).toContain("ECONNREFUSED");
  });

  it("requires an http(s) url when created", () => {
    expect(() => binding({ url: "" })).toThrow(ComponentConfigError);
    expect(() => binding({ url: "not a url" })).toThrow(/field "url"/);
    expect(() => binding({ url: "ftp://example.com" })).toThrow(/http/);
  });

  it("rejects an unknown operation", async () => {
    await expect(binding().invoke({ operation: "connect" })).rejects.toMatchObject({ code: ErrorCodes.bindingOperation });
  });
});
