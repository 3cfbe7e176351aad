/**
 * Dapr's HTTP API (v1.0) for an app's components, served by the Node host on its own port (3500 by
 * default): any process that speaks Dapr — the official SDKs, curl — can use the app's state
 * stores, pub/subs, bindings, secret stores and lock stores, with no daprd.
 *
 * @example
 * const api = createDaprApi(app, { apiToken: process.env.MECHA_API_TOKEN });
 * serve({ fetch: api.fetch, port: 3500 });
 */
import { Hono } from "hono";
import { bodyLimit } from "hono/body-limit";
import type { App } from "../core/app.ts";
import { defaultBodyLimit } from "../core/http-app.ts";
import type { Logger } from "../core/logger.ts";
import { requireApiToken } from "./api-token.ts";
import { mountBindingRoutes } from "./binding-routes.ts";
import { createComponentLookup } from "./component-lookup.ts";
import type { ApiDeps } from "./context.ts";
import { DaprApiError, DaprErrorCodes, toDaprApiError } from "./errors.ts";
import { mountInvokeRoutes } from "./invoke-routes.ts";
import { mountLockRoutes } from "./lock-routes.ts";
import { mountMetadataRoutes } from "./metadata-routes.ts";
import { mountPubSubRoutes } from "./pubsub-routes.ts";
import { mountSecretRoutes } from "./secret-routes.ts";
import { mountStateRoutes } from "./state-routes.ts";

export interface DaprApiOptions {
  /** When set, every call but the health checks needs it in the `dapr-api-token` header. */
  apiToken?: string;
  /** Largest accepted request body in bytes. Default 4 MiB (Dapr's default). */
  bodyLimit?: number;
  /** The port of the app's own HTTP functions, reported by the metadata API. */
  appPort?: number;
  logger?: Logger;
}

export const runtimeVersion = "mecha-0.1.0";

export function createDaprApi(app: App, options: DaprApiOptions = {}): Hono {
  const api = new Hono();
  const logger = options.logger ?? app.runtime.logger;
  const limit = options.bodyLimit ?? defaultBodyLimit;
  if (options.apiToken) api.use(requireApiToken(options.apiToken));
  api.use(
    bodyLimit({
      maxSize: limit,
      onError: (c) => c.json({ errorCode: DaprErrorCodes.requestTooLarge, message: `request body is larger than the limit of ${limit} bytes` }, 413),
    }),
  );
  const deps: ApiDeps = { runtime: app.runtime, components: createComponentLookup(app.runtime) };
  mountInvokeRoutes(api, deps);
  mountStateRoutes(api, deps);
  mountPubSubRoutes(api, deps);
  mountBindingRoutes(api, deps);
  mountSecretRoutes(api, deps);
  mountLockRoutes(api, deps);
  mountMetadataRoutes(api, deps, app, { appPort: options.appPort, runtimeVersion });

  api.notFound((c) => c.json({ errorCode: DaprErrorCodes.notFound, message: `no Dapr API route serves ${c.req.method} ${c.req.path}` }, 404));
  api.onError((error, c) => {
    const answer = error instanceof DaprApiError ? error : toDaprApiError(error, DaprErrorCodes.internal);
    if (answer.status >= 500) {
      // The client gets the code and a message that is safe to show; the cause goes to the log,
      // tied to the answer by an incident id.
      const incident = crypto.randomUUID();
      logger.error("dapr api call failed", { method: c.req.method, path: c.req.path, incident, errorCode: answer.errorCode, error: answer.cause ?? error });
      const message = "internal" in answer && answer.internal ? `${answer.message} (incident ${incident}); the host's log has the details` : answer.message;
      return c.json({ errorCode: answer.errorCode, message }, answer.status as 500);
    }
    return c.json({ errorCode: answer.errorCode, message: answer.message }, answer.status as 400);
  });
  return api;
}
