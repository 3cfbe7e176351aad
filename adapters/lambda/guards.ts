/**
 * The small checks every event guard is built from, and the description of an event no guard
 * recognised. Guards check the fields the adapter reads and the discriminators AWS documents;
 * they never infer a type from a single optional field.
 */
import type { ReceivedShape } from "./errors.ts";

export type JsonObject = Record<string, unknown>;

export const isObject = (value: unknown): value is JsonObject =>
  typeof value === "object" && value !== null && !Array.isArray(value);

export const isString = (value: unknown): value is string => typeof value === "string";

/** A field that AWS sends as `null` when empty (headers, query strings, path parameters). */
export const isObjectOrNull = (value: unknown): value is JsonObject | null => value === null || isObject(value);

/** Optional object fields: absent, `null`, or an object. */
export const isOptionalObject = (value: unknown): boolean => value === undefined || isObjectOrNull(value);

export const hasStrings = (value: JsonObject, ...keys: string[]): boolean => keys.every((key) => isString(value[key]));

/**
 * The `Records` of a record-batch event when every record has the same source field value
 * (`eventSource` for SQS and S3, `EventSource` for SNS). Lambda never mixes sources in one
 * event, so a mixed or empty batch is not one of them.
 */
export function recordsFrom(event: unknown, sourceField: "eventSource" | "EventSource", source: string): JsonObject[] | undefined {
  if (!isObject(event) || !Array.isArray(event.Records) || event.Records.length === 0) return undefined;
  const records = event.Records as unknown[];
  return records.every((record) => isObject(record) && record[sourceField] === source) ? (records as JsonObject[]) : undefined;
}

/** The last `/`- or `:`-separated segment of an ARN: a queue, topic or rule name. */
export function arnResourceName(arn: string): string {
  return arn.slice(Math.max(arn.lastIndexOf(":"), arn.lastIndexOf("/")) + 1);
}

const maxListed = 20;
const maxLength = 64;

/**
 * What an unrecognised event looked like, for {@link UnknownEventError}: its top-level keys and
 * the source values of its records. Keys and source names say what sent an event; values could
 * be anyone's data, so none are included.
 */
export function describeEvent(event: unknown, detail?: string): ReceivedShape {
  const shape: ReceivedShape = { keys: isObject(event) ? listed(Object.keys(event)) : [`(${jsonType(event)})`] };
  if (isObject(event) && Array.isArray(event.Records)) {
    const sources = new Set<string>();
    for (const record of event.Records as unknown[]) {
      const source = isObject(record) ? (record.eventSource ?? record.EventSource) : undefined;
      sources.add(isString(source) ? source : `(${jsonType(source)})`);
    }
    return { ...shape, recordSources: listed([...sources]), ...(detail ? { detail } : {}) };
  }
  return detail ? { ...shape, detail } : shape;
}

function listed(values: string[]): string[] {
  const head = values.slice(0, maxListed).map((v) => (v.length > maxLength ? `${v.slice(0, maxLength)}…` : v));
  return values.length > maxListed ? [...head, `… ${values.length - maxListed} more`] : head;
}

function jsonType(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "array";
  return value === undefined ? "missing" : typeof value;
}
