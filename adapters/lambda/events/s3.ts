/**
 * S3 event notifications: `Records[].eventSource === "aws:s3"`. Each record triggers the
 * `binding(name, …)` functions of the input binding its bucket belongs to: `bindingsByBucket`
 * when the build gives it, otherwise the `bindings.aws.s3` component whose `bucket` metadata
 * names the bucket.
 *
 * An object event happens once; S3 invokes Lambda asynchronously and Lambda retries an
 * invocation that throws. So a record whose bucket belongs to no binding, or a function that
 * fails, makes the handler throw after every record ran — the event is retried and then goes to
 * the function's on-failure destination, never dropped silently. A retry re-runs the functions
 * that succeeded too: binding functions must be idempotent, as with any at-least-once trigger.
 */
import type { S3Event, S3EventRecord } from "aws-lambda";
import type { ComponentSpec } from "../../../src/config/types.ts";
import type { App } from "../../../src/core/app.ts";
import type { Logger } from "../../../src/core/logger.ts";
import { UndeliveredEventError } from "../errors.ts";
import { hasStrings, isObject, recordsFrom, type JsonObject } from "../guards.ts";
import { runTrigger } from "../../../src/core/triggers.ts";

/** The Dapr type of the S3 binding component, whose `bucket` metadata names its bucket. */
const s3BindingType = "bindings.aws.s3";

/**
 * An S3 → Lambda event. `size` and `eTag` are not required: delete events have neither.
 * (S3 object events routed through EventBridge have another shape; see eventbridge.ts.)
 */
export function isS3Event(event: unknown): event is S3Event {
  const records = recordsFrom(event, "eventSource", "aws:s3");
  return records !== undefined && records.every(isS3Record);
}

function isS3Record(record: JsonObject): boolean {
  const s3 = record.s3;
  return (
    hasStrings(record, "eventName", "eventTime") &&
    isObject(s3) &&
    isObject(s3.bucket) &&
    hasStrings(s3.bucket, "name") &&
    isObject(s3.object) &&
    hasStrings(s3.object, "key")
  );
}

/**
 * S3 writes object keys in notifications form-encoded: a space is `+`, other characters are
 * percent-encoded (`my+file%281%29.txt` is `my file(1).txt`). `+` must become a space before
 * percent-decoding, or a literal plus (`%2B`) would turn into a space too.
 */
export function decodeS3Key(key: string): string {
  return decodeURIComponent(key.replaceAll("+", " "));
}

/** What a binding function receives for an S3 object event. */
export interface S3ObjectEventData {
  bucket: string;
  key: string;
  /** Absent for delete events. */
  size: number | undefined;
  /** Absent for delete events. */
  eTag: string | undefined;
  eventName: string;
}

export interface S3DeliveryRequest {
  app: App;
  event: S3Event;
  /** Bucket → input binding name (see {@link bindingsByBucketFrom}). */
  buckets: Readonly<Record<string, string>>;
  logger: Logger;
}

/** Runs the binding functions of every record; throws if any record was not handled. */
export async function deliverObjectEvents({ app, event, buckets, logger }: S3DeliveryRequest): Promise<void> {
  const failures = (await Promise.all(event.Records.map((record) => deliverRecord(app, record, buckets, logger)))).flat();
  if (failures.length) throw new UndeliveredEventError("S3 object event not handled", failures);
}

async function deliverRecord(app: App, record: S3EventRecord, buckets: Readonly<Record<string, string>>, logger: Logger): Promise<string[]> {
  const bucket = record.s3.bucket.name;
  const binding = buckets[bucket];
  if (binding === undefined) {
    logger.error(`S3 bucket "${bucket}" belongs to no input binding of this app; the event fails`, {
      eventName: record.eventName,
      known: Object.keys(buckets),
    });
    return [`bucket "${bucket}": no binding`];
  }
  let key: string;
  try {
    key = decodeS3Key(record.s3.object.key);
  } catch (error) {
    logger.error(`S3 object key in bucket "${bucket}" is not valid percent-encoding`, { binding, error });
    return [`bucket "${bucket}": malformed object key`];
  }
  const functions = app.registry.bindings.filter((entry) => entry.definition.binding === binding);
  if (!functions.length) logger.warn(`binding "${binding}" (bucket "${bucket}") triggers no function`, { eventName: record.eventName });
  const data: S3ObjectEventData = {
    bucket,
    key,
    size: record.s3.object.size,
    eTag: record.s3.object.eTag,
    eventName: record.eventName,
  };
  const metadata = { bucket, key, eventName: record.eventName, eventTime: record.eventTime };
  const outcomes = await Promise.all(
    functions.map(async ({ id, definition }) => ({
      id,
      outcome: await runTrigger(app, { id, binding, run: (ctx) => definition.handler({ data: { ...data }, metadata: { ...metadata } }, ctx) }),
    })),
  );
  return outcomes.filter(({ outcome }) => !outcome.ok).map(({ id }) => `bucket "${bucket}" key ${JSON.stringify(key)}: function ${id} failed`);
}

/**
 * Bucket → binding name from the app's `bindings.aws.s3` components that give `bucket` as a
 * literal value (one given by `envRef` or `secretKeyRef` is known only at run time: pass
 * `bindingsByBucket` for those).
 */
export function bindingsByBucketFrom(app: App, components: readonly ComponentSpec[]): Record<string, string> {
  const configured = new Set(app.runtime.components.map((component) => component.name));
  const buckets: Record<string, string> = {};
  for (const spec of components) {
    if (spec.type !== s3BindingType || !configured.has(spec.name)) continue;
    const bucket = spec.metadata.find((entry) => entry.name === "bucket")?.value;
    if (bucket) buckets[bucket] = spec.name;
  }
  return buckets;
}
