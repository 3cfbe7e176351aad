/**
 * Routing rules: which handler an event of a subscription goes to. A rule matches with a function
 * of the event or with a CEL expression over `event` — Dapr's `routes.rules[].match` — and the
 * first rule that matches wins; an event no rule matches goes to the default handler, if there is
 * one. A rule that throws or fails to evaluate counts as no match.
 *
 * CEL is compiled by @marcbachmann/cel-js, loaded on first use, so an app without CEL rules never
 * loads it. The core never names the package in an import: the engine is handed over through
 * src/core/cel.ts — on Node by the config loader (which only Node and builds run); in a bundle by
 * its entry, only when the app uses CEL — so a bundle of an app without CEL does not carry it.
 */
import type { Environment } from "@marcbachmann/cel-js";
import { ComponentConfigError, ErrorCodes, FunctionDefinitionError, MechaError } from "../errors.ts";
import { bytesToBase64 } from "./base64.ts";
import { celEngineGeneration, loadCelEngine } from "./cel.ts";
import type { TopicEvent } from "./cloudevent.ts";
import type { Logger } from "./logger.ts";

/** A rule's condition: a function of the event, or a CEL expression over `event`. */
export type RouteMatch = ((event: TopicEvent<any>) => boolean) | string;

/** Where a rule was written, so that an expression that does not compile is reported there. */
export interface RouteOrigin {
  /** The subscription as its author named it (`metadata.name` in YAML, the durable name in code). */
  subscription: string;
  /** The rule's field, e.g. `spec.routes.rules[0].match` or `routes[0].match`. */
  field: string;
  /** The resources file of a YAML rule; a rule in code has none. */
  file?: string;
}

/** One routing rule. */
export interface Route<Handler> {
  /** Unset matches every event that reaches the rule (Dapr's rule without `match`). */
  match?: RouteMatch;
  handler: Handler;
  origin?: RouteOrigin;
  /** Where a Subscription document's rule delivers (its `path`), for the metadata API. */
  path?: string;
}

/** A subscription's rules and default handler. */
export interface RoutingTable<Handler> {
  /** The subscription's durable name, for errors about code rules. */
  name: string;
  routes?: ReadonlyArray<Route<Handler>>;
  /** Where an event goes when no rule matches; without one, the event is unmatched. */
  handler?: Handler;
}

/** A routing table with its CEL compiled. */
export interface Router<Handler> {
  /** The handler of the first rule that matches, else the default handler, else undefined. */
  select(event: TopicEvent, log: Logger): Handler | undefined;
}

type Predicate = (event: TopicEvent, celEvent: () => Record<string, unknown>) => unknown;

let environment: { generation: number; ready: Promise<Environment> } | undefined;

/** Whether any rule of these tables is written in CEL (and so needs the CEL engine). */
export function usesCelRules(tables: ReadonlyArray<RoutingTable<unknown>>): boolean {
  return tables.some((table) => table.routes?.some((route) => typeof route.match === "string"));
}

const routers = new WeakMap<RoutingTable<unknown>, Router<unknown> | Promise<Router<unknown>>>();

/**
 * The table's router, compiled once per table. Synchronous for tables without CEL; a promise
 * while CEL compiles.
 * @throws (the promise rejects with) ComponentConfigError for a YAML rule, FunctionDefinitionError
 *   for a rule in code, naming where the rule was written
 */
export function routerFor<Handler>(table: RoutingTable<Handler>): Router<Handler> | Promise<Router<Handler>> {
  let router = routers.get(table);
  if (!router) {
    router = usesCelRules([table]) ? compile(table) : build(table, []);
    routers.set(table, router);
  }
  return router as Router<Handler> | Promise<Router<Handler>>;
}

/**
 * Compiles every CEL rule of these tables now, so that a bad expression fails startup (or the
 * build) rather than the first delivery. Tables without CEL cost nothing and load no engine.
 * @throws ComponentConfigError / FunctionDefinitionError for the first rule that does not compile
 */
export async function compileRoutingRules(tables: ReadonlyArray<RoutingTable<unknown>>): Promise<void> {
  for (const table of tables) await routerFor(table);
}

async function compile<Handler>(table: RoutingTable<Handler>): Promise<Router<Handler>> {
  const env = await celEnvironment(table);
  const predicates = (table.routes ?? []).map((route, i) =>
    typeof route.match === "string" ? celPredicate(env, route.match, originOf(table, route, i)) : undefined,
  );
  return build(table, predicates);
}

/** Rule predicates by index; a rule without a compiled predicate uses its function, or matches all. */
function build<Handler>(table: RoutingTable<Handler>, compiled: ReadonlyArray<Predicate | undefined>): Router<Handler> {
  const rules = (table.routes ?? []).map((route, i) => ({
    handler: route.handler,
    origin: originOf(table, route, i),
    test: compiled[i] ?? functionPredicate(table, route, i),
  }));
  return {
    select(event, log) {
      let cel: Record<string, unknown> | undefined;
      const celEvent = () => (cel ??= celView(event));
      for (const rule of rules) {
        let result: unknown;
        try {
          result = rule.test(event, celEvent);
        } catch (error) {
          log.warn("routing rule failed; treating it as no match", { rule: rule.origin.field, messageId: event.id, error });
          continue;
        }
        if (result === true) return rule.handler;
        if (result !== false) {
          log.warn(`routing rule gave ${describeValue(result)}, not a boolean; treating it as no match`, { rule: rule.origin.field, messageId: event.id });
        }
      }
      return table.handler;
    },
  };
}

function functionPredicate(table: RoutingTable<unknown>, route: Route<unknown>, i: number): Predicate {
  const { match } = route;
  if (match === undefined) return () => true;
  if (typeof match === "function") return (event) => match(event) === true;
  throw invalidRule(originOf(table, route, i), `must be a function of the event or a CEL expression string, got ${describeValue(match)}`);
}

function celPredicate(env: Environment, expression: string, origin: RouteOrigin): Predicate {
  let program: ReturnType<Environment["parse"]>;
  try {
    program = env.parse(expression);
  } catch (error) {
    throw invalidRule(origin, celProblem(expression, error), error);
  }
  const checked = program.check();
  if (!checked.valid) throw invalidRule(origin, celProblem(expression, checked.error), checked.error);
  // `event` is a map of dyn, so most conditions type as dyn and are checked per event; a type
  // that can never be a boolean is a mistake we can name now.
  if (checked.type !== "bool" && checked.type !== "dyn") {
    throw invalidRule(origin, `must be a boolean CEL expression; "${expression}" gives ${checked.type}`);
  }
  return (_event, celEvent) => program({ event: celEvent() });
}

/**
 * One CEL environment for the process: building one is the costly part. `event` is declared as a
 * map of dyn, as Dapr declares it (any type), so an unknown variable (a typo of `event`) is an error.
 */
function celEnvironment(table: RoutingTable<unknown>): Promise<Environment> {
  const generation = celEngineGeneration();
  if (environment?.generation === generation) return environment.ready;
  const ready = loadCelEngine().then(
    ({ Environment }) => new Environment().registerVariable("event", "map<string, dyn>"),
    (cause: unknown) => {
      if (environment?.ready === ready) environment = undefined;
      throw new MechaError(
        ErrorCodes.notSupported,
        `subscription "${table.name}" has CEL routing rules, but the CEL engine (@marcbachmann/cel-js) could not be loaded; ` +
          "a bundle carries it only when its entry provides it (src/core/cel-engine.ts), which `mecha build` does for apps with CEL rules",
        { cause },
      );
    },
  );
  environment = { generation, ready };
  return ready;
}

/**
 * The event as a CEL expression sees it, as Dapr shows it: the CloudEvent's attributes (`id`,
 * `source`, `type`, `specversion`, `datacontenttype`, `subject`, `time`, `topic`, `pubsubname`,
 * extensions) and `data`, parsed when it is JSON. Binary data is CEL bytes, and also `data_base64`
 * as on the wire.
 */
function celView(event: TopicEvent): Record<string, unknown> {
  const view: Record<string, unknown> = {};
  // A CEL map has no undefined values: an absent attribute is absent (`has(event.subject)`).
  for (const [key, value] of Object.entries(event)) if (value !== undefined) view[key] = value;
  if (event.data instanceof Uint8Array) view.data_base64 = bytesToBase64(event.data);
  return view;
}

function originOf(table: RoutingTable<unknown>, route: Route<unknown>, i: number): RouteOrigin {
  return route.origin ?? { subscription: table.name, field: `routes[${i}].match` };
}

function invalidRule(origin: RouteOrigin, problem: string, cause?: unknown): MechaError {
  if (origin.file !== undefined) {
    // Worded as ResourceDocument words config errors of a Subscription document.
    return new ComponentConfigError(`${problem} (in subscription "${origin.subscription}")`, { file: origin.file, field: origin.field, cause });
  }
  return new FunctionDefinitionError(`subscription "${origin.subscription}": ${origin.field} ${problem}`, cause);
}

function celProblem(expression: string, error: unknown): string {
  const { summary, message, range } = (error ?? {}) as { summary?: string; message?: string; range?: { start: number } };
  const where = range ? ` at column ${range.start + 1}` : "";
  return `is not a valid CEL expression: ${summary ?? message ?? String(error)}${where} in "${expression}"`;
}

function describeValue(value: unknown): string {
  if (value === null) return "null";
  if (typeof value === "bigint") return `the int ${value}`;
  if (typeof value === "string") return `the string ${JSON.stringify(value)}`;
  return `a ${Array.isArray(value) ? "list" : typeof value}`;
}
