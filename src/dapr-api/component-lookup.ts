/**
 * Which component a request names, checked against the app's resources before anything is
 * created, with Dapr's answer per block when there is none: each building block has its own
 * "not configured" (no component of the block at all) and "not found" (no component by that name).
 *
 * The codes are Dapr's. The statuses are Dapr's for "not found"; for "not configured" Dapr answers
 * 500 (state, secrets, lock), which would make a caller's wrong name look like a server failure, so
 * mecha answers it with the block's "not found" status.
 */
import type { Block } from "../components/types.ts";
import type { Runtime } from "../core/runtime.ts";
import { DaprApiError, DaprErrorCodes } from "./errors.ts";

type Answer = { status: number; code: string; message: (name: string) => string };

const answers: Partial<Record<Block, { notConfigured: Answer; notFound: Answer }>> = {
  state: {
    notConfigured: { status: 400, code: DaprErrorCodes.stateStoreNotConfigured, message: (name) => `state store ${name} is not configured` },
    notFound: { status: 400, code: DaprErrorCodes.stateStoreNotFound, message: (name) => `state store ${name} is not found` },
  },
  pubsub: {
    notConfigured: { status: 400, code: DaprErrorCodes.pubsubNotConfigured, message: () => "pubsub is not configured" },
    notFound: { status: 404, code: DaprErrorCodes.pubsubNotFound, message: (name) => `pubsub ${name} not found` },
  },
  bindings: {
    // Dapr answers 500 for both; an unknown name is the caller's mistake, so mecha answers 404.
    notConfigured: { status: 404, code: DaprErrorCodes.invokeOutputBinding, message: (name) => `couldn't find output binding ${name}: no bindings are configured` },
    notFound: { status: 404, code: DaprErrorCodes.invokeOutputBinding, message: (name) => `couldn't find output binding ${name}` },
  },
  secretstores: {
    notConfigured: { status: 401, code: DaprErrorCodes.secretStoresNotConfigured, message: () => "secret store is not configured" },
    notFound: { status: 401, code: DaprErrorCodes.secretStoreNotFound, message: (name) => `failed finding secret store with key ${name}` },
  },
  lock: {
    notConfigured: { status: 400, code: DaprErrorCodes.lockStoreNotConfigured, message: (name) => `lock store ${name} is not configured` },
    notFound: { status: 400, code: DaprErrorCodes.lockStoreNotFound, message: (name) => `lock store ${name} not found` },
  },
};

export interface ComponentLookup {
  /** Throws Dapr's error unless `name` is a component of `block` this app may use. */
  require(block: Block, name: string): void;
}

export function createComponentLookup(runtime: Runtime): ComponentLookup {
  // Components are fixed for the life of a runtime: one map, read per request.
  const blockOf = new Map(runtime.components.map((c) => [c.name, c.block] as const));
  const configured = new Set(blockOf.values());
  return {
    require(block, name) {
      if (blockOf.get(name) === block) return;
      const answer = answers[block]?.[configured.has(block) ? "notFound" : "notConfigured"];
      if (!answer) throw new DaprApiError(404, DaprErrorCodes.notFound, `no ${block} component named ${name}`);
      throw new DaprApiError(answer.status, answer.code, answer.message(name));
    },
  };
}
