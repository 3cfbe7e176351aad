/**
 * Dapr's secrets API: `GET /v1.0/secrets/{store}/{key}` (the secret's values as a JSON map; 204
 * when there is no such secret, as Dapr documents) and `/bulk` (every secret: name → values).
 * Values are only ever in a 200 body — never in an error, a header or the log.
 */
import type { Hono } from "hono";
import { answerFailureAs, type ApiDeps } from "./context.ts";
import { DaprErrorCodes } from "./errors.ts";

export function mountSecretRoutes(api: Hono, deps: ApiDeps): void {
  const store = (name: string) => {
    deps.components.require("secretstores", name);
    return answerFailureAs(DaprErrorCodes.secretGet, deps.runtime.secretStore(name));
  };

  api.get("/v1.0/secrets/:store/bulk", async (c) => {
    const secrets = await store(c.req.param("store"));
    return c.json(await answerFailureAs(DaprErrorCodes.secretGet, () => secrets.bulkGet()));
  });

  api.get("/v1.0/secrets/:store/:key", async (c) => {
    const secrets = await store(c.req.param("store"));
    const values = await answerFailureAs(DaprErrorCodes.secretGet, () => secrets.get(c.req.param("key")));
    return values ? c.json(values) : c.body(null, 204);
  });
}
