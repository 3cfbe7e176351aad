/**
 * Outbound policies on a component instance: its data calls (state get/set/delete/getBulk/
 * transaction, publish, binding invoke, secret get/bulkGet, tryLock/unlock) run through the
 * component's executor; its lifecycle calls (subscribe, start, close) do not — a subscription or
 * an input binding is not a call to retry, and close must never fail fast.
 *
 * Two kinds of failure are not retried:
 * - a client's mistake, which a second attempt would repeat (an etag mismatch, a bad key or TTL,
 *   an unsupported feature, an unknown binding operation); it does not count toward opening the
 *   circuit either, since the backend answered;
 * - a write whose outcome is unknown — the component sent it and got no answer (it marks the error
 *   `outcomeUnknown: true`, or with the ETIMEDOUT code of a Redis command that got no reply), or
 *   the timeout policy cut it — unless sending it again cannot change its answer: a read, a state
 *   write or delete without an etag or first-write, a publish (delivery is at-least-once anyway).
 *   An etag write resent after it applied would report a mismatch against its own write; a lock
 *   taken twice would report the lock as held by someone else.
 */
import type { Block } from "../components/types.ts";
import { isPermanentFailure, ResiliencyTimeoutError } from "../errors.ts";
import type { ExecuteOptions, ResiliencyExecutor } from "./resiliency-policy.ts";

/**
 * Whether a component reported that it cannot tell if the call took effect: the error (or one of
 * its causes) has `outcomeUnknown: true`, is a Redis-style ETIMEDOUT, or is a resiliency timeout.
 */
export function isOutcomeUnknown(error: unknown): boolean {
  for (let current = error, depth = 0; current && depth < 8; current = (current as { cause?: unknown }).cause, depth++) {
    if (current instanceof ResiliencyTimeoutError) return true;
    const marked = current as { outcomeUnknown?: unknown; code?: unknown };
    if (marked.outcomeUnknown === true || marked.code === "ETIMEDOUT") return true;
  }
  return false;
}

const countsAsFailure = (error: unknown) => !isPermanentFailure(error);

/** For calls that may be sent again whatever happened to the first attempt. */
const resendable: ExecuteOptions = Object.freeze({ retryable: countsAsFailure, countsAsFailure });
/** For writes that may be sent again only when the first attempt surely did not apply. */
const onceUnlessFailed: ExecuteOptions = Object.freeze({
  retryable: (error: unknown) => !isPermanentFailure(error) && !isOutcomeUnknown(error),
  countsAsFailure,
});

type Resend = (args: readonly unknown[]) => boolean;
const always: Resend = () => true;
const never: Resend = () => false;
/** A state write whose answer does not depend on what is stored: no etag, not first-write. */
const blind = (request: unknown): boolean => {
  const { etag, concurrency } = (request ?? {}) as { etag?: unknown; concurrency?: unknown };
  return etag === undefined && concurrency !== "first-write";
};

/** The data calls of each block, and whether each may be resent after an unknown outcome. */
const outboundCalls: Readonly<Record<string, Readonly<Record<string, Resend>>>> = {
  state: {
    get: always,
    getBulk: always,
    set: ([request]) => blind(request),
    delete: ([request]) => blind(request),
    transaction: ([operations]) => Array.isArray(operations) && operations.every(blind),
  },
  pubsub: { publish: always },
  bindings: { invoke: ([request]) => ["get", "list"].includes((request as { operation?: string })?.operation ?? "") },
  secretstores: { get: always, bulkGet: always },
  lock: { tryLock: never, unlock: never },
};

/**
 * The component with its data calls run through `executor`; the component itself when the
 * executor is the pass-through or the block has no such calls (so a target without policies
 * costs nothing per call).
 * @example
 * const store = withOutboundPolicy(created, "state", resiliency.forComponent("orders", "state", "outbound"));
 */
export function withOutboundPolicy<C extends object>(component: C, block: Block, executor: ResiliencyExecutor): C {
  const calls = outboundCalls[block];
  if (!executor.active || !calls) return component;
  const wrapped = new Map<PropertyKey, unknown>();
  for (const [name, resend] of Object.entries(calls)) {
    const original = (component as Record<string, unknown>)[name];
    if (typeof original !== "function") continue; // optional calls (getBulk, invoke) stay absent
    wrapped.set(name, (...args: unknown[]) =>
      executor.execute(() => original.apply(component, args) as Promise<unknown>, resend(args) ? resendable : onceUnlessFailed),
    );
  }
  if (!wrapped.size) return component;
  // Everything else reads through, with methods bound to the component, so nothing a component
  // keeps to itself (private fields, getters) notices the wrapper.
  const bound = new Map<PropertyKey, unknown>();
  return new Proxy(component, {
    get(target, property) {
      if (wrapped.has(property)) return wrapped.get(property);
      const value: unknown = Reflect.get(target, property, target);
      if (typeof value !== "function") return value;
      let method = bound.get(property);
      if (!method) bound.set(property, (method = value.bind(target)));
      return method;
    },
  });
}
