/**
 * Types for the `cloudflare:workers` module, which only exists inside workerd.
 *
 * The root tsconfig types the repo for Node (`types: ["node"]`), so the global
 * `@cloudflare/workers-types` cannot be referenced without clashing with Node's `Request`,
 * `Response` and friends. Its module form (`@cloudflare/workers-types/index.ts`) declares the
 * same types as exports and touches no globals; this file maps the `cloudflare:workers` module
 * onto that namespace, so `import { DurableObject } from "cloudflare:workers"` type-checks with
 * the real class declarations and nothing leaks into other files.
 */
declare module "cloudflare:workers" {
  import { CloudflareWorkersModule } from "@cloudflare/workers-types/index.ts";
  export = CloudflareWorkersModule;
}
