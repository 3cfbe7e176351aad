/**
 * Whether a bundle must carry the CEL engine: only an app with CEL routing rules or with circuit
 * breakers (whose `trip` is CEL) does. Its entry then imports src/core/cel-engine.ts.
 */
import { hasCircuitBreakers, resilienciesInScope } from "../config/parse-resiliency.ts";
import { usesCelRules } from "../core/routing-rules.ts";
import type { LoadedApp } from "./load-app.ts";

export function usesCel(loaded: LoadedApp): boolean {
  return usesCelRules(loaded.app.subscriptions) || hasCircuitBreakers(resilienciesInScope(loaded.resources.resiliencies, loaded.app.appId));
}
