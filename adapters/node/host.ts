/**
 * The Node host: serves an app's HTTP functions with Hono on @hono/node-server, runs a consumer
 * per subscription through the core's delivery pipeline, starts input bindings (cron included),
 * and shuts down gracefully — in-flight work finishes, unfinished messages stay unacked.
 */
import { createAdaptorServer } from "@hono/node-server";
import type { AddressInfo } from "node:net";
import { resolve } from "node:path";
import type { ActiveSubscription } from "../../src/blocks/pubsub.ts";
import { componentCatalog } from "../../src/components/catalog.ts";
import { loadResources } from "../../src/config/load.ts";
import { createApp, cronComponentName, type App } from "../../src/core/app.ts";
import { createDeliverer, type Settlement } from "../../src/core/delivery.ts";
import { apiTokenFromEnv } from "../../src/dapr-api/api-token.ts";
import { createDaprApi } from "../../src/dapr-api/index.ts";
import { createConsoleLogger, type Logger } from "../../src/core/logger.ts";
import type { InboundMessage } from "../../src/blocks/pubsub.ts";
import { loadFunctionModules } from "./discover.ts";
import { BackgroundTasks } from "./background-tasks.ts";
import { runTrigger } from "../../src/core/triggers.ts";

export interface NodeHostOptions {
  appId?: string;
  /** The resources folder (Dapr component YAML). Default `components/local`. */
  resources?: string;
  /** The functions folder. Default `functions`. */
  functions?: string;
  /** Project root for relative paths. Default the working directory. */
  baseDir?: string;
  /** HTTP port; 0 picks a free one. Default 3000. */
  port?: number;
  hostname?: string;
  bodyLimit?: number;
  logger?: Logger;
  /** Called after each settled delivery (tests, metrics). */
  onSettled?: (subscription: string, message: InboundMessage, settlement: Settlement) => void;
  /** How long shutdown waits for in-flight work. Default 10 s. */
  shutdownTimeoutMs?: number;
  /**
   * Serve Dapr's HTTP API (state, publish, bindings, secrets, lock, metadata, healthz) for the
   * app's components on its own port, as daprd would. Off unless given; `mecha start` turns it on
   * at 3500. The token defaults to `MECHA_API_TOKEN` / `DAPR_API_TOKEN` from the environment.
   */
  daprApi?: { port?: number; /** Default 127.0.0.1, whatever `hostname` is. */ hostname?: string; apiToken?: string };
}

export interface NodeHost {
  readonly app: App;
  readonly url: string;
  readonly port: number;
  /** Where Dapr's HTTP API is served, when it is on. */
  readonly daprApiUrl?: string;
  readonly daprApiPort?: number;
  /** Stop: no new requests or messages, finish in-flight work, close components. */
  close(): Promise<void>;
}

export async function startNodeHost(options: NodeHostOptions = {}): Promise<NodeHost> {
  const baseDir = resolve(options.baseDir ?? process.cwd());
  const appId = options.appId ?? "mecha-app";
  const logger = options.logger ?? createConsoleLogger();
  const [resources, modules] = await Promise.all([
    loadResources(resolve(baseDir, options.resources ?? "components/local")),
    loadFunctionModules(resolve(baseDir, options.functions ?? "functions")),
  ]);
  const background = new BackgroundTasks();
  const app = createApp({
    appId,
    resources,
    modules,
    catalog: componentCatalog,
    baseDir,
    logger,
    bodyLimit: options.bodyLimit,
    waitUntil: (promise) => background.add(promise),
    httpFraming: true,
  });
  // Bad metadata fails here, at startup, naming file, component and field.
  await app.validate();

  const subscriptions: ActiveSubscription[] = [];
  const inputs: Array<{ stop(): Promise<void> }> = [];
  let server: ReturnType<typeof createAdaptorServer> | undefined;
  let apiServer: ReturnType<typeof createAdaptorServer> | undefined;
  let closing: Promise<void> | undefined;
  // Everything stops taking work at once; each part finishes what it has in flight; components
  // close last, when nothing can use them any more. Calling close twice waits for the same end.
  const close = () =>
    (closing ??= (async () => {
      const timeoutMs = options.shutdownTimeoutMs ?? 10_000;
      // Work in flight finishes, but no retry starts: a message whose handler still fails stays
      // unacked and is delivered again (here after a restart, or by another host).
      app.runtime.resiliency.stop();
      // One deadline for everything: a handler that never returns must not keep the process
      // alive. Past it, unsettled messages stay unacked and are delivered again elsewhere.
      const finished = Promise.allSettled([
        ...inputs.map((input) => input.stop()),
        ...subscriptions.map((subscription) => subscription.close()),
        server && closeServer(server, timeoutMs),
        apiServer && closeServer(apiServer, timeoutMs),
        background.drain(timeoutMs),
      ]);
      let timer: NodeJS.Timeout | undefined;
      const deadline = new Promise<"timeout">((resolve) => (timer = setTimeout(() => resolve("timeout"), timeoutMs)));
      if ((await Promise.race([finished, deadline])) === "timeout") {
        logger.warn(`shutdown: in-flight work did not finish within ${timeoutMs} ms; leaving it unacked`);
      }
      clearTimeout(timer);
      await app.runtime.close();
    })());

  try {
    for (const plan of app.subscriptions) {
      const pubsub = await app.runtime.pubsub(plan.pubsub);
      const deliver = createDeliverer(app.runtime, plan, (message, settlement) =>
        options.onSettled?.(plan.name, message, settlement),
      );
      subscriptions.push(
        await pubsub.subscribe({ topic: plan.topic, subscription: plan.name, deliver, concurrency: plan.concurrency }),
      );
      logger.debug("subscribed", { subscription: plan.name, pubsub: plan.pubsub, topic: plan.topic });
    }
    for (const { id, definition } of app.registry.crons) {
      const schedule = await app.runtime.inputBinding(cronComponentName(id));
      inputs.push(await schedule.start(async () => void (await runTrigger(app, { id, run: (ctx) => definition.handler(ctx) }))));
    }
    for (const { id, definition } of app.registry.bindings) {
      const input = await app.runtime.inputBinding(definition.binding);
      inputs.push(
        await input.start(async (event) => void (await runTrigger(app, { id, binding: definition.binding, run: (ctx) => definition.handler(event, ctx) }))),
      );
    }
    server = createAdaptorServer({ fetch: app.http.fetch, hostname: options.hostname ?? "127.0.0.1" });
    const port = await listen(server, options.port ?? 3000, options.hostname ?? "127.0.0.1");
    const url = `http://${options.hostname ?? "127.0.0.1"}:${port}`;
    if (!options.daprApi) return { app, url, port, close };
    // The API reads secrets and writes state for whoever calls it: loopback only, unless asked.
    const apiHostname = options.daprApi.hostname ?? "127.0.0.1";
    const apiToken = options.daprApi.apiToken ?? apiTokenFromEnv(process.env);
    if (!apiToken && !isLoopback(apiHostname)) {
      logger.warn(`Dapr's HTTP API listens on ${apiHostname} without an API token: anyone who reaches it can read secrets and write state; set MECHA_API_TOKEN`);
    }
    const api = createDaprApi(app, {
      apiToken,
      bodyLimit: options.bodyLimit,
      appPort: port,
      logger,
    });
    apiServer = createAdaptorServer({ fetch: api.fetch, hostname: apiHostname });
    const daprApiPort = await listen(apiServer, options.daprApi.port ?? 3500, apiHostname).catch((error: NodeJS.ErrnoException) => {
      throw Object.assign(error, { daprApi: true });
    });
    return { app, url, port, close, daprApiUrl: `http://${apiHostname}:${daprApiPort}`, daprApiPort };
  } catch (error) {
    await close();
    throw error;
  }
}

const isLoopback = (hostname: string) => hostname === "localhost" || hostname === "::1" || hostname.startsWith("127.");

function listen(server: ReturnType<typeof createAdaptorServer>, port: number, hostname: string): Promise<number> {
  return new Promise((resolvePort, reject) => {
    server.once("error", reject);
    server.listen(port, hostname, () => {
      server.off("error", reject);
      resolvePort((server.address() as AddressInfo).port);
    });
  });
}

/** Stops accepting connections, lets in-flight requests finish, then drops idle keep-alives. */
function closeServer(server: ReturnType<typeof createAdaptorServer>, timeoutMs: number): Promise<void> {
  return new Promise((done) => {
    const http = server as import("node:http").Server;
    const timer = setTimeout(() => {
      http.closeAllConnections?.();
      done();
    }, timeoutMs);
    timer.unref();
    http.close(() => {
      clearTimeout(timer);
      done();
    });
    http.closeIdleConnections?.();
  });
}
