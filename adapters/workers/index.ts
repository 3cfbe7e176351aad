/**
 * `mecha/workers`: an app as a Cloudflare Worker — `export default { fetch, queue, scheduled }`.
 *
 * The adapter only translates: `fetch` goes to the app's Hono app; each Queue message becomes an
 * InboundMessage for the core's delivery pipeline, settled one by one with `ack()` / `retry()`
 * (a batch is never retried whole because one message failed); a Cron Trigger runs the `cron`
 * functions with that schedule. Component clients come from the invocation's `env` bindings.
 *
 * The build (`mecha build --target workers`) writes the entry that calls {@link createWorker}
 * with the function modules imported statically, the resources folder compiled to data (no YAML
 * at start) and a catalog of only the components the app uses.
 */
import type { ExecutionContext, MessageBatch, ScheduledController } from "@cloudflare/workers-types/index.ts";
import type { CatalogEntry } from "../../src/components/catalog.ts";
import type { Resources } from "../../src/config/types.ts";
import { createApp, type App } from "../../src/core/app.ts";
import { createDeliverer } from "../../src/core/delivery.ts";
import { runTrigger } from "../../src/core/triggers.ts";
import { createConsoleLogger, type Logger } from "../../src/core/logger.ts";
import type { FunctionModule } from "../../src/core/registry.ts";
import { toInboundMessage } from "./queue-message.ts";

/** A message the pipeline could not settle is offered again after this, not in a busy loop. */
const unsettledRetryMs = 1000;

export interface WorkerOptions {
  appId: string;
  modules: readonly FunctionModule[];
  /** The resources folder, compiled at build time. */
  resources: Resources;
  catalog: Readonly<Record<string, CatalogEntry>>;
  /** Queue name → the durable name of the subscription it feeds (one queue per subscription). */
  queues: Readonly<Record<string, string>>;
  logger?: Logger;
}

export interface WorkerHandlers<Env extends object = Record<string, unknown>> {
  fetch(request: Request, env: Env, ctx: ExecutionContext): Promise<Response>;
  queue(batch: MessageBatch<unknown>, env: Env, ctx: ExecutionContext): Promise<void>;
  scheduled(controller: ScheduledController, env: Env, ctx: ExecutionContext): Promise<void>;
}

export function createWorker<Env extends object = Record<string, unknown>>(options: WorkerOptions): WorkerHandlers<Env> {
  const logger = options.logger ?? createConsoleLogger({ format: "json" });
  // One app per env object: workerd hands every invocation of an isolate the same env, and an
  // app (its component clients) must be bound to the bindings it was made with.
  const apps = new WeakMap<object, App>();
  const appFor = (env: Env): App => {
    let app = apps.get(env);
    if (!app) {
      app = createApp({
        appId: options.appId,
        resources: options.resources,
        modules: options.modules,
        catalog: options.catalog,
        baseDir: "/",
        logger,
        env: stringVars(env),
        bindings: env as Record<string, unknown>,
        cronTriggers: "platform",
      });
      apps.set(env, app);
    }
    return app;
  };

  return {
    async fetch(request, env, ctx) {
      return appFor(env).http.fetch(request, env, ctx as never);
    },

    async queue(batch, env) {
      const app = appFor(env);
      const subscription = options.queues[batch.queue];
      const plan = app.subscriptions.find((p) => p.name === subscription);
      if (!plan) {
        // A queue this build knows nothing about: a deployment mismatch, not a message problem.
        // Retry rather than guess; the queue's own retry limit and dead-letter queue apply.
        logger.error(`queue "${batch.queue}" feeds no subscription of this app; retrying its messages`, {
          known: Object.keys(options.queues),
        });
        batch.retryAll();
        return;
      }
      const deliver = createDeliverer(app.runtime, plan);
      await Promise.all(
        batch.messages.map(async (message) => {
          const inbound = toInboundMessage(message, plan.topic);
          await deliver(inbound);
          // Returning from queue() acks every message that was not retried. One the pipeline could
          // not settle (its dead-letter publish failed) must go back to the queue, not be lost.
          if (!inbound.settled) await inbound.retry(unsettledRetryMs);
        }),
      );
    },

    async scheduled(controller, env, ctx) {
      const app = appFor(env);
      const due = app.registry.crons.filter(({ definition }) => definition.schedule === controller.cron);
      if (!due.length) logger.warn(`cron trigger "${controller.cron}" matches no cron function`);
      await Promise.all(
        due.map(({ id, definition }) =>
          runTrigger(app, { id, waitUntil: (promise) => ctx.waitUntil(promise), run: (fnCtx) => definition.handler(fnCtx) }),
        ),
      );
    },
  };
}

/** The string-valued vars and secrets of an env, for `envRef` and the env secret store. */
function stringVars(env: object): Record<string, string> {
  const vars: Record<string, string> = {};
  for (const [name, value] of Object.entries(env)) if (typeof value === "string") vars[name] = value;
  return vars;
}
