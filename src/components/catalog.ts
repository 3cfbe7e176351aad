/**
 * Every component type mecha knows, by Dapr `spec.type`, with a loader that imports its file on
 * demand: a process (or a bundle) pays only for the components its resources folder uses.
 */
import type { Block, ComponentModule } from "./types.ts";

export interface CatalogEntry<B extends Block = Block> {
  block: B;
  load(): Promise<ComponentModule<B>>;
}

const entry = <B extends Block>(block: B, load: () => Promise<ComponentModule<B>>): CatalogEntry<B> => ({ block, load });

export const componentCatalog: Readonly<Record<string, CatalogEntry>> = {
  "state.in-memory": entry("state", () => import("./state/in-memory.ts")),
  "state.sqlite": entry("state", () => import("./state/sqlite.ts")),
  "state.aws.dynamodb": entry("state", () => import("./state/aws-dynamodb.ts")),
  "state.postgresql": entry("state", () => import("./state/postgresql.ts")),
  "state.redis": entry("state", () => import("./state/redis.ts")),
  "state.cloudflare.durableobjects": entry("state", () => import("./state/cloudflare-durableobjects.ts")),
  "state.cloudflare.workerskv": entry("state", () => import("./state/cloudflare-workerskv.ts")),
  "pubsub.in-memory": entry("pubsub", () => import("./pubsub/in-memory.ts")),
  "pubsub.sqlite": entry("pubsub", () => import("./pubsub/sqlite.ts")),
  "pubsub.cloudflare.queues": entry("pubsub", () => import("./pubsub/cloudflare-queues.ts")),
  "pubsub.aws.snssqs": entry("pubsub", () => import("./pubsub/aws-snssqs.ts")),
  "pubsub.rabbitmq": entry("pubsub", () => import("./pubsub/rabbitmq.ts")),
  "pubsub.jetstream": entry("pubsub", () => import("./pubsub/jetstream.ts")),
  "pubsub.redis": entry("pubsub", () => import("./pubsub/redis.ts")),
  "pubsub.mqtt3": entry("pubsub", () => import("./pubsub/mqtt3.ts")),
  "bindings.http": entry("bindings", () => import("./bindings/http.ts")),
  "bindings.cron": entry("bindings", () => import("./bindings/cron.ts")),
  "bindings.localstorage": entry("bindings", () => import("./bindings/localstorage.ts")),
  "bindings.cloudflare.r2": entry("bindings", () => import("./bindings/cloudflare-r2.ts")),
  "bindings.aws.s3": entry("bindings", () => import("./bindings/aws-s3.ts")),
  "secretstores.local.env": entry("secretstores", () => import("./secretstores/local-env.ts")),
  "secretstores.local.file": entry("secretstores", () => import("./secretstores/local-file.ts")),
  "secretstores.aws.secretmanager": entry("secretstores", () => import("./secretstores/aws-secretmanager.ts")),
  "secretstores.aws.parameterstore": entry("secretstores", () => import("./secretstores/aws-parameterstore.ts")),
  "lock.redis": entry("lock", () => import("./lock/redis.ts")),
  "nameresolution.static": entry("nameresolution", () => import("./nameresolution/static.ts")),
  "nameresolution.cloudflare.servicebindings": entry("nameresolution", () => import("./nameresolution/cloudflare-servicebindings.ts")),
};
