/**
 * The AWS resources an app needs, derived from its functions, subscriptions and resources
 * folder: an SNS topic per topic and an SQS queue (with a dead-letter queue) per subscription on
 * a `pubsub.aws.snssqs` component, an EventBridge rule per `cron(...)` function, the DynamoDB
 * tables and S3 buckets of its components, an HTTP API route per `http(...)` function — and the
 * tables the Lambda handler routes by (queue → subscription, rule → function, bucket → binding).
 *
 * Names are deterministic — the same as `pubsub.aws.snssqs` uses on a Node host — so a queue
 * made by the template is the queue the handler knows, and a redeploy keeps the messages waiting
 * in it.
 */
import { createHash } from "node:crypto";
import { snsTopicName, sqsQueueName } from "../../components/pubsub/aws-snssqs.ts";
import type { ComponentSpec, Resources } from "../../config/types.ts";
import { retryLimit } from "../../core/delivery.ts";
import { ComponentConfigError, FunctionDefinitionError } from "../../errors.ts";
import { buildTimeMetadata } from "../build-metadata.ts";
import { componentFiles } from "../component-files.ts";
import type { LoadedApp } from "../load-app.ts";
import { embeddedResiliencies } from "../resiliencies.ts";
import { eventBridgeSchedule, ScheduleConversionError } from "./schedule-expression.ts";

/** The component types that need AWS resources of their own. */
export const awsTypes = {
  snssqs: "pubsub.aws.snssqs",
  dynamodb: "state.aws.dynamodb",
  s3: "bindings.aws.s3",
  secretManager: "secretstores.aws.secretmanager",
  parameterStore: "secretstores.aws.parameterstore",
} as const;

/** SQS takes 1-1000 receives before a message moves to the dead-letter queue. */
const maxReceiveCountLimit = 1000;
/** SQS → Lambda batches: 1-10 messages (the component's `messageMaxNumber`). */
const defaultBatchSize = 10;
/** EventBridge rule names: 1-64 of `[.-_A-Za-z0-9]`. */
const maxRuleNameLength = 64;

/** An SNS topic. */
export interface TopicResource {
  pubsub: string;
  /** The mecha topic. */
  topic: string;
  /** The SNS topic name. */
  name: string;
}

/** The queue of one subscription, subscribed to its topic. */
export interface QueueResource {
  /** The subscription's durable name. */
  subscription: string;
  pubsub: string;
  topic: string;
  /** The SNS topic name. */
  topicName: string;
  queue: string;
  deadLetterQueue: string;
  /**
   * Receives before SQS moves a message to the dead-letter queue: a safety net behind the
   * core's own dead-lettering, which happens at receive `maxRetries + 1`; one more receive lets
   * a dead letter whose publish failed try again. 1000 (SQS's most) for unlimited retries.
   */
  maxReceiveCount: number;
  batchSize: number;
}

/** An EventBridge rule that runs one cron function. */
export interface ScheduleResource {
  rule: string;
  /** The cron function's id, `<module>.<export>`. */
  function: string;
  schedule: string;
  expression: string;
}

/** A DynamoDB table of a `state.aws.dynamodb` component. */
export interface TableResource {
  components: string[];
  table: string;
  partitionKey: string;
  ttlAttribute: string | undefined;
}

/** An S3 bucket of a `bindings.aws.s3` component, and the binding functions its events trigger. */
export interface BucketResource {
  component: string;
  bucket: string;
  functions: string[];
}

/** An HTTP function's route, in API Gateway's syntax. */
export interface RouteResource {
  function: string;
  method: string;
  path: string;
}

/** Secret stores the function reads. */
export interface SecretAccess {
  secretsManager: boolean;
  /** Parameter Store prefixes (`""` for all). */
  parameterPrefixes: string[];
}

/** Everything the build derives for AWS. */
export interface LambdaResources {
  topics: TopicResource[];
  queues: QueueResource[];
  schedules: ScheduleResource[];
  tables: TableResource[];
  buckets: BucketResource[];
  /** The HTTP routes, or one catch-all route when a path has no API Gateway equivalent. */
  routes: RouteResource[];
  secrets: SecretAccess;
  /** The resources the bundle embeds: the app's in-scope components and subscriptions. */
  resources: Resources;
  /** The component types the app uses: the only ones the bundle carries. */
  componentTypes: string[];
  /** Tables for `createLambdaHandler`. */
  handler: {
    queues: Record<string, string>;
    schedules: Record<string, string>;
    bindingsByBucket: Record<string, string>;
    topics: Record<string, string>;
  };
  /** Things that build but will not work as the user may expect. */
  warnings: string[];
}

/**
 * Derives the app's AWS resources.
 * @throws ComponentConfigError naming file, component and field for a component that cannot run
 *   on Lambda or a bad build-time field; FunctionDefinitionError for a schedule EventBridge
 *   cannot express
 */
export function deriveLambdaResources(loaded: LoadedApp, env: Readonly<Record<string, string | undefined>>): LambdaResources {
  const { app } = loaded;
  const used = new Set(app.runtime.components.map((c) => c.name));
  const components = loaded.resources.components.filter((c) => used.has(c.name));
  const subscriptionNames = new Set(app.subscriptions.map((p) => p.name));
  const subscriptions = loaded.resources.subscriptions.filter((s) => subscriptionNames.has(`${app.appId}.${s.name}`));
  for (const spec of components) assertRunsOnLambda(spec);

  const warnings: string[] = [];
  const { topics, queues } = deriveMessaging(loaded, components, env, warnings);
  const schedules = deriveSchedules(loaded);
  const tables = deriveTables(components, env);
  const buckets = deriveBuckets(loaded, components, env, warnings);
  const routes = deriveRoutes(loaded, warnings);
  return {
    topics,
    queues,
    schedules,
    tables,
    buckets,
    routes,
    secrets: deriveSecretAccess(components, env),
    resources: { components, subscriptions, ...embeddedResiliencies(loaded) },
    componentTypes: [...new Set(components.map((c) => c.type))].sort(),
    handler: {
      queues: Object.fromEntries(queues.map((q) => [q.queue, q.subscription])),
      schedules: Object.fromEntries(schedules.map((s) => [s.rule, s.function])),
      bindingsByBucket: Object.fromEntries(buckets.map((b) => [b.bucket, b.component])),
      topics: Object.fromEntries(topics.filter((t) => t.name !== t.topic).map((t) => [t.name, t.topic])),
    },
    warnings,
  };
}

function assertRunsOnLambda(spec: ComponentSpec): void {
  const where = { file: spec.file, component: spec.name, field: "spec.type" };
  const nodeOnly = componentFiles[spec.type]?.nodeOnly;
  if (nodeOnly) {
    throw new ComponentConfigError(`${spec.type} runs only on a Node host: ${nodeOnly.reason}. On Lambda use a component backed by an AWS service (docs/lambda.md lists them)`, where);
  }
  if (spec.type.includes(".cloudflare.")) {
    throw new ComponentConfigError(`${spec.type} needs a Cloudflare Worker's bindings, which a Lambda function does not have`, where);
  }
}

function deriveMessaging(
  loaded: LoadedApp,
  components: readonly ComponentSpec[],
  env: Readonly<Record<string, string | undefined>>,
  warnings: string[],
): { topics: TopicResource[]; queues: QueueResource[] } {
  const snssqs = new Map(components.filter((c) => c.type === awsTypes.snssqs).map((c) => [c.name, c]));
  const topics = new Map<string, TopicResource>();
  const addTopic = (pubsub: string, topic: string) => {
    const name = snsTopicName(topic);
    const key = `${pubsub}\u0000${topic}`;
    if (!topics.has(key)) topics.set(key, { pubsub, topic, name });
    return name;
  };
  const queues: QueueResource[] = [];
  for (const plan of loaded.app.subscriptions) {
    const spec = snssqs.get(plan.pubsub);
    if (!spec) {
      const type = components.find((c) => c.name === plan.pubsub)?.type;
      warnings.push(`subscription ${plan.name} is on pub/sub "${plan.pubsub}" (${type}), which Lambda does not deliver; only ${awsTypes.snssqs} subscriptions get a queue`);
      continue;
    }
    const metadata = buildTimeMetadata(spec, ["messageMaxNumber"], env);
    const retries = retryLimit(plan);
    const queue = sqsQueueName(plan.name);
    queues.push({
      subscription: plan.name,
      pubsub: plan.pubsub,
      topic: plan.topic,
      topicName: addTopic(plan.pubsub, plan.topic),
      queue,
      deadLetterQueue: sqsQueueName(`${plan.name}.dlq`),
      maxReceiveCount: Number.isFinite(retries) ? Math.min(maxReceiveCountLimit, retries + 2) : maxReceiveCountLimit,
      batchSize: metadata.integer("messageMaxNumber", defaultBatchSize, { min: 1, max: 10 }),
    });
    if (plan.deadLetterTopic) addTopic(plan.pubsub, plan.deadLetterTopic);
  }
  for (const plan of loaded.app.subscriptions) {
    if (plan.deadLetterTopic && snssqs.has(plan.pubsub) && !queues.some((q) => q.pubsub === plan.pubsub && q.topic === plan.deadLetterTopic)) {
      warnings.push(`dead-letter topic "${plan.deadLetterTopic}" of subscription ${plan.name} has no subscription, so SNS drops its dead letters`);
    }
  }
  assertUnique(queues.flatMap((q) => [q.queue, q.deadLetterQueue]), "SQS queue");
  return { topics: [...topics.values()], queues };
}

/** Rule names: `<app>-<function id>`, shortened with a hash when longer than EventBridge allows. */
function deriveSchedules(loaded: LoadedApp): ScheduleResource[] {
  return loaded.app.registry.crons.map(({ id, definition }) => {
    let expression: string;
    try {
      expression = eventBridgeSchedule(definition.schedule);
    } catch (error) {
      if (error instanceof ScheduleConversionError) throw new FunctionDefinitionError(`function ${id}: ${error.message}`);
      throw error;
    }
    return { rule: ruleName(`${loaded.app.appId}-${id}`), function: id, schedule: definition.schedule, expression };
  });
}

function ruleName(name: string): string {
  const safe = name.replace(/[^.\-_A-Za-z0-9]/g, "-");
  if (safe.length <= maxRuleNameLength) return safe;
  const hash = createHash("sha256").update(name).digest("hex").slice(0, 8);
  return `${safe.slice(0, maxRuleNameLength - hash.length - 1)}-${hash}`;
}

function deriveTables(components: readonly ComponentSpec[], env: Readonly<Record<string, string | undefined>>): TableResource[] {
  const tables = new Map<string, TableResource>();
  for (const spec of components.filter((c) => c.type === awsTypes.dynamodb)) {
    const metadata = buildTimeMetadata(spec, ["table", "partitionKey", "ttlAttributeName"], env);
    const table = metadata.string("table");
    if (!table) throw metadata.error("table", "is required: the build creates the DynamoDB table it names");
    const wanted: TableResource = { components: [spec.name], table, partitionKey: metadata.string("partitionKey", "key")!, ttlAttribute: metadata.string("ttlAttributeName") };
    const existing = tables.get(table);
    if (!existing) {
      tables.set(table, wanted);
      continue;
    }
    if (existing.partitionKey !== wanted.partitionKey || existing.ttlAttribute !== wanted.ttlAttribute) {
      throw metadata.error("table", `names table "${table}", which component "${existing.components[0]}" also uses with another partitionKey or ttlAttributeName`);
    }
    existing.components.push(spec.name);
  }
  return [...tables.values()];
}

function deriveBuckets(loaded: LoadedApp, components: readonly ComponentSpec[], env: Readonly<Record<string, string | undefined>>, warnings: string[]): BucketResource[] {
  const buckets: BucketResource[] = [];
  for (const spec of components.filter((c) => c.type === awsTypes.s3)) {
    const metadata = buildTimeMetadata(spec, ["bucket"], env);
    const bucket = metadata.string("bucket");
    if (!bucket) throw metadata.error("bucket", "is required: the build creates the S3 bucket it names");
    if (buckets.some((b) => b.bucket === bucket)) throw metadata.error("bucket", `names bucket "${bucket}", which another bindings.aws.s3 component already uses`);
    const functions = loaded.app.registry.bindings.filter((b) => b.definition.binding === spec.name).map((b) => b.id);
    buckets.push({ component: spec.name, bucket, functions });
  }
  for (const { id, definition } of loaded.app.registry.bindings) {
    if (!buckets.some((b) => b.component === definition.binding)) {
      warnings.push(`function ${id} is triggered by binding "${definition.binding}", which is not a ${awsTypes.s3} component; on Lambda only S3 object events trigger binding functions, so it will never run`);
    }
  }
  return buckets;
}

/**
 * `/orders/:id` → `/orders/{id}`, a trailing `*` → `{proxy+}`. Hono paths API Gateway cannot
 * express (optional or regex parameters, wildcards mid-path) make the whole API one catch-all
 * route; the function's own router answers 404s then.
 */
function deriveRoutes(loaded: LoadedApp, warnings: string[]): RouteResource[] {
  const routes: RouteResource[] = [];
  for (const { id, definition } of loaded.app.registry.http) {
    const path = apiGatewayPath(definition.path);
    if (path === undefined) {
      warnings.push(`function ${id}: path "${definition.path}" has no API Gateway route syntax, so the HTTP API sends every request to the function`);
      return [{ function: "*", method: "ANY", path: "$default" }];
    }
    routes.push({ function: id, method: definition.method === "ALL" ? "ANY" : definition.method, path });
  }
  return routes;
}

function apiGatewayPath(path: string): string | undefined {
  const segments = path.split("/").map((segment, i, all) => {
    if (segment === "*" && i === all.length - 1) return "{proxy+}";
    const parameter = /^:([A-Za-z_][A-Za-z0-9_]*)$/.exec(segment);
    if (parameter) return `{${parameter[1]}}`;
    return /^[A-Za-z0-9._~!$&'()+,;=@-]*$/.test(segment) ? segment : undefined;
  });
  return segments.includes(undefined) ? undefined : segments.join("/") || "/";
}

function deriveSecretAccess(components: readonly ComponentSpec[], env: Readonly<Record<string, string | undefined>>): SecretAccess {
  return {
    secretsManager: components.some((c) => c.type === awsTypes.secretManager),
    parameterPrefixes: components
      .filter((c) => c.type === awsTypes.parameterStore)
      .map((spec) => buildTimeMetadata(spec, ["prefix"], env).string("prefix", "")!),
  };
}

function assertUnique(names: readonly string[], what: string): void {
  const seen = new Set<string>();
  for (const name of names) {
    if (seen.has(name)) throw new ComponentConfigError(`two subscriptions map to the ${what} "${name}"; give one of them another name`);
    seen.add(name);
  }
}
