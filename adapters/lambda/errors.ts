/**
 * The errors the Lambda handler throws. Throwing is how a Lambda handler answers "not handled"
 * to the services that invoke it asynchronously (SNS, S3, EventBridge): they retry the
 * invocation and then send it to the function's on-failure destination. Each error has a stable
 * `code`; messages name what was received or what failed, never the payload itself.
 */

import { ErrorCodes, MechaError } from "../../src/errors.ts";

export const LambdaErrorCodes = {
  unknownEvent: ErrorCodes.lambdaUnknownEvent,
  undelivered: ErrorCodes.lambdaUndelivered,
} as const;

export type LambdaErrorCode = (typeof LambdaErrorCodes)[keyof typeof LambdaErrorCodes];

/** The base of every error the Lambda adapter throws on purpose. */
export class LambdaAdapterError extends MechaError {
  declare readonly code: LambdaErrorCode;

  constructor(code: LambdaErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
  }
}

/** What an unrecognised event looked like: enough to tell what sent it, none of its values. */
export interface ReceivedShape {
  /** The event's top-level keys (or its JSON type when it is not an object). */
  keys: readonly string[];
  /** `Records[].eventSource` / `EventSource` values, when the event has records. */
  recordSources?: readonly string[];
  /** Why a near match was refused, e.g. which shape's required fields were missing. */
  detail?: string;
}

/**
 * The handler was invoked with an event no guard recognises. The adapter never guesses an
 * event's type: handing an unknown shape to the HTTP translation, for example, would "answer" a
 * queue with an HTTP 400 that the queue reads as success.
 *
 * @example
 * try { await handler({}, context) } catch (error) {
 *   if (error instanceof UnknownEventError) console.error(error.received.keys);
 * }
 */
export class UnknownEventError extends LambdaAdapterError {
  readonly received: ReceivedShape;

  constructor(received: ReceivedShape) {
    const parts = [received.keys.length ? `top-level keys ${list(received.keys)}` : "no top-level keys"];
    if (received.recordSources) parts.push(`Records[] event sources ${list(received.recordSources)}`);
    if (received.detail) parts.push(received.detail);
    super(
      LambdaErrorCodes.unknownEvent,
      `unrecognised Lambda event (${parts.join("; ")}); mecha handles API Gateway REST/HTTP API, Function URL, ALB, SQS, SNS, S3 and EventBridge scheduled events`,
    );
    this.received = received;
  }
}

/**
 * Some deliveries of a push event (SNS notification, S3 object event) did not succeed. Thrown
 * after every delivery ran, so that Lambda retries the invocation; `failures` names each one.
 */
export class UndeliveredEventError extends LambdaAdapterError {
  readonly failures: readonly string[];

  constructor(what: string, failures: readonly string[]) {
    super(LambdaErrorCodes.undelivered, `${what}: ${failures.length} deliver${failures.length === 1 ? "y" : "ies"} failed: ${failures.join("; ")}`);
    this.failures = failures;
  }
}

const list = (values: readonly string[]) => `[${values.map((v) => JSON.stringify(v)).join(", ")}]`;
