/**
 * The Cloudflare resources an app needs, derived from its subscriptions, schedules and
 * resources folder: a queue (and a dead-letter queue) per subscription on a
 * `pubsub.cloudflare.queues` component, the Durable Object, KV and R2 bindings of its components
 * and a Cron Trigger per schedule. Also compiles the resources folder into what the Worker
 * embeds, with each queues component's topic → producer table filled in.
 */
import { objectClassName, defaultBinding as defaultStateBinding } from "../../components/state/cloudflare-durableobjects.ts";
import type { ComponentSpec, Resources } from "../../config/types.ts";
import { ComponentConfigError, FunctionDefinitionError } from "../../errors.ts";
import { bindingName, buildTimeMetadata } from "../build-metadata.ts";
import { componentFiles } from "../component-files.ts";
import type { LoadedApp } from "../load-app.ts";
import { embeddedResiliencies } from "../resiliencies.ts";
import { queueNamesFor, type SubscriptionQueueNames } from "../queue-names.ts";

/** The component types that need Cloudflare resources of their own. */
export const cloudflareTypes = {
  queues: "pubsub.cloudflare.queues",
  durableObjects: "state.cloudflare.durableobjects",
  workersKv: "state.cloudflare.workerskv",
  r2: "bindings.cloudflare.r2",
} as const;

/** Defaults of the components' `binding` metadata (see each component's file). */
const defaultKvBinding = "MECHA_KV";
const defaultR2Binding = "MECHA_R2";
/** What wrangler.toml gets for a KV namespace whose component does not say `kvNamespaceID`. */
export const kvNamespacePlaceholder = "<set kvNamespaceID in the component>";

/** Queues' limits: batches of 1-100 messages, waited for 0-60 s, redelivered at most 100 times. */
const defaultMaxBatchSize = 10;
const defaultMaxBatchTimeoutSeconds = 5;
const maxQueueRetries = 100;

/** The queue of one subscription, with its consumer settings. */
export interface QueueResource extends SubscriptionQueueNames {
  pubsub: string;
  topic: string;
  maxBatchSize: number;
  maxBatchTimeoutSeconds: number;
  /**
   * The queue's own redelivery limit, a safety net behind the core's dead-lettering: one more
   * than the subscription's `maxRetries`, so the core always sees the last attempt first.
   */
  maxRetries: number;
}

/** A Durable Object namespace binding, shared by the stores that name it. */
export interface DurableObjectBinding {
  binding: string;
  className: string;
  components: string[];
}

/** A KV namespace binding. */
export interface KvNamespaceBinding {
  binding: string;
  id: string;
  components: string[];
}

/** An R2 bucket binding. */
export interface R2BucketBinding {
  binding: string;
  bucketName: string;
  components: string[];
}

/** A Cron Trigger and the functions it runs. */
export interface CronTrigger {
  schedule: string;
  functions: string[];
}

/** Everything the build derives for Cloudflare. */
export interface WorkersResources {
  queues: QueueResource[];
  durableObjects: DurableObjectBinding[];
  kvNamespaces: KvNamespaceBinding[];
  r2Buckets: R2BucketBinding[];
  crons: CronTrigger[];
  /** The resources the Worker embeds: the app's in-scope components and subscriptions. */
  resources: Resources;
  /** The component types the app uses: the only ones the bundle carries. */
  componentTypes: string[];
  /** Things that build but will not work as the user may expect. */
  warnings: string[];
}

/**
 * Derives the app's Cloudflare resources.
 * @throws ComponentConfigError naming file, component and field for a component that cannot run
 *   on Workers, a bad binding name, or two components that claim one binding differently
 */
export function deriveWorkersResources(loaded: LoadedApp, env: Readonly<Record<string, string | undefined>>): WorkersResources {
  const { app } = loaded;
  const used = new Set(app.runtime.components.map((c) => c.name));
  const components = loaded.resources.components.filter((c) => used.has(c.name));
  const subscriptionNames = new Set(app.subscriptions.map((p) => p.name));
  const subscriptions = loaded.resources.subscriptions.filter((s) => subscriptionNames.has(`${app.appId}.${s.name}`));
  for (const spec of components) assertRunsOnWorkers(spec);

  const warnings: string[] = [];
  const queues = deriveQueues(loaded, components, env, warnings);
  const bindings = deriveBindings(components, env, warnings);
  for (const { id, definition } of app.registry.bindings) {
    warnings.push(`function ${id} is triggered by binding "${definition.binding}", but a Worker starts no input bindings; it will never run`);
  }
  const compiled = components.map((spec) => (spec.type === cloudflareTypes.queues ? withTopics(spec, queues) : spec));
  assertUniqueBindings([
    ...queues.map((q) => ({ binding: q.producerBinding, what: `the producer of queue ${q.queue}` })),
    ...bindings.durableObjects.map((b) => ({ binding: b.binding, what: `Durable Object namespace ${b.className}` })),
    ...bindings.kvNamespaces.map((b) => ({ binding: b.binding, what: `KV namespace ${b.id}` })),
    ...bindings.r2Buckets.map((b) => ({ binding: b.binding, what: `R2 bucket ${b.bucketName}` })),
  ]);
  return {
    queues,
    ...bindings,
    crons: deriveCrons(loaded),
    resources: { components: compiled, subscriptions, ...embeddedResiliencies(loaded) },
    componentTypes: [...new Set(components.map((c) => c.type))].sort(),
    warnings,
  };
}

function assertRunsOnWorkers(spec: ComponentSpec): void {
  const file = componentFiles[spec.type];
  const nodeOnly = file?.nodeOnly ?? file?.notOnWorkers;
  if (nodeOnly) {
    throw new ComponentConfigError(`${spec.type} cannot run in a Worker: ${nodeOnly.reason}. On Workers use ${nodeOnly.instead}`, {
      file: spec.file,
      component: spec.name,
      field: "spec.type",
    });
  }
}

function deriveQueues(loaded: LoadedApp, components: readonly ComponentSpec[], env: Readonly<Record<string, string | undefined>>, warnings: string[]): QueueResource[] {
  const queueComponents = new Map(components.filter((c) => c.type === cloudflareTypes.queues).map((c) => [c.name, c]));
  const plans = loaded.app.subscriptions.filter((plan) => {
    if (queueComponents.has(plan.pubsub)) return true;
    const type = components.find((c) => c.name === plan.pubsub)?.type;
    warnings.push(`subscription ${plan.name} is on pub/sub "${plan.pubsub}" (${type}), which a Worker does not deliver; only ${cloudflareTypes.queues} subscriptions get a queue`);
    return false;
  });
  const names = queueNamesFor(plans.map((plan) => plan.name));
  const queues = plans.map((plan, i): QueueResource => {
    const metadata = buildTimeMetadata(queueComponents.get(plan.pubsub)!, ["maxBatchSize", "maxBatchTimeout"], env);
    return {
      ...names[i]!,
      pubsub: plan.pubsub,
      topic: plan.topic,
      maxBatchSize: metadata.integer("maxBatchSize", defaultMaxBatchSize, { min: 1, max: 100 }),
      maxBatchTimeoutSeconds: metadata.integer("maxBatchTimeout", defaultMaxBatchTimeoutSeconds, { min: 0, max: 60 }),
      maxRetries: plan.maxRetries === undefined ? maxQueueRetries : Math.min(maxQueueRetries, plan.maxRetries + 1),
    };
  });
  for (const plan of plans) {
    if (plan.deadLetterTopic && !queues.some((q) => q.pubsub === plan.pubsub && q.topic === plan.deadLetterTopic)) {
      warnings.push(`dead-letter topic "${plan.deadLetterTopic}" of subscription ${plan.name} has no subscription, so its dead letters are dropped`);
    }
  }
  return queues;
}

/** The queues component as the Worker gets it: its `topics` metadata is the derived table. */
function withTopics(spec: ComponentSpec, queues: readonly QueueResource[]): ComponentSpec {
  const topics: Record<string, string[]> = {};
  for (const queue of queues.filter((q) => q.pubsub === spec.name)) (topics[queue.topic] ??= []).push(queue.producerBinding);
  return { ...spec, metadata: [...spec.metadata.filter((m) => m.name !== "topics"), { name: "topics", value: JSON.stringify(topics) }] };
}

function deriveBindings(
  components: readonly ComponentSpec[],
  env: Readonly<Record<string, string | undefined>>,
  warnings: string[],
): Pick<WorkersResources, "durableObjects" | "kvNamespaces" | "r2Buckets"> {
  const durableObjects = new Map<string, DurableObjectBinding>();
  const kvNamespaces = new Map<string, KvNamespaceBinding>();
  const r2Buckets = new Map<string, R2BucketBinding>();
  for (const spec of components) {
    switch (spec.type) {
      case cloudflareTypes.durableObjects: {
        // Several stores may share one namespace: each keeps its keys in its own object.
        const binding = bindingName(buildTimeMetadata(spec, ["binding"], env), "binding", defaultStateBinding);
        const entry = durableObjects.get(binding) ?? { binding, className: objectClassName, components: [] };
        entry.components.push(spec.name);
        durableObjects.set(binding, entry);
        break;
      }
      case cloudflareTypes.workersKv: {
        const metadata = buildTimeMetadata(spec, ["binding", "kvNamespaceID"], env);
        const binding = bindingName(metadata, "binding", defaultKvBinding);
        const id = metadata.string("kvNamespaceID");
        if (!id) warnings.push(`${spec.file ?? "component"} "${spec.name}": no kvNamespaceID, so wrangler.toml gets a placeholder id; create the namespace (npx wrangler kv namespace create ${spec.name}) and set kvNamespaceID`);
        sameOrNew(kvNamespaces, { binding, id: id ?? kvNamespacePlaceholder, components: [] }, "id", spec).components.push(spec.name);
        break;
      }
      case cloudflareTypes.r2: {
        const metadata = buildTimeMetadata(spec, ["binding", "bucketName"], env);
        const binding = bindingName(metadata, "binding", defaultR2Binding);
        sameOrNew(r2Buckets, { binding, bucketName: metadata.string("bucketName", spec.name), components: [] }, "bucketName", spec).components.push(spec.name);
        break;
      }
    }
  }
  return { durableObjects: [...durableObjects.values()], kvNamespaces: [...kvNamespaces.values()], r2Buckets: [...r2Buckets.values()] };
}

/** Two components may share a binding only when they mean the same namespace or bucket by it. */
function sameOrNew<T extends { binding: string; components: string[] }>(map: Map<string, T>, entry: T, key: keyof T & string, spec: ComponentSpec): T {
  const existing = map.get(entry.binding);
  if (!existing) {
    map.set(entry.binding, entry);
    return entry;
  }
  if (existing[key] !== entry[key]) {
    throw new ComponentConfigError(
      `binding "${entry.binding}" is already bound to ${key} "${String(existing[key])}" by component "${existing.components[0]}"; give this component another binding`,
      { file: spec.file, component: spec.name, field: "binding" },
    );
  }
  return existing;
}

function assertUniqueBindings(bindings: ReadonlyArray<{ binding: string; what: string }>): void {
  const seen = new Map<string, string>();
  for (const { binding, what } of bindings) {
    const other = seen.get(binding);
    if (other !== undefined && other !== what) {
      throw new ComponentConfigError(`the Worker binding name "${binding}" is used for both ${other} and ${what}; rename one binding`);
    }
    seen.set(binding, what);
  }
}

/** Cron Triggers take standard five-field expressions, matched against the schedule as written. */
function deriveCrons(loaded: LoadedApp): CronTrigger[] {
  const crons = new Map<string, CronTrigger>();
  for (const { id, definition } of loaded.app.registry.crons) {
    if (definition.schedule.trim().split(/\s+/).length !== 5 || definition.schedule !== definition.schedule.trim()) {
      throw new FunctionDefinitionError(
        `function ${id}: schedule "${definition.schedule}" is not a five-field cron expression, which is all Cloudflare Cron Triggers take (no seconds field, no @every)`,
      );
    }
    const trigger = crons.get(definition.schedule) ?? { schedule: definition.schedule, functions: [] };
    trigger.functions.push(id);
    crons.set(definition.schedule, trigger);
  }
  return [...crons.values()];
}
