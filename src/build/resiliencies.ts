/**
 * The Resiliency documents a bundle embeds: those in scope for the app, already validated when the
 * resources folder was loaded (references and CEL trips), so the bundle never parses YAML and its
 * Runtime applies the same policies as `mecha dev`.
 */
import { resilienciesInScope } from "../config/parse-resiliency.ts";
import type { Resources } from "../config/types.ts";
import type { LoadedApp } from "./load-app.ts";

/** `{ resiliencies }` for the embedded Resources, or nothing when none applies (the JSON stays as it was). */
export function embeddedResiliencies(loaded: LoadedApp): Pick<Resources, "resiliencies"> {
  const resiliencies = resilienciesInScope(loaded.resources.resiliencies, loaded.app.appId);
  return resiliencies.length ? { resiliencies } : {};
}
