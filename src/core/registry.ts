/**
 * The registry of an app's functions, built from the exports of its function modules. Every
 * export that `http`, `subscribe`, `cron` or `binding` made is registered under a stable id
 * `<module>.<export>`; anything else is ignored.
 */
import { FunctionDefinitionError } from "../errors.ts";
import {
  isFunctionDefinition,
  type BindingFunction,
  type CronFunction,
  type FunctionDefinition,
  type HttpFunction,
  type SubscribeFunction,
} from "../functions.ts";

export interface FunctionModule {
  /** The module's name without extension, e.g. `orders` for functions/orders.ts. */
  name: string;
  exports: Readonly<Record<string, unknown>>;
}

export interface Registered<D extends FunctionDefinition> {
  /** `<module>.<export>`, e.g. `orders.placeOrder`. */
  id: string;
  definition: D;
}

export interface Registry {
  http: Array<Registered<HttpFunction>>;
  subscriptions: Array<Registered<SubscribeFunction>>;
  crons: Array<Registered<CronFunction>>;
  bindings: Array<Registered<BindingFunction>>;
  /** Subscriptions by pub/sub and topic, for push platforms that receive a topic's messages. */
  subscriptionsFor(pubsub: string, topic: string): ReadonlyArray<Registered<SubscribeFunction>>;
}

export function createRegistry(modules: readonly FunctionModule[]): Registry {
  const registry: Omit<Registry, "subscriptionsFor"> = { http: [], subscriptions: [], crons: [], bindings: [] };
  const routes = new Map<string, string>();
  const subscriptionNames = new Map<string, string>();
  const byTopic = new Map<string, Array<Registered<SubscribeFunction>>>();

  for (const module of modules) {
    for (const [exportName, value] of Object.entries(module.exports)) {
      if (!isFunctionDefinition(value)) continue;
      const id = `${module.name}.${exportName === "default" ? "default" : exportName}`;
      switch (value.kind) {
        case "http": {
          const route = `${value.method} ${value.path}`;
          const other = routes.get(route);
          if (other) throw new FunctionDefinitionError(`${id}: route "${route}" is already served by ${other}`);
          routes.set(route, id);
          registry.http.push({ id, definition: value });
          break;
        }
        case "subscribe": {
          const name = value.name ?? id;
          const other = subscriptionNames.get(name);
          if (other) throw new FunctionDefinitionError(`${id}: subscription name "${name}" is already used by ${other}`);
          subscriptionNames.set(name, id);
          const entry = { id, definition: value };
          registry.subscriptions.push(entry);
          const key = topicKey(value.pubsub, value.topic);
          byTopic.set(key, [...(byTopic.get(key) ?? []), entry]);
          break;
        }
        case "cron":
          registry.crons.push({ id, definition: value });
          break;
        case "binding":
          registry.bindings.push({ id, definition: value });
          break;
      }
    }
  }
  return { ...registry, subscriptionsFor: (pubsub, topic) => byTopic.get(topicKey(pubsub, topic)) ?? [] };
}

const topicKey = (pubsub: string, topic: string) => `${pubsub}\u0000${topic}`;
