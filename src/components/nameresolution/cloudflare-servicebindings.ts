/**
 * `nameresolution.cloudflare.servicebindings`: other apps as Cloudflare Workers reached through
 * service bindings — a call goes Worker to Worker inside Cloudflare, with no public URL. Each
 * metadata entry is one app: its name is the app id, its value the name of the service binding
 * in the Worker's env.
 *
 * ```yaml
 * spec:
 *   type: nameresolution.cloudflare.servicebindings
 *   version: v1
 *   metadata:
 *     - name: billing
 *       value: BILLING
 * ```
 *
 * with, in wrangler.toml (the build keeps this section as written; it cannot know the other
 * Worker's name):
 *
 * ```toml
 * [[services]]
 * binding = "BILLING"
 * service = "billing-worker"
 * ```
 *
 * The binding is read from env on first use, so a missing one fails the call that needs it, with
 * an error naming the binding and the wrangler.toml entry.
 */
import type { AppEndpoint, NameResolutionComponent } from "../../blocks/nameresolution.ts";
import type { ComponentOptions } from "../types.ts";
import { workersBinding } from "../workers-binding.ts";

export const type = "nameresolution.cloudflare.servicebindings";

/** The part of a service binding (a Fetcher) this component uses. */
interface Fetcher {
  fetch(request: Request): Promise<Response>;
}

/** Reads the table of app ids and binding names; touches no binding until a call needs one. */
export function create({ name, metadata, bindings }: ComponentOptions): NameResolutionComponent {
  const bindingNames = new Map<string, string>();
  for (const appId of Object.keys(metadata.values)) bindingNames.set(appId, metadata.requiredString(appId));
  if (!bindingNames.size) {
    throw metadata.error("spec.metadata", 'lists no apps; add one entry per app id, e.g. "- name: billing  value: BILLING" (the service binding\'s name)');
  }
  const endpoints = new Map<string, AppEndpoint>();

  return {
    type,
    async resolve(appId) {
      const binding = bindingNames.get(appId);
      if (binding === undefined) return undefined;
      let endpoint = endpoints.get(appId);
      if (!endpoint) {
        const fetcher = workersBinding<Fetcher>({
          bindings,
          name: binding,
          kind: "service",
          methods: ["fetch"],
          wranglerEntry: `[[services]] binding = "${binding}" service = "<the Worker of app ${appId}>"`,
          component: name,
          field: appId,
        });
        endpoint = { address: `service binding ${binding}`, fetch: (request) => fetcher.fetch(request) };
        endpoints.set(appId, endpoint);
      }
      return endpoint;
    },
    async close() {},
  };
}
