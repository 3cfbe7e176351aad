/**
 * The conformance suite's other half: what a store that declares fewer features gets. No real
 * component here lacks a state feature yet, so the in-memory store is wrapped to declare less;
 * the client must then refuse the undeclared features itself, with NotSupportedError.
 */
import { create } from "../../src/components/state/in-memory.ts";
import type { StateFeature, StateStoreComponent } from "../../src/blocks/state.ts";
import { ComponentMetadata } from "../../src/config/metadata.ts";
import { describeStateConformance } from "../conformance/state-suite.ts";

/** The in-memory store, declaring only `features` (and without transaction() unless declared). */
function declaringOnly(features: readonly StateFeature[]): StateStoreComponent {
  const inner = create({ name: "limited", appId: "unit", baseDir: ".", metadata: new ComponentMetadata({}, "limited") });
  return {
    type: "state.limited",
    features,
    get: (key) => inner.get(key),
    set: (request) => inner.set(request),
    delete: (request) => inner.delete(request),
    transaction: features.includes("transactional") ? (operations) => inner.transaction!(operations) : undefined,
    close: () => inner.close(),
  };
}

describeStateConformance("a store declaring no features", async () => ({ store: declaringOnly([]) }));

describeStateConformance("a store declaring only etag", async () => ({ store: declaringOnly(["etag"]) }));
