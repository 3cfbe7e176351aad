/**
 * The Dapr API's error answers: Dapr's status and `{ errorCode, message }` body. Handlers throw a
 * {@link DaprApiError} for what they check themselves; whatever else a call throws is mapped here
 * once, so every route answers a failure the same way.
 */
import { HTTPException } from "hono/http-exception";
import { clientFaultStatus, ErrorCodes, ForbiddenError, MechaError } from "../errors.ts";

/** Dapr's error codes the API answers with, beyond the ones in src/errors.ts. */
export const DaprErrorCodes = {
  malformedRequest: ErrorCodes.invalidRequest,
  stateStoreNotFound: "ERR_STATE_STORE_NOT_FOUND",
  stateStoreNotConfigured: "ERR_STATE_STORE_NOT_CONFIGURED",
  stateStoreNotSupported: "ERR_STATE_STORE_NOT_SUPPORTED",
  stateGet: ErrorCodes.stateGet,
  stateBulkGet: "ERR_STATE_BULK_GET",
  stateSave: ErrorCodes.stateSave,
  stateDelete: ErrorCodes.stateDelete,
  stateTransaction: ErrorCodes.stateTransaction,
  notSupportedStateOperation: "ERR_NOT_SUPPORTED_STATE_OPERATION",
  pubsubNotFound: "ERR_PUBSUB_NOT_FOUND",
  pubsubNotConfigured: "ERR_PUBSUB_NOT_CONFIGURED",
  topicEmpty: "ERR_TOPIC_EMPTY",
  pubsubPublish: ErrorCodes.publish,
  pubsubCloudEvents: "ERR_PUBSUB_CLOUD_EVENTS_SER",
  pubsubEvents: "ERR_PUBSUB_EVENTS_SER",
  pubsubForbidden: "ERR_PUBSUB_FORBIDDEN",
  invokeOutputBinding: ErrorCodes.bindingInvoke,
  secretStoreNotFound: "ERR_SECRET_STORE_NOT_FOUND",
  secretStoresNotConfigured: "ERR_SECRET_STORES_NOT_CONFIGURED",
  secretGet: ErrorCodes.secretGet,
  lockStoreNotFound: "ERR_LOCK_STORE_NOT_FOUND",
  lockStoreNotConfigured: "ERR_LOCK_STORE_NOT_CONFIGURED",
  tryLock: ErrorCodes.tryLock,
  unlock: ErrorCodes.unlock,
  apiTokenInvalid: "ERR_API_TOKEN_INVALID",
  requestTooLarge: "ERR_REQUEST_TOO_LARGE",
  notFound: "ERR_NOT_FOUND",
  internal: "ERR_INTERNAL",
} as const;

/** A failure the API answers with this status and code; `message` is shown to the client. */
export class DaprApiError extends Error {
  readonly status: number;
  readonly errorCode: string;

  constructor(status: number, errorCode: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "DaprApiError";
    this.status = status;
    this.errorCode = errorCode;
  }
}

export const malformed = (message: string) => new DaprApiError(400, DaprErrorCodes.malformedRequest, message);

/**
 * What a call threw, as an answer: `code` is the operation's Dapr code (ERR_STATE_SAVE, …).
 * Client faults (an etag mismatch, a bad key or TTL, an operation the component does not have)
 * are 4xx — where Dapr answers some of them with 500, a client could not tell its own mistake
 * from an outage. A MechaError's message is safe to show (it never carries a secret or a backend's
 * text); anything else is `internal: true`, and its detail goes only to the log.
 */
export function toDaprApiError(error: unknown, code: string): DaprApiError & { internal?: boolean } {
  if (error instanceof DaprApiError) return error;
  if (error instanceof HTTPException && error.status === 413) {
    return new DaprApiError(413, DaprErrorCodes.requestTooLarge, error.message || "request body is too large");
  }
  const status = clientFaultStatus(error);
  if (status !== undefined) {
    const mecha = error as MechaError;
    // A malformed request has Dapr's own code; a forbidden topic keeps ERR_PUBSUB_FORBIDDEN; any
    // other fault is answered with the operation's code, as daprd does.
    const errorCode =
      mecha.code === ErrorCodes.invalidKey || mecha.code === ErrorCodes.invalidRequest ? DaprErrorCodes.malformedRequest : error instanceof ForbiddenError ? mecha.code : code;
    return new DaprApiError(status, errorCode, mecha.message, { cause: error });
  }
  if (error instanceof MechaError) return new DaprApiError(500, code, error.message, { cause: error });
  return Object.assign(new DaprApiError(500, code, "the call failed", { cause: error }), { internal: true });
}
