import { describe, expect, it } from "vitest";
import { binding, cron, http, isFunctionDefinition, subscribe } from "../../src/functions.ts";
import { createRegistry } from "../../src/core/registry.ts";
import { FunctionDefinitionError } from "../../src/errors.ts";

const ok = () => new Response("ok");

describe("function definitions", () => {
  it("parses an http route into method and path", () => {
    const fn = http("GET /orders/:id", ok);
    expect(fn).toMatchObject({ kind: "http", method: "GET", path: "/orders/:id" });
    expect(isFunctionDefinition(fn)).toBe(true);
  });

  it.each(["/orders", "get /orders", "FETCH /orders", "POST orders", ""])("rejects the route %j", (route) => {
    expect(() => http(route, ok)).toThrow(FunctionDefinitionError);
  });

  it("rejects a subscription without a topic or with a negative maxRetries", () => {
    expect(() => subscribe({ pubsub: "bus", topic: "" }, () => {})).toThrow(/"topic" must be a non-empty string/);
    expect(() => subscribe({ pubsub: "bus", topic: "t", maxRetries: -1 }, () => {})).toThrow(/maxRetries/);
  });

  it("rejects a definition whose handler is not a function", () => {
    expect(() => cron("* * * * *", "nope" as never)).toThrow(/handler must be a function/);
    expect(() => binding("in", undefined as never)).toThrow(/handler must be a function/);
  });

  it("does not treat plain objects as definitions", () => {
    expect(isFunctionDefinition({ kind: "http", method: "GET", path: "/" })).toBe(false);
  });
});

describe("registry", () => {
  it("registers each kind under <module>.<export> and ignores other exports", () => {
    const registry = createRegistry([
      {
        name: "orders",
        exports: {
          place: http("POST /orders", ok),
          onPlaced: subscribe({ pubsub: "bus", topic: "placed" }, () => {}),
          sweep: cron("* * * * *", () => {}),
          onFile: binding("files", () => {}),
          helper: () => 1,
          constant: 42,
        },
      },
    ]);
    expect(registry.http.map((f) => f.id)).toEqual(["orders.place"]);
    expect(registry.subscriptions.map((f) => f.id)).toEqual(["orders.onPlaced"]);
    expect(registry.crons.map((f) => f.id)).toEqual(["orders.sweep"]);
    expect(registry.bindings.map((f) => f.id)).toEqual(["orders.onFile"]);
  });

  it("finds subscriptions by pub/sub and topic", () => {
    const a = subscribe({ pubsub: "bus", topic: "t1" }, () => {});
    const b = subscribe({ pubsub: "bus", topic: "t1" }, () => {});
    const c = subscribe({ pubsub: "other", topic: "t1" }, () => {});
    const registry = createRegistry([{ name: "m", exports: { a, b, c } }]);
    expect(registry.subscriptionsFor("bus", "t1").map((s) => s.id)).toEqual(["m.a", "m.b"]);
    expect(registry.subscriptionsFor("bus", "t2")).toEqual([]);
  });

  it("refuses two functions on the same route, naming both", () => {
    expect(() =>
      createRegistry([
        { name: "a", exports: { one: http("GET /x", ok) } },
        { name: "b", exports: { two: http("GET /x", ok) } },
      ]),
    ).toThrow(/b\.two: route "GET \/x" is already served by a\.one/);
  });
});

describe("app assembly", () => {
  it("refuses two subscriptions under one durable name", async () => {
    const { createApp } = await import("../../src/core/app.ts");
    const { componentCatalog } = await import("../../src/components/catalog.ts");
    const make = () =>
      createApp({
        appId: "a",
        baseDir: ".",
        catalog: componentCatalog,
        resources: { components: [{ name: "bus", type: "pubsub.in-memory", version: "v1", metadata: [], scopes: [] }], subscriptions: [] },
        modules: [
          { name: "m", exports: { one: subscribe({ pubsub: "bus", topic: "t", name: "same" }, () => {}) } },
          { name: "n", exports: { two: subscribe({ pubsub: "bus", topic: "u", name: "same" }, () => {}) } },
        ],
      });
    expect(make).toThrow(/subscription name "same" is already used|used more than once: "same"/);
  });
});
