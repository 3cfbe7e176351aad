/**
 * Sample S3 event notifications: an object created by a PUT, or deleted. The object key is
 * written as S3 writes it in notifications — form-encoded: a space is `+`, `/` stays, and other
 * characters outside `A-Za-z0-9-_.*` are percent-encoded as UTF-8 (`my file(1).txt` is
 * `my+file%281%29.txt`).
 */
import type { S3Event, S3EventRecord } from "aws-lambda";
import { defaultRegion, freshId, randomBase64, randomHex } from "./sample-values.ts";

/** The event names of the sample kinds, as S3 writes them. */
export const s3ObjectEvents = {
  put: "ObjectCreated:Put",
  delete: "ObjectRemoved:Delete",
} as const;

/** One object event: what happened, to which object. */
export interface S3SampleRequest {
  event: keyof typeof s3ObjectEvents;
  bucket: string;
  /** The object key as stored (not encoded). */
  key: string;
  /** The object's size in bytes (created objects only). */
  size?: number;
  region?: string;
}

/** An S3 → Lambda event with one record. A delete's object has no `size` or `eTag`. */
export function s3Event(request: S3SampleRequest): S3Event {
  const created = request.event === "put";
  const object = {
    key: encodeS3Key(request.key),
    ...(created ? { size: request.size ?? 1024, eTag: randomHex(16) } : {}),
    sequencer: randomHex(9).toUpperCase(),
  };
  const record = {
    eventVersion: "2.1",
    eventSource: "aws:s3",
    awsRegion: request.region ?? defaultRegion,
    eventTime: new Date().toISOString(),
    eventName: s3ObjectEvents[request.event],
    userIdentity: { principalId: "AWS:AIDAINPONIXQXHT3IKHL2" },
    requestParameters: { sourceIPAddress: "203.0.113.24" },
    responseElements: { "x-amz-request-id": randomHex(8).toUpperCase(), "x-amz-id-2": randomBase64(57) },
    s3: {
      s3SchemaVersion: "1.0",
      configurationId: freshId(),
      bucket: { name: request.bucket, ownerIdentity: { principalId: "A3I5XTEXAMAI3E" }, arn: `arn:aws:s3:::${request.bucket}` },
      object,
    },
  };
  // The types give every object a size and an eTag; S3 sends neither for a delete.
  return { Records: [record as S3EventRecord] };
}

/** An object key as S3 writes it into an event notification. */
export function encodeS3Key(key: string): string {
  return Array.from(new TextEncoder().encode(key), (byte) => {
    const char = String.fromCharCode(byte);
    if (/[A-Za-z0-9\-_.*/]/.test(char)) return char;
    if (char === " ") return "+";
    return `%${byte.toString(16).toUpperCase().padStart(2, "0")}`;
  }).join("");
}
