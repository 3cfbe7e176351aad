/**
 * Where each component type's source file is, for builds that import only the components a
 * resources folder uses. The catalog (src/components/catalog.ts) hides its files behind
 * `load()` functions, which a build cannot look into, so the same table is kept here; a unit
 * test checks that both list the same types.
 */

/** A component type's source, and whether it can leave Node. */
export interface ComponentFile {
  /** The component's source file, relative to the mecha package root. */
  file: string;
  /**
   * Set when the component needs Node (a local file, a native module, a process-long timer): why,
   * and what to use on Workers instead. Bundled platform builds reject such a component.
   */
  nodeOnly?: { reason: string; instead: string };
  /**
   * Set when the component runs on Node and Lambda but not in a Worker (a client that needs TCP
   * sockets from Node's `net`, such as a Redis or PostgreSQL driver): why, and what to use on
   * Workers instead. The Workers build rejects such a component.
   */
  notOnWorkers?: { reason: string; instead: string };
}

/** A component whose client speaks TCP through Node's `net`: Node and Lambda, not Workers. */
const overTcp = (file: string, instead: string): ComponentFile => ({
  file,
  notOnWorkers: { reason: "it needs TCP connections through Node's net module", instead },
});

/** Every type of the component catalog, by `spec.type`. */
export const componentFiles: Readonly<Record<string, ComponentFile>> = {
  "state.in-memory": { file: "src/components/state/in-memory.ts" },
  "state.sqlite": {
    file: "src/components/state/sqlite.ts",
    nodeOnly: { reason: "it keeps its data in a local SQLite file", instead: "state.cloudflare.durableobjects or state.cloudflare.workerskv" },
  },
  "state.cloudflare.durableobjects": { file: "src/components/state/cloudflare-durableobjects.ts" },
  "state.aws.dynamodb": { file: "src/components/state/aws-dynamodb.ts" },
  "state.postgresql": overTcp("src/components/state/postgresql.ts", "state.cloudflare.durableobjects"),
  "state.redis": overTcp("src/components/state/redis.ts", "state.cloudflare.durableobjects"),
  "bindings.aws.s3": { file: "src/components/bindings/aws-s3.ts" },
  "pubsub.aws.snssqs": { file: "src/components/pubsub/aws-snssqs.ts" },
  "pubsub.rabbitmq": overTcp("src/components/pubsub/rabbitmq.ts", "pubsub.cloudflare.queues"),
  "pubsub.jetstream": overTcp("src/components/pubsub/jetstream.ts", "pubsub.cloudflare.queues"),
  "pubsub.redis": overTcp("src/components/pubsub/redis.ts", "pubsub.cloudflare.queues"),
  "pubsub.mqtt3": overTcp("src/components/pubsub/mqtt3.ts", "pubsub.cloudflare.queues"),
  "state.cloudflare.workerskv": { file: "src/components/state/cloudflare-workerskv.ts" },
  "pubsub.in-memory": { file: "src/components/pubsub/in-memory.ts" },
  "pubsub.sqlite": {
    file: "src/components/pubsub/sqlite.ts",
    nodeOnly: { reason: "it keeps its messages in a local SQLite file", instead: "pubsub.cloudflare.queues" },
  },
  "pubsub.cloudflare.queues": { file: "src/components/pubsub/cloudflare-queues.ts" },
  "bindings.http": { file: "src/components/bindings/http.ts" },
  "bindings.cron": {
    file: "src/components/bindings/cron.ts",
    nodeOnly: { reason: "it runs its own timer in a long-lived process", instead: "a cron(...) function, which becomes a Cron Trigger" },
  },
  "bindings.localstorage": {
    file: "src/components/bindings/localstorage.ts",
    nodeOnly: { reason: "it writes files on the local disk", instead: "bindings.cloudflare.r2" },
  },
  "bindings.cloudflare.r2": { file: "src/components/bindings/cloudflare-r2.ts" },
  "secretstores.local.env": { file: "src/components/secretstores/local-env.ts" },
  "secretstores.aws.secretmanager": { file: "src/components/secretstores/aws-secretmanager.ts" },
  "secretstores.aws.parameterstore": { file: "src/components/secretstores/aws-parameterstore.ts" },
  "lock.redis": overTcp("src/components/lock/redis.ts", "a Durable Object that holds the lock (no lock component runs on Workers yet)"),
  "nameresolution.static": { file: "src/components/nameresolution/static.ts" },
  "nameresolution.cloudflare.servicebindings": { file: "src/components/nameresolution/cloudflare-servicebindings.ts" },
  "secretstores.local.file": {
    file: "src/components/secretstores/local-file.ts",
    nodeOnly: { reason: "it reads a file on the local disk", instead: "secretstores.local.env, which reads the Worker's secrets and vars" },
  },
};
