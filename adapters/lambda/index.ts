/**
 * `mecha/lambda`: an app as one AWS Lambda handler, `handler(event, context)`.
 *
 * The adapter only translates. Strict guards recognise each event shape (events/*.ts) and an
 * unknown one is an {@link UnknownEventError}, never a guess:
 *
 * - HTTP — API Gateway REST and HTTP API, Function URLs, ALB — goes to the app's Hono app
 *   (events/http.ts);
 * - an SQS batch becomes one InboundMessage per record for the core's delivery pipeline, answered
 *   with `batchItemFailures` (events/sqs.ts);
 * - an SNS notification goes to its topic's subscriptions (events/sns.ts);
 * - an EventBridge scheduled rule runs its cron function (events/eventbridge.ts);
 * - an S3 object event triggers its bucket's binding functions (events/s3.ts).
 *
 * The App is made once per execution environment (a cold start), on the first invocation; every
 * invocation gets its own Contexts. Nothing of Lambda's `context` reaches the core: the adapter
 * reads the time left from it to answer an SQS batch before the invocation times out.
 *
 * @example
 * // the entry `mecha build --target lambda` writes
 * export const handler = createLambdaHandler({ appId: "shop", modules, resources, catalog, queues, schedules });
 */
import type { Context as LambdaContext, SQSBatchResponse } from "aws-lambda";
import type { CatalogEntry } from "../../src/components/catalog.ts";
import type { Resources } from "../../src/config/types.ts";
import { createApp, type App } from "../../src/core/app.ts";
import { createConsoleLogger, type Logger } from "../../src/core/logger.ts";
import type { FunctionModule } from "../../src/core/registry.ts";
import { UnknownEventError } from "./errors.ts";
import { isEventBridgeEvent, isScheduledEvent, runSchedule } from "./events/eventbridge.ts";
import { createHttpHandler, isAlbEvent, isFunctionUrlEvent, isHttpApiEvent, isRestApiEvent, type HttpResult } from "./events/http.ts";
import { bindingsByBucketFrom, deliverObjectEvents, isS3Event } from "./events/s3.ts";
import { deliverNotifications, isSnsEvent } from "./events/sns.ts";
import { isSqsEvent, processSqsBatch } from "./events/sqs.ts";
import { describeEvent } from "./guards.ts";

export { LambdaAdapterError, LambdaErrorCodes, UndeliveredEventError, UnknownEventError, type ReceivedShape } from "./errors.ts";
export type { S3ObjectEventData } from "./events/s3.ts";

/** Record sources this adapter handles: an event naming one that failed its guard is malformed. */
const handledSources = { "aws:sqs": "SQS", "aws:sns": "SNS", "aws:s3": "S3" } as const;

/** Says which shape an unrecognised record batch claimed to be, if it claimed a handled one. */
function nearMiss(event: unknown): string | undefined {
  const claimed = describeEvent(event).recordSources?.find((source): source is keyof typeof handledSources => source in handledSources);
  return claimed && `the records name ${claimed} but do not all have the fields of ${handledSources[claimed]} records`;
}

/** An SQS batch is answered this long before the invocation would time out. */
const sqsAnswerMarginMs = 500;

export interface LambdaHandlerOptions {
  appId: string;
  modules: readonly FunctionModule[];
  /** The resources folder, compiled at build time (a Lambda never parses YAML). */
  resources: Resources;
  catalog: Readonly<Record<string, CatalogEntry>>;
  /** SQS queue name → the durable name of the subscription it feeds (one queue per subscription). */
  queues: Readonly<Record<string, string>>;
  /** EventBridge rule name → the id (`<module>.<export>`) of the cron function it runs. */
  schedules?: Readonly<Record<string, string>>;
  /**
   * S3 bucket → the input binding whose functions its object events trigger. Default: the
   * `bindings.aws.s3` components, by their literal `bucket` metadata.
   */
  bindingsByBucket?: Readonly<Record<string, string>>;
  /** SNS topic name → mecha topic, for topics the build had to rename. Default: the same name. */
  topics?: Readonly<Record<string, string>>;
  /** Environment for `envRef` and the env secret store. Default `process.env`. */
  env?: Readonly<Record<string, string | undefined>>;
  /** Where relative paths in component metadata resolve from. Default `LAMBDA_TASK_ROOT` or the working directory. */
  baseDir?: string;
  /** Largest accepted HTTP request body in bytes. */
  bodyLimit?: number;
  logger?: Logger;
}

/** What the handler answers: an HTTP result, an SQS batch response, or nothing. */
export type LambdaResult = HttpResult | SQSBatchResponse | void;

export interface LambdaHandler {
  (event: unknown, context?: LambdaContext): Promise<LambdaResult>;
  /** The app behind the handler, made on first use (local replay and tests). */
  app(): App;
}

/**
 * Creates the Lambda handler for an app. Creating it does no work; the App is made by the first
 * invocation and kept for the life of the execution environment.
 */
export function createLambdaHandler(options: LambdaHandlerOptions): LambdaHandler {
  const logger = options.logger ?? createConsoleLogger({ format: "json" });
  let made: { app: App; http: ReturnType<typeof createHttpHandler>; buckets: Readonly<Record<string, string>> } | undefined;
  const setUp = () => {
    if (!made) {
      const app = createApp({
        appId: options.appId,
        resources: options.resources,
        modules: options.modules,
        catalog: options.catalog,
        baseDir: options.baseDir ?? process.env.LAMBDA_TASK_ROOT ?? process.cwd(),
        logger,
        env: options.env ?? process.env,
        bodyLimit: options.bodyLimit,
        // EventBridge rules fire cron functions; the process has no scheduler of its own.
        cronTriggers: "platform",
      });
      made = {
        app,
        http: createHttpHandler(app, logger),
        buckets: options.bindingsByBucket ?? bindingsByBucketFrom(app, options.resources.components),
      };
    }
    return made;
  };

  const handler = async (event: unknown, context?: LambdaContext): Promise<LambdaResult> => {
    // Each guard stands alone (none relies on being asked after another); the order only puts
    // the most frequent shapes first.
    if (isHttpApiEvent(event) || isFunctionUrlEvent(event) || isRestApiEvent(event) || isAlbEvent(event)) {
      return setUp().http(event, context);
    }
    if (isSqsEvent(event)) {
      const { app } = setUp();
      const remaining = context?.getRemainingTimeInMillis?.();
      const answerBy = remaining === undefined ? undefined : Date.now() + Math.max(0, remaining - sqsAnswerMarginMs);
      return processSqsBatch({ app, event, queues: options.queues, logger, answerBy });
    }
    if (isSnsEvent(event)) return deliverNotifications({ app: setUp().app, event, topics: options.topics ?? {}, logger });
    if (isS3Event(event)) {
      const { app, buckets } = setUp();
      return deliverObjectEvents({ app, event, buckets, logger });
    }
    if (isScheduledEvent(event)) return runSchedule({ app: setUp().app, event, schedules: options.schedules ?? {}, logger });
    if (isEventBridgeEvent(event)) {
      // Recognised as EventBridge, but only scheduled rules are routed so far.
      throw new UnknownEventError(
        describeEvent(event, `an EventBridge event (source ${JSON.stringify(event.source)}, detail-type ${JSON.stringify(event["detail-type"])}) that no mecha function handles: only scheduled rules are routed`),
      );
    }
    throw new UnknownEventError(describeEvent(event, nearMiss(event)));
  };
  return Object.assign(handler, { app: () => setUp().app });
}
