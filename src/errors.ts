/**
 * The named errors mecha throws. Every error carries a stable `code` that callers and the HTTP
 * layer can switch on, and — where one is involved — the component's name. Messages say what
 * to do and never contain secret values.
 */

export const ErrorCodes = {
  componentConfig: "ERR_COMPONENT_CONFIG",
  componentNotFound: "ERR_COMPONENT_NOT_FOUND",
  notSupported: "ERR_NOT_SUPPORTED",
  etagMismatch: "ERR_STATE_ETAG_MISMATCH",
  stateGet: "ERR_STATE_GET",
  stateSave: "ERR_STATE_SAVE",
  stateDelete: "ERR_STATE_DELETE",
  stateTransaction: "ERR_STATE_TRANSACTION",
  bulkState: "ERR_STATE_BULK",
  invalidKey: "ERR_STATE_INVALID_KEY",
  invalidTtl: "ERR_STATE_INVALID_TTL",
  invalidRequest: "ERR_MALFORMED_REQUEST",
  bindingOperation: "ERR_BINDING_OPERATION",
  bindingInvoke: "ERR_INVOKE_OUTPUT_BINDING",
  secretNotFound: "ERR_SECRET_NOT_FOUND",
  /** A secret store could not be read (Dapr's code for a failed get or bulk get). */
  secretGet: "ERR_SECRET_GET",
  /** A lock store failed to take a lock (Dapr's code); a lock held by another owner is not a failure. */
  tryLock: "ERR_TRY_LOCK",
  /** A lock store failed to release a lock (Dapr's code). */
  unlock: "ERR_UNLOCK",
  publish: "ERR_PUBSUB_PUBLISH_MESSAGE",
  /** The pub/sub's topic scoping does not let this app publish to (or subscribe to) the topic (Dapr's code). */
  pubsubForbidden: "ERR_PUBSUB_FORBIDDEN",
  functionDefinition: "ERR_FUNCTION_DEFINITION",
  lambdaUnknownEvent: "ERR_LAMBDA_UNKNOWN_EVENT",
  lambdaUndelivered: "ERR_LAMBDA_UNDELIVERED",
  /** Service invocation could not reach the app: no name resolution knows it, or it did not answer (Dapr's code; HTTP 500). */
  directInvoke: "ERR_DIRECT_INVOKE",
  /**
   * A resiliency circuit breaker is open: the call failed fast without reaching the component or
   * app. Dapr has no code of its own for this (it answers the operation's code with "circuit
   * breaker is open"); mecha's is distinct so callers can tell it from a backend failure.
   */
  circuitOpen: "ERR_RESILIENCY_CIRCUIT_OPEN",
  /** A resiliency timeout policy cut the call (Dapr: the operation's code with "context deadline exceeded"). */
  resiliencyTimeout: "ERR_RESILIENCY_TIMEOUT",
} as const;

export type ErrorCode = (typeof ErrorCodes)[keyof typeof ErrorCodes];

export interface MechaErrorOptions {
  /** The component the error is about, when there is one. */
  component?: string;
  cause?: unknown;
}

/** The base of every error mecha throws on purpose. */
export class MechaError extends Error {
  readonly code: ErrorCode;
  readonly component: string | undefined;

  constructor(code: ErrorCode, message: string, options: MechaErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.component = options.component;
  }
}

/** A component's YAML (or the metadata given to its factory) is wrong; names file and field. */
export class ComponentConfigError extends MechaError {
  readonly file: string | undefined;
  readonly field: string | undefined;

  constructor(
    message: string,
    details: { file?: string; component?: string; field?: string; cause?: unknown } = {},
  ) {
    const where = [
      details.file && `${details.file}`,
      details.component && `component "${details.component}"`,
      details.field && `field "${details.field}"`,
    ].filter(Boolean);
    super(ErrorCodes.componentConfig, where.length ? `${where.join(", ")}: ${message}` : message, {
      component: details.component,
      cause: details.cause,
    });
    this.file = details.file;
    this.field = details.field;
  }
}

/** A function asked for a component name that the resources folder does not define. */
export class ComponentNotFoundError extends MechaError {
  constructor(kind: string, name: string, known: readonly string[]) {
    const list = known.length ? known.map((k) => `"${k}"`).join(", ") : "none";
    super(
      ErrorCodes.componentNotFound,
      `no ${kind} component named "${name}" is configured (configured: ${list})`,
      { component: name },
    );
  }
}

/** The component cannot do what was asked: it does not declare the feature. */
export class NotSupportedError extends MechaError {
  constructor(what: string, componentType: string, component?: string) {
    super(ErrorCodes.notSupported, `${what} is not supported by ${componentType}`, { component });
  }
}

/**
 * What a call named does not exist (an object of an object-store binding, say). The code stays the
 * operation's own; HTTP answers it with 404 rather than a server failure.
 */
export class NotFoundError extends MechaError {}

/** The app may not do this (a pub/sub's topic scoping forbids the topic); HTTP answers 403. */
export class ForbiddenError extends MechaError {}

/** A write or delete carried an etag that does not match the stored one (or first-write hit an existing key). */
export class EtagMismatchError extends MechaError {
  readonly key: string;

  constructor(key: string, component?: string) {
    super(ErrorCodes.etagMismatch, `possible etag mismatch for key "${key}"`, { component });
    this.key = key;
  }
}

/** Some entries of a bulk write failed; the others were applied. */
export class BulkStateError extends MechaError {
  /** The failed keys, each with its own error, in request order. */
  readonly failures: ReadonlyArray<{ key: string; error: Error }>;

  constructor(failures: ReadonlyArray<{ key: string; error: Error }>, component?: string) {
    const keys = failures.map((f) => `"${f.key}"`).join(", ");
    super(ErrorCodes.bulkState, `bulk operation failed for ${failures.length} key(s): ${keys}`, {
      component,
    });
    this.failures = failures;
  }

  get keys(): string[] {
    return this.failures.map((f) => f.key);
  }
}

/** A request was malformed: a bad key, TTL, operation or body. */
export class InvalidRequestError extends MechaError {
  constructor(message: string, options: MechaErrorOptions & { code?: ErrorCode } = {}) {
    super(options.code ?? ErrorCodes.invalidRequest, message, options);
  }
}

/** A function definition (`http`, `subscribe`, `cron`, `binding`) is wrong. */
export class FunctionDefinitionError extends MechaError {
  constructor(message: string, cause?: unknown) {
    super(ErrorCodes.functionDefinition, message, { cause });
  }
}

/** Where a resiliency policy applies: `component "orders" (outbound)`, `app "billing"`. */
export interface ResiliencyTarget {
  kind: "component" | "app";
  name: string;
  direction?: "outbound" | "inbound";
}

const describeTarget = (target: ResiliencyTarget) =>
  `${target.kind} "${target.name}"${target.direction ? ` (${target.direction})` : ""}`;

/** A circuit breaker is open: the call was refused without reaching its target. */
export class CircuitOpenError extends MechaError {
  readonly target: ResiliencyTarget;
  /** The circuit breaker policy's name in the Resiliency document. */
  readonly policy: string;

  constructor(target: ResiliencyTarget, policy: string, cause?: unknown) {
    super(
      ErrorCodes.circuitOpen,
      `circuit breaker "${policy}" for ${describeTarget(target)} is open: calls fail fast until its timeout passes and a trial call succeeds`,
      { component: target.kind === "component" ? target.name : undefined, cause },
    );
    this.target = target;
    this.policy = policy;
  }
}

/** A timeout policy cut the call; whatever the call was doing may still complete. */
export class ResiliencyTimeoutError extends MechaError {
  readonly target: ResiliencyTarget;
  /** The timeout policy's name in the Resiliency document. */
  readonly policy: string;
  readonly timeoutMs: number;

  constructor(target: ResiliencyTarget, policy: string, timeoutMs: number) {
    super(ErrorCodes.resiliencyTimeout, `${describeTarget(target)} did not finish within ${timeoutMs} ms (timeout policy "${policy}")`, {
      component: target.kind === "component" ? target.name : undefined,
    });
    this.target = target;
    this.policy = policy;
    this.timeoutMs = timeoutMs;
  }
}

/**
 * The HTTP status of an error that is the caller's doing — 400 a malformed request or a feature the
 * component lacks, 403 a forbidden topic, 404 a missing object or secret, 409 a mismatched etag — or
 * undefined for a failure of a backend or of the runtime. The one classification that both HTTP
 * surfaces answer with and that resiliency policies use to leave a failure alone.
 */
export function clientFaultStatus(error: unknown): 400 | 403 | 404 | 409 | undefined {
  if (error instanceof EtagMismatchError) return 409;
  if (error instanceof NotFoundError) return 404;
  if (error instanceof ForbiddenError) return 403;
  if (error instanceof BulkStateError) {
    // The caller's fault only when every entry failed by the caller's fault; a conflict wins.
    const statuses = error.failures.map((failure) => clientFaultStatus(failure.error));
    if (statuses.some((status) => status === undefined)) return undefined;
    return statuses.includes(409) ? 409 : (statuses[0] ?? 400);
  }
  if (error instanceof InvalidRequestError || error instanceof NotSupportedError) return 400;
  return undefined;
}

/**
 * Whether trying again cannot help: the caller's fault ({@link clientFaultStatus}), or a component
 * that is misconfigured or not configured at all. Such a failure is not retried and does not count
 * toward a circuit breaker — the backend answered, or was never asked.
 */
export function isPermanentFailure(error: unknown): boolean {
  return clientFaultStatus(error) !== undefined || error instanceof ComponentConfigError || error instanceof ComponentNotFoundError;
}
