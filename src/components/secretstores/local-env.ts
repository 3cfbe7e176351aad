/**
 * `secretstores.local.env`: secrets from the environment, as Dapr's component reads them. The
 * environment is the runtime's: `process.env` on Node; on Workers, the Worker's string vars and
 * secrets (`wrangler secret put`), which is how a Worker holds secrets. Values are never logged
 * or put in an error.
 *
 * Metadata (Dapr's): `prefix` — only variables starting with it are visible, a key is looked up
 * as prefix + key, and the prefix is removed from the names `bulkGet` returns.
 *
 * @example
 * # components/local/env.yaml
 * spec:
 *   type: secretstores.local.env
 *   metadata:
 *     - { name: prefix, value: "MYAPP_" }   # secret("env", "DB_URL") reads MYAPP_DB_URL
 */
import type { SecretStoreComponent } from "../../blocks/secrets.ts";
import type { ComponentOptions } from "../types.ts";

export const type = "secretstores.local.env";

/** Creates the store; reads nothing until asked. */
export function create({ metadata, env }: ComponentOptions): SecretStoreComponent {
  const environment = (): Readonly<Record<string, string | undefined>> => env ?? globalThis.process?.env ?? {};
  const prefix = metadata.string("prefix", "");
  // Windows variable names are case-insensitive, so Dapr matches the prefix that way there.
  const caseInsensitive = globalThis.process?.platform === "win32";
  const hasPrefix = (name: string): boolean =>
    name.length > prefix.length &&
    (caseInsensitive ? name.slice(0, prefix.length).toUpperCase() === prefix.toUpperCase() : name.startsWith(prefix));

  return {
    type,
    async get(key) {
      const name = prefix + key;
      if (!key || !isAllowed(name)) return undefined;
      const value = environment()[name];
      return value === undefined ? undefined : { [key]: value };
    },
    async bulkGet() {
      const secrets: Record<string, Record<string, string>> = {};
      for (const [name, value] of Object.entries(environment())) {
        if (value === undefined || !hasPrefix(name) || !isAllowed(name)) continue;
        const key = name.slice(prefix.length);
        secrets[key] = { [key]: value };
      }
      return secrets;
    },
    async close() {},
  };
}

/** Dapr hides its own credentials from this store: `APP_API_TOKEN` and anything `DAPR_`. */
function isAllowed(name: string): boolean {
  const upper = name.toUpperCase();
  return upper !== "APP_API_TOKEN" && !upper.startsWith("DAPR_");
}
