/**
 * The values a sample event carries besides what the user asked for: a made-up account and
 * region, and ids and times drawn fresh for every event, in the formats AWS writes them — so a
 * sample looks like what the service sends, and two samples never share a message id.
 */
import { randomBytes, randomUUID } from "node:crypto";

/** The account id in AWS's documentation examples. */
export const sampleAccount = "123456789012";

/** The region of samples unless `--region` says otherwise. */
export const defaultRegion = "us-east-1";

/** `n` random bytes as lowercase hex. */
export const randomHex = (bytes: number): string => randomBytes(bytes).toString("hex");

/** `n` random bytes as base64 (receipt handles, signatures, request ids). */
export const randomBase64 = (bytes: number): string => randomBytes(bytes).toString("base64");

/** A fresh UUID (message ids, request ids). */
export const freshId = (): string => randomUUID();

/** An X-Ray trace header root, `Root=1-<epoch seconds in hex>-<24 hex>`. */
export function xrayTraceId(now: Date): string {
  return `Root=1-${Math.floor(now.getTime() / 1000).toString(16)}-${randomHex(12)}`;
}

/** EventBridge's time: ISO 8601 to the second (`2015-10-08T16:53:06Z`). */
export function isoSeconds(now: Date): string {
  return `${now.toISOString().slice(0, 19)}Z`;
}

const months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"] as const;

/** API Gateway's request time, in the common log format (`10/Mar/2020:05:16:23 +0000`). */
export function commonLogTime(now: Date): string {
  const two = (n: number) => String(n).padStart(2, "0");
  return (
    `${two(now.getUTCDate())}/${months[now.getUTCMonth()]}/${now.getUTCFullYear()}:` +
    `${two(now.getUTCHours())}:${two(now.getUTCMinutes())}:${two(now.getUTCSeconds())} +0000`
  );
}
