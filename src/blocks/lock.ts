/**
 * The distributed lock building block (Dapr's lock API, v1.0-alpha1): `tryLock` takes a lock on a
 * resource for an owner until it expires or the owner unlocks it; `unlock` releases it only for
 * the owner that holds it. A lock is not reentrant: its owner's second `tryLock` fails too.
 */
import { ComponentConfigError, ErrorCodes, InvalidRequestError, MechaError, type ErrorCode } from "../errors.ts";

export interface TryLockRequest {
  /** What to lock; any string without `||`. */
  resourceId: string;
  /** Who holds the lock; unique per holder (a request id, a process id). */
  lockOwner: string;
  /** How long the lock lasts unless unlocked: a whole number of seconds > 0. */
  expiryInSeconds: number;
}

export interface TryLockResponse {
  /** False when someone (the same owner too) already holds the lock. */
  success: boolean;
}

export interface UnlockRequest {
  resourceId: string;
  lockOwner: string;
}

/** Dapr's unlock outcomes. A store failure throws ERR_UNLOCK rather than answer INTERNAL_ERROR. */
export const UnlockStatuses = ["SUCCESS", "LOCK_DOES_NOT_EXIST", "LOCK_BELONGS_TO_OTHERS", "INTERNAL_ERROR"] as const;
export type UnlockStatus = (typeof UnlockStatuses)[number];

export interface UnlockResponse {
  status: UnlockStatus;
}

/**
 * What a lock component implements. It gets the resource id already prefixed (`lock||app||id`)
 * and a request already checked.
 */
export interface LockStoreComponent {
  /** The Dapr `spec.type`, e.g. `lock.redis`. */
  readonly type: string;
  tryLock(request: TryLockRequest): Promise<TryLockResponse>;
  unlock(request: UnlockRequest): Promise<UnlockResponse>;
  close(): Promise<void>;
}

/** `ctx.lock(name)`: a lock store as a function uses it. */
export interface LockClient {
  /**
   * Takes the lock, or answers `{ success: false }` when it is held. A malformed request throws
   * ERR_MALFORMED_REQUEST; a store failure throws ERR_TRY_LOCK.
   *
   * @example
   * const { success } = await ctx.lock("locks").tryLock({ resourceId: "order-42", lockOwner: crypto.randomUUID(), expiryInSeconds: 30 });
   */
  tryLock(request: TryLockRequest): Promise<TryLockResponse>;
  /** Releases the lock if `lockOwner` holds it; a store failure throws ERR_UNLOCK. */
  unlock(request: UnlockRequest): Promise<UnlockResponse>;
}

export interface LockClientOptions {
  /** The component's name in the resources folder. */
  name: string;
  appId: string;
  /** Dapr's `keyPrefix`: `appid` (default), `name`, `none`, or a literal (lower-cased, as Dapr does). */
  keyPrefix?: string;
  store: LockStoreComponent;
}

const separator = "||";

/**
 * Builds the `ctx.lock(name)` client around a component: checks each request and turns the
 * resource id into Dapr's lock key — `lock||<app id>||<resourceId>` by default, `lock||<name>||…`
 * with keyPrefix `name`, `lock||<resourceId>` with `none`, else `lock||<keyPrefix>||…`.
 */
export function createLockClient(options: LockClientOptions): LockClient {
  const { name, store } = options;
  const strategy = (options.keyPrefix || "appid").toLowerCase();
  if (strategy.includes(separator)) {
    throw new ComponentConfigError(`must not contain "${separator}"`, { component: name, field: "keyPrefix" });
  }
  const prefix = strategy === "none" ? undefined : strategy === "appid" ? options.appId || undefined : strategy === "name" ? name : strategy;

  const malformed = (message: string) => new InvalidRequestError(`${message} (lock store "${name}")`, { component: name });
  const lockKey = (resourceId: unknown): string => {
    if (typeof resourceId !== "string" || !resourceId) throw malformed("resourceId must be a non-empty string");
    if (resourceId.includes(separator)) throw malformed(`resourceId "${resourceId}" must not contain "${separator}"`);
    return ["lock", prefix, resourceId].filter((part) => part !== undefined).join(separator);
  };
  const owner = (lockOwner: unknown): string => {
    if (typeof lockOwner !== "string" || !lockOwner) throw malformed("lockOwner must be a non-empty string");
    return lockOwner;
  };

  /** A store failure, with the stable code of its operation and the backend's code in words. */
  const translate = <R>(pending: Promise<R>, code: ErrorCode, what: string): Promise<R> =>
    pending.catch((error: unknown) => {
      if (error instanceof MechaError) throw error;
      const reason = (error as { code?: unknown })?.code ?? (error as Error)?.name ?? "error";
      throw new MechaError(code, `${what} on lock store "${name}" (${store.type}) failed: ${String(reason)}`, { component: name, cause: error });
    });

  return {
    async tryLock(request) {
      const resourceId = lockKey(request?.resourceId);
      const lockOwner = owner(request.lockOwner);
      const { expiryInSeconds } = request;
      if (typeof expiryInSeconds !== "number" || !Number.isSafeInteger(expiryInSeconds) || expiryInSeconds < 1) {
        throw malformed(`expiryInSeconds must be a whole number of seconds > 0; got ${JSON.stringify(expiryInSeconds)}`);
      }
      const { success } = await translate(store.tryLock({ resourceId, lockOwner, expiryInSeconds }), ErrorCodes.tryLock, `tryLock "${request.resourceId}"`);
      return { success };
    },

    async unlock(request) {
      const resourceId = lockKey(request?.resourceId);
      const lockOwner = owner(request.lockOwner);
      const { status } = await translate(store.unlock({ resourceId, lockOwner }), ErrorCodes.unlock, `unlock "${request.resourceId}"`);
      return { status };
    },
  };
}
