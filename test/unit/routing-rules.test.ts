/**
 * Routing rules as Dapr writes them: `spec.routes.rules` in v2alpha1 Subscription YAML, and
 * `routes` in code — a CEL expression over `event` or a function; first match wins, then the
 * default; a rule that fails to evaluate is no match; a rule that does not compile is an error
 * that names where it was written; the CEL engine is loaded only by apps that have CEL rules.
 */
import { afterEach, describe, expect, it } from "vitest";
import type { InboundMessage, PubSubComponent, PublishRequest } from "../../src/blocks/pubsub.ts";
import { componentCatalog } from "../../src/components/catalog.ts";
import { parseResourcesText } from "../../src/config/load.ts";
import type { SubscriptionSpec } from "../../src/config/types.ts";
import { createApp } from "../../src/core/app.ts";
import { provideCelEngine } from "../../src/core/cel.ts";
import type { TopicEvent } from "../../src/core/cloudevent.ts";
import { createDeliverer, type DeliveryPlan, type Settlement } from "../../src/core/delivery.ts";
import { createConsoleLogger, silentLogger, type Logger } from "../../src/core/logger.ts";
import { Runtime } from "../../src/core/runtime.ts";
import {
  compileRoutingRules,
  routerFor,
  usesCelRules,
  type Route,
  type Router,
  type RoutingTable,
} from "../../src/core/routing-rules.ts";
import { ComponentConfigError, ErrorCodes, FunctionDefinitionError, MechaError } from "../../src/errors.ts";
import { subscribe } from "../../src/functions.ts";
import { freshName, waitFor } from "../support/wait.ts";
import { rejectionOf } from "../support/rejection.ts";

const file = "components/local/subscriptions.yaml";

/** A v2alpha1 Subscription document with the given `spec.routes` lines. */
const subscriptionYaml = (routes: string, extra = ""): string =>
  `apiVersion: dapr.io/v2alpha1\nkind: Subscription\nmetadata:\n  name: inventory\nspec:\n  pubsubname: bus\n  topic: inventory\n  routes:\n${routes}\n${extra}`;

const parseSubscription = (text: string): SubscriptionSpec => parseResourcesText(text, file).subscriptions[0]!;

/** A logger that keeps its lines, to assert that a rule's failure is logged. */
function recordingLogger(): Logger & { lines: Array<{ level: string; msg: string; rule?: string }> } {
  const lines: Array<{ level: string; msg: string; rule?: string }> = [];
  const logger = createConsoleLogger({ level: "debug", format: "json", write: (_level, line) => void lines.push(JSON.parse(line)) });
  return Object.assign(logger, { lines });
}

/** A CloudEvent as Dapr delivers it. */
function cloudEvent(fields: Partial<TopicEvent> = {}): TopicEvent {
  return {
    id: "e1",
    source: "checkout",
    type: "widget",
    specversion: "1.0",
    datacontenttype: "application/json",
    topic: "inventory",
    pubsubname: "bus",
    data: {},
    ...fields,
  };
}

/** A table whose handlers are the names of where an event would go. */
const table = (routes: Array<Route<string>>, handler?: string, name = freshName("sub")): RoutingTable<string> => ({ name, routes, handler });

/** A CEL rule as a Subscription document in `file` gives it. */
const cel = (match: string, handler: string, field = "routes[0].match"): Route<string> => ({
  match,
  handler,
  origin: { subscription: "inventory", field, file },
});

/** The table's router once its CEL has compiled. */
async function compiled(routing: RoutingTable<string>): Promise<Router<string>> {
  return routerFor(routing);
}

afterEach(() => provideCelEngine(() => import("@marcbachmann/cel-js")));

describe("Subscription YAML: spec.routes", () => {
  it("reads v2alpha1 rules in order, with their paths made absolute, and the default route", () => {
    const spec = parseSubscription(
      subscriptionYaml(`    rules:\n      - match: event.type == "widget"\n        path: widgets\n      - match: event.type == 'gadget'\n        path: /gadgets\n    default: /products`),
    );
    expect(spec.rules).toEqual([
      { match: 'event.type == "widget"', path: "/widgets" },
      { match: "event.type == 'gadget'", path: "/gadgets" },
    ]);
    expect(spec.route).toBe("/products");
  });

  it("accepts rules without a default route, as Dapr does", () => {
    const spec = parseSubscription(subscriptionYaml(`    rules:\n      - match: event.type == "widget"\n        path: /widgets`));
    expect(spec.rules).toEqual([{ match: 'event.type == "widget"', path: "/widgets" }]);
    expect(spec.route).toBeUndefined();
  });

  it("reads a rule without match (or with an empty one) as a rule that matches every event", () => {
    const spec = parseSubscription(subscriptionYaml(`    rules:\n      - path: /all\n      - match: ""\n        path: /also`));
    expect(spec.rules).toEqual([{ path: "/all" }, { path: "/also" }]);
  });

  it("refuses rules that are not a list, naming the file, the subscription and the field", () => {
    let error: unknown;
    try {
      parseSubscription(subscriptionYaml(`    rules: { match: "true", path: /x }\n    default: /r`));
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(ComponentConfigError);
    expect((error as ComponentConfigError).field).toBe("spec.routes.rules");
    expect((error as ComponentConfigError).message).toContain(file);
    expect((error as ComponentConfigError).message).toContain('subscription "inventory"');
  });
});

describe("routing with CEL over the CloudEvent", () => {
  it("sends an event to the first rule that matches, even when a later one matches too", async () => {
    const router = await compiled(table([cel('event.type == "widget"', "widgets"), cel("event.source == 'checkout'", "checkout")], "products"));
    expect(router.select(cloudEvent(), recordingLogger())).toBe("widgets");
  });

  it("sends an event no rule matches to the default route", async () => {
    const router = await compiled(table([cel('event.type == "gadget"', "gadgets")], "products"));
    expect(router.select(cloudEvent({ type: "widget" }), recordingLogger())).toBe("products");
  });

  it("finds no route for an event no rule matches when there is no default", async () => {
    const router = await compiled(table([cel('event.type == "gadget"', "gadgets")]));
    expect(router.select(cloudEvent({ type: "widget" }), recordingLogger())).toBeUndefined();
  });

  it("treats a rule that fails to evaluate (a missing key) as no match, logs it, and tries the next rule", async () => {
    const router = await compiled(
      table([cel("event.data.amount > 10000.0", "big", "spec.routes.rules[0].match"), cel("event.type == 'widget'", "widgets")], "products"),
    );
    const log = recordingLogger();
    expect(router.select(cloudEvent({ data: { note: "no amount" } }), log)).toBe("widgets");
    expect(log.lines).toContainEqual(expect.objectContaining({ level: "warn", rule: "spec.routes.rules[0].match" }));
  });

  it("treats a rule that gives something other than a boolean as no match", async () => {
    const router = await compiled(table([cel("event.type", "typed")], "products"));
    const log = recordingLogger();
    expect(router.select(cloudEvent(), log)).toBe("products");
    expect(log.lines.some((line) => line.level === "warn" && line.msg.includes("not a boolean"))).toBe(true);
  });

  it("sees the CloudEvent's attributes under Dapr's names, extensions included", async () => {
    const event = cloudEvent({ subject: "orders/7", time: "2026-11-21T10:00:00Z", traceparent: "00-abc", tenant: "acme" });
    const expressions = [
      'event.id == "e1"',
      'event.source == "checkout"',
      'event.type == "widget"',
      'event.specversion == "1.0"',
      'event.datacontenttype == "application/json"',
      'event.subject.startsWith("orders/")',
      'event.time.startsWith("2026-")',
      'event.topic == "inventory"',
      'event.pubsubname == "bus"',
      'event.tenant == "acme"',
    ];
    for (const expression of expressions) {
      const router = await compiled(table([cel(expression, "hit")]));
      expect(router.select(event, recordingLogger()), expression).toBe("hit");
    }
  });

  it("sees JSON data parsed, with Dapr's examples working as documented", async () => {
    const router = await compiled(
      table(
        [
          cel("has(event.data.important) && event.data.important == true", "important"),
          cel('event.type == "deposit" && event.data.amount > 10000', "large-deposit"),
        ],
        "other",
      ),
    );
    const log = recordingLogger();
    expect(router.select(cloudEvent({ data: { important: true } }), log)).toBe("important");
    expect(router.select(cloudEvent({ type: "deposit", data: { amount: 25000 } }), log)).toBe("large-deposit");
    expect(router.select(cloudEvent({ type: "deposit", data: { amount: 20 } }), log)).toBe("other");
  });

  it("sees an attribute the event lacks as absent, so has() is false", async () => {
    const router = await compiled(table([cel("has(event.subject)", "with-subject")], "without"));
    expect(router.select(cloudEvent({ subject: undefined }), recordingLogger())).toBe("without");
  });

  it("sees binary data as bytes, and as data_base64 as it travels", async () => {
    const router = await compiled(table([cel('size(event.data) == 3 && event.data_base64 == "AQID"', "binary")]));
    expect(router.select(cloudEvent({ datacontenttype: "application/octet-stream", data: new Uint8Array([1, 2, 3]) }), recordingLogger())).toBe("binary");
  });

  it("lets a rule without match take every event that reaches it", async () => {
    const router = await compiled(table([cel('event.type == "gadget"', "gadgets"), { handler: "all" }, cel("true", "never")]));
    expect(router.select(cloudEvent({ type: "widget" }), recordingLogger())).toBe("all");
  });
});

describe("routing with functions in code", () => {
  it("mixes function rules and CEL rules in one table, in order", async () => {
    const router = await compiled(
      table([{ match: (event) => (event.data as { vip?: boolean }).vip === true, handler: "vip" }, cel('event.type == "widget"', "widgets")], "rest"),
    );
    const log = recordingLogger();
    expect(router.select(cloudEvent({ data: { vip: true } }), log)).toBe("vip");
    expect(router.select(cloudEvent({ data: {} }), log)).toBe("widgets");
    expect(router.select(cloudEvent({ type: "gadget" }), log)).toBe("rest");
  });

  it("treats a function rule that throws as no match, and logs it", () => {
    const router = routerFor(table([{ match: () => { throw new Error("boom"); }, handler: "never" }], "rest")) as Router<string>;
    const log = recordingLogger();
    expect(router.select(cloudEvent(), log)).toBe("rest");
    expect(log.lines).toContainEqual(expect.objectContaining({ level: "warn", rule: "routes[0].match" }));
  });
});

describe("CEL that does not compile", () => {
  it("is a ComponentConfigError naming the file, the subscription and spec.routes.rules[i].match", async () => {
    const error = await rejectionOf(
      compileRoutingRules([table([cel("true", "ok", "spec.routes.rules[0].match"), cel('event.type == "widget" &&', "bad", "spec.routes.rules[1].match")])]),
    );
    expect(error).toBeInstanceOf(ComponentConfigError);
    const configError = error as ComponentConfigError;
    expect(configError.code).toBe(ErrorCodes.componentConfig);
    expect(configError.file).toBe(file);
    expect(configError.field).toBe("spec.routes.rules[1].match");
    expect(configError.message).toContain('subscription "inventory"');
    expect(configError.message).toContain('event.type == "widget" &&');
  });

  it("names an unknown variable (a typo of event)", async () => {
    const error = await rejectionOf(compileRoutingRules([table([cel('evnt.type == "widget"', "widgets")])]));
    expect(error).toBeInstanceOf(ComponentConfigError);
    expect((error as Error).message).toContain("evnt");
  });

  it("refuses an expression that can never be a boolean", async () => {
    const error = await rejectionOf(compileRoutingRules([table([cel("1 + 2", "three")])]));
    expect((error as Error).message).toContain("boolean");
  });

  it("is a FunctionDefinitionError naming the subscription and routes[i].match for a rule in code", async () => {
    const error = await rejectionOf(compileRoutingRules([table([{ match: "event.type ==", handler: "bad" }], undefined, "app.orders.routed")]));
    expect(error).toBeInstanceOf(FunctionDefinitionError);
    expect((error as Error).message).toContain('subscription "app.orders.routed"');
    expect((error as Error).message).toContain("routes[0].match");
  });

  it("refuses a match that is neither a function nor a string", async () => {
    const error = await rejectionOf(compileRoutingRules([table([{ match: 42 as never, handler: "bad" }])]));
    expect(error).toBeInstanceOf(FunctionDefinitionError);
  });
});

describe("loading the CEL engine", () => {
  it("never loads it for tables whose rules are all functions", async () => {
    let loads = 0;
    provideCelEngine(async () => void loads++);
    const tables = [table([{ match: () => true, handler: "x" }], "d"), table([], "d")];
    expect(usesCelRules(tables)).toBe(false);
    await compileRoutingRules(tables);
    expect(loads).toBe(0);
  });

  it("loads it once for all the tables that have CEL rules", async () => {
    let loads = 0;
    provideCelEngine(() => (loads++, import("@marcbachmann/cel-js")));
    const tables = [table([cel("true", "a")]), table([cel("false", "b")])];
    expect(usesCelRules(tables)).toBe(true);
    await compileRoutingRules(tables);
    expect(loads).toBe(1);
  });

  it("fails with ERR_NOT_SUPPORTED, naming the subscription, when the engine cannot be loaded", async () => {
    provideCelEngine(() => Promise.reject(new Error("Cannot find package")));
    const error = await rejectionOf(compileRoutingRules([table([cel("true", "a")], undefined, "app.no-engine")]));
    expect(error).toBeInstanceOf(MechaError);
    expect((error as MechaError).code).toBe(ErrorCodes.notSupported);
    expect((error as Error).message).toContain("app.no-engine");
  });
});

describe("a code subscription with CEL routes, through the app and an in-memory pub/sub", () => {
  /** An app with one code subscription whose rules are these CEL strings; handlers record `<match>:<n>`. */
  const setup = (matches: string[]) => {
    const seen: string[] = [];
    const n = (event: TopicEvent) => (event.data as { n: number }).n;
    const topic = freshName("routed");
    const app = createApp({
      appId: "app",
      resources: { components: [{ name: "bus", type: "pubsub.in-memory", version: "v1", metadata: [], scopes: [] }], subscriptions: [] },
      modules: [
        {
          name: "orders",
          exports: {
            routed: subscribe(
              { pubsub: "bus", topic, routes: matches.map((match) => ({ match, handler: (e) => void seen.push(`${match}:${n(e)}`) })) },
              (e) => void seen.push(`default:${n(e)}`),
            ),
          },
        },
      ],
      catalog: componentCatalog,
      baseDir: ".",
    });
    return { app, seen, topic };
  };

  it("routes by the CEL string, first match first, else the default handler", async () => {
    const { app, seen, topic } = setup(["event.data.n > 10.0", "event.data.n > 0.0"]);
    const settled: Settlement[] = [];
    const plan = app.subscriptions[0]!;
    const subscription = await (await app.runtime.pubsub("bus")).subscribe({
      topic,
      subscription: plan.name,
      deliver: createDeliverer(app.runtime, plan, (_m, s) => void settled.push(s)),
    });
    try {
      for (const n of [50, 5, -1]) await app.runtime.publish("bus", topic, { n });
      await waitFor(() => settled.length === 3, { what: "three settlements" });
      expect(seen.sort()).toEqual(["default:-1", "event.data.n > 0.0:5", "event.data.n > 10.0:50"]);
    } finally {
      await subscription.close();
      await app.runtime.close();
    }
  });

  it("fails the runtime's startup check when a CEL string does not compile", async () => {
    const { app } = setup(["event.data.n >"]);
    try {
      const error = await rejectionOf(app.validate());
      expect(error).toBeInstanceOf(FunctionDefinitionError);
      expect((error as Error).message).toContain("app.orders.routed");
      expect((error as Error).message).toContain("routes[0].match");
    } finally {
      await app.runtime.close();
    }
  });
});

describe("delivering an event no rule matches", () => {
  /** A runtime whose only pub/sub records what is published to it (dead letters). */
  function runtimeRecording(published: PublishRequest[]): Runtime {
    const component: PubSubComponent = {
      type: "pubsub.test",
      features: [],
      publish: async (request) => void published.push(request),
      subscribe: async () => ({ close: async () => {} }),
      close: async () => {},
    };
    return new Runtime({
      appId: "app",
      baseDir: ".",
      logger: silentLogger,
      components: [{ name: "bus", type: "pubsub.test", version: "v1", metadata: [], scopes: [] }],
      catalog: { "pubsub.test": { block: "pubsub", load: async () => ({ create: () => component }) } },
    });
  }

  /** A CloudEvent delivery that records how it was settled. */
  function delivery(data: unknown): { message: InboundMessage; acts: string[] } {
    const acts: string[] = [];
    const body = { id: "m1", source: "app", type: "order", specversion: "1.0", datacontenttype: "application/json", data };
    return {
      acts,
      message: {
        id: "m1",
        topic: "orders",
        data: new TextEncoder().encode(JSON.stringify(body)),
        contentType: "application/cloudevents+json",
        metadata: {},
        attempt: 1,
        ack: async () => void acts.push("ack"),
        retry: async () => void acts.push("retry"),
      },
    };
  }

  const rulesOnly = (overrides: Partial<DeliveryPlan> = {}): DeliveryPlan => ({
    name: freshName("rules-only"),
    pubsub: "bus",
    topic: "orders",
    routes: [{ match: 'event.data.kind == "refund"', handler: () => {} }],
    ...overrides,
  });

  async function settle(plan: DeliveryPlan, data: unknown, published: PublishRequest[] = []) {
    const settlements: Settlement[] = [];
    const { message, acts } = delivery(data);
    await createDeliverer(runtimeRecording(published), plan, (_m, settlement) => void settlements.push(settlement))(message);
    return { settlements, acts, published };
  }

  it("acks it as dropped when the subscription has no default route and no dead-letter topic", async () => {
    const { settlements, acts, published } = await settle(rulesOnly(), { kind: "order" });
    expect(settlements).toEqual(["dropped"]);
    expect(acts).toEqual(["ack"]);
    expect(published).toEqual([]);
  });

  it("dead-letters it, saying no route matched, when the subscription has a dead-letter topic", async () => {
    const { settlements, acts, published } = await settle(rulesOnly({ deadLetterTopic: "orders.dead" }), { kind: "order" });
    expect(settlements).toEqual(["dead-lettered"]);
    expect(acts).toEqual(["ack"]);
    expect(published.map((p) => [p.topic, p.metadata?.deadLetterReason])).toEqual([["orders.dead", "no-matching-route"]]);
  });

  it("leaves the message for a retry when the rules cannot be compiled (no CEL engine in the process)", async () => {
    provideCelEngine(() => Promise.reject(new Error("Cannot find package")));
    const { settlements, acts } = await settle(rulesOnly({ deadLetterTopic: "orders.dead" }), { kind: "refund" });
    expect(settlements).toEqual(["retried"]);
    expect(acts).toEqual(["retry"]);
  });
});
