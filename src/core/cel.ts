/**
 * Where the core gets its CEL engine (@marcbachmann/cel-js) — for routing rules and circuit-breaker
 * trips — without naming the package: a bundler follows every import it sees, and an app with no
 * CEL must not carry the engine. Whoever may load it hands it over once with
 * {@link provideCelEngine}: `src/core/cel-engine.ts`, which the config loader imports on Node and a
 * build's entry imports only for an app that uses CEL.
 */
type CelModule = typeof import("@marcbachmann/cel-js");

let load: (() => Promise<CelModule>) | undefined;
let generation = 0;

/** Hands over the engine, to be loaded on first use: `provideCelEngine(() => import("@marcbachmann/cel-js"))`. */
export function provideCelEngine(loader: () => Promise<unknown>): void {
  load = loader as () => Promise<CelModule>;
  generation++;
}

/** Changes each time an engine is provided: what is built from an earlier engine is stale. */
export const celEngineGeneration = (): number => generation;

/** The engine; rejects when none was provided to this process (a bundle built without it). */
export function loadCelEngine(): Promise<CelModule> {
  return load ? load() : Promise.reject(new Error("no CEL engine was provided to this process"));
}
