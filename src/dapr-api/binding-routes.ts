/**
 * Dapr's output binding API: `POST /v1.0/bindings/{name}` with `{ operation, data, metadata }`.
 * The binding's response metadata comes back as `metadata.<name>` headers and its data as the body.
 */
import type { Hono } from "hono";
import { answerFailureAs, type ApiDeps } from "./context.ts";
import { DaprErrorCodes, malformed } from "./errors.ts";
import { asObject, asStringMap, readJson } from "./request.ts";

export function mountBindingRoutes(api: Hono, deps: ApiDeps): void {
  api.on(["POST", "PUT"], "/v1.0/bindings/:name", async (c) => {
    const name = c.req.param("name");
    deps.components.require("bindings", name);
    const body = asObject(await readJson(c), "the binding request");
    const operation = body["operation"];
    if (typeof operation !== "string" || operation === "") throw malformed(`"operation" is a required field, e.g. "create"`);
    const metadata = asStringMap(body["metadata"], "metadata") ?? {};
    const traceparent = c.req.header("traceparent");
    if (traceparent && !metadata["traceparent"]) metadata["traceparent"] = traceparent;
    const ctx = deps.runtime.createContext({ traceparent, tracestate: c.req.header("tracestate") });
    const response = await answerFailureAs(DaprErrorCodes.invokeOutputBinding, () => ctx.binding(name).invoke(operation, body["data"], metadata));
    for (const [key, value] of Object.entries(response.metadata ?? {})) {
      // A header cannot carry every string (a newline, say): such an entry is left out, not fatal.
      try {
        c.header(`metadata.${key}`, value);
      } catch {
        continue;
      }
    }
    const data = response.data;
    if (data === undefined || data === null) return c.body(null, 204);
    if (data instanceof Uint8Array) return c.body(data as Uint8Array<ArrayBuffer>, 200, { "content-type": "application/octet-stream" });
    if (typeof data === "string") return c.body(data, 200, { "content-type": "text/plain; charset=utf-8" });
    return c.json(data as object, 200);
  });
}
