/**
 * One target's resolved policies (a timeout, a retry, a circuit breaker) as cockatiel policies,
 * nested the way Dapr nests them (pkg/resiliency/policy.go): retry( breaker( timeout( call ) ) ).
 * Each attempt has its own timeout; the breaker counts each attempt; an open breaker stops the
 * retries at once. cockatiel is imported on the first call of the first active target, so an app
 * with no Resiliency never loads it.
 */
import type * as Cockatiel from "cockatiel";
import type { TripFunction } from "../config/parse-resiliency.ts";
import type { CircuitBreakerSpec, RetryPolicySpec } from "../config/types.ts";
import { CircuitOpenError, ResiliencyTimeoutError, type ResiliencyTarget } from "../errors.ts";
import type { Logger } from "./logger.ts";

/** What applies to one target, after Dapr's named-then-default resolution. */
export interface ResolvedPolicies {
  target: ResiliencyTarget;
  timeout?: { name: string; ms: number };
  retry?: { name: string; spec: RetryPolicySpec };
  circuitBreaker?: { name: string; spec: CircuitBreakerSpec };
}

/** How one call's failures are treated. Both default to "yes" (every failure). */
export interface ExecuteOptions {
  /** Whether a retry may run the call again after this failure. */
  retryable?(error: unknown): boolean;
  /** Whether this failure counts toward opening the circuit breaker. */
  countsAsFailure?(error: unknown): boolean;
  /**
   * The caller's signal: once it aborts, no further attempt starts, the wait between attempts ends,
   * the failure does not count toward the breaker, and the call rejects with what the attempt threw.
   */
  signal?: AbortSignal;
}

/** Runs calls under a target's policies. */
export interface ResiliencyExecutor {
  /** False for the pass-through used when no policy applies: callers may skip wrapping entirely. */
  readonly active: boolean;
  /** The policies that apply, for logs and tests; absent on the pass-through. */
  readonly policies?: ResolvedPolicies;
  /**
   * Runs `fn` under the policies. `signal` aborts when a timeout policy cuts the attempt.
   * @throws the last failure; CircuitOpenError (ERR_RESILIENCY_CIRCUIT_OPEN) when the breaker
   *   is open; ResiliencyTimeoutError (ERR_RESILIENCY_TIMEOUT) when the last attempt timed out
   */
  execute<T>(fn: (signal: AbortSignal) => Promise<T>, options?: ExecuteOptions): Promise<T>;
}

let neverAbortedSignal: AbortSignal | undefined;
/**
 * The signal handed to calls that no timeout can cut. Made on first use: workerd refuses to run a
 * Worker that creates an AbortController while its modules load.
 */
export const neverAborted = (): AbortSignal => (neverAbortedSignal ??= new AbortController().signal);

/** The executor of a target no policy applies to: one call, nothing allocated around it. */
export const passThrough: ResiliencyExecutor = Object.freeze({
  active: false,
  execute: <T>(fn: (signal: AbortSignal) => Promise<T>): Promise<T> => fn(neverAborted()),
});

/** What building policies needs, loaded once per Resiliency. */
export interface PolicyTools {
  cockatiel: typeof Cockatiel;
  /** Aborts when the app stops: retries end, so shutdown is not held up by a retry loop. */
  stopped: AbortSignal;
  /** Parsed `trip` expressions, by their text. */
  trips: ReadonlyMap<string, TripFunction>;
  logger: Logger;
}

type Runner = <T>(fn: (signal: AbortSignal) => Promise<T>, options: ExecuteOptions) => Promise<T>;

/** An executor whose cockatiel policies are built on its first call and kept (the breaker's state with them). */
export class PolicyExecutor implements ResiliencyExecutor {
  readonly active = true;
  readonly policies: ResolvedPolicies;
  readonly #tools: () => Promise<PolicyTools>;
  readonly #defaults: ExecuteOptions;
  #run: Runner | undefined;
  #building: Promise<Runner> | undefined;

  constructor(policies: ResolvedPolicies, tools: () => Promise<PolicyTools>, defaults: ExecuteOptions = {}) {
    this.policies = policies;
    this.#tools = tools;
    this.#defaults = defaults;
  }

  execute<T>(fn: (signal: AbortSignal) => Promise<T>, options?: ExecuteOptions): Promise<T> {
    const merged = options ? { ...this.#defaults, ...options } : this.#defaults;
    const run = this.#run;
    if (run) return run(fn, merged);
    this.#building ??= this.#tools().then((tools) => (this.#run = buildRunner(this.policies, tools)));
    return this.#building.then((built) => built(fn, merged));
  }
}

/**
 * A failure the outer policies must pass on as it is: never retried, and counted by the breaker
 * only when `counts`. Unwrapped before it reaches the caller.
 */
class Settled {
  constructor(
    readonly error: unknown,
    readonly counts: boolean,
  ) {}
}

function buildRunner(policies: ResolvedPolicies, tools: PolicyTools): Runner {
  let run: Runner = attemptLayer(policies, tools.cockatiel);
  if (policies.circuitBreaker) run = breakerLayer(policies, policies.circuitBreaker, tools, run);
  if (policies.retry) run = retryLayer(policies.retry.spec, tools.cockatiel, run);
  const outer = run;
  const { stopped } = tools;
  return (fn, options) => {
    const signal = options.signal ? AbortSignal.any([options.signal, stopped]) : stopped;
    return outer(fn, { ...options, signal }).catch((error: unknown) => {
      if (error instanceof Settled) return Promise.reject(error.error);
      // A wait between attempts that the signal ended: the call ends with the signal's reason.
      if (signal.aborted && error instanceof tools.cockatiel.TaskCancelledError) return Promise.reject(signal.reason);
      return Promise.reject(error);
    });
  };
}

/** One attempt, cut by the timeout if there is one, its failure classified for the outer layers. */
function attemptLayer(policies: ResolvedPolicies, c: typeof Cockatiel): Runner {
  const { timeout: limit, target } = policies;
  // Aggressive: like Dapr, the caller gets the timeout at once, even if the call ignores its signal.
  const timeout = limit ? c.timeout(limit.ms, { strategy: c.TimeoutStrategy.Aggressive, abortOnReturn: false }) : undefined;
  return async (fn, options) => {
    const { signal } = options;
    // A call the caller gave up on (or an app that is stopping) is not attempted again, and its
    // failure says nothing about the target's health.
    if (signal?.aborted) throw new Settled(signal.reason, false);
    try {
      return timeout ? await timeout.execute(({ signal: cut }) => fn(cut), signal) : await fn(signal ?? neverAborted());
    } catch (raw) {
      // The caller's abort (or the app stopping) ends the call with its reason, as fetch does.
      if (signal?.aborted) throw new Settled(signal.reason ?? raw, false);
      const error = limit && raw instanceof c.TaskCancelledError ? new ResiliencyTimeoutError(target, limit.name, limit.ms) : raw;
      const counts = options.countsAsFailure?.(error) ?? true;
      if (!counts || !(options.retryable?.(error) ?? true)) throw new Settled(error, counts);
      throw error;
    }
  };
}

function breakerLayer(
  policies: ResolvedPolicies,
  policy: NonNullable<ResolvedPolicies["circuitBreaker"]>,
  tools: PolicyTools,
  inner: Runner,
): Runner {
  const { cockatiel: c, logger } = tools;
  const trip = tools.trips.get(policy.spec.trip);
  if (!trip) throw new Error(`circuit breaker "${policy.name}": its trip expression was not validated`);
  const breaker = c.circuitBreaker(
    c.handleWhen((error) => !(error instanceof Settled) || error.counts),
    { halfOpenAfter: policy.spec.timeoutMs, breaker: new CountsBreaker(trip, policy.spec.intervalMs, c.CircuitState.HalfOpen) },
  );
  const where = { policy: policy.name, [policies.target.kind]: policies.target.name, direction: policies.target.direction };
  breaker.onBreak(() => logger.warn(`circuit breaker "${policy.name}" opened: calls fail fast for ${policy.spec.timeoutMs} ms`, where));
  breaker.onReset(() => logger.info(`circuit breaker "${policy.name}" closed again`, where));
  return async (fn, options) => {
    try {
      return await breaker.execute(() => inner(fn, options));
    } catch (error) {
      if (error instanceof c.BrokenCircuitError) throw new Settled(new CircuitOpenError(policies.target, policy.name), false);
      throw error;
    }
  };
}

function retryLayer(spec: RetryPolicySpec, c: typeof Cockatiel, inner: Runner): Runner {
  const retry = c.retry(c.handleWhen((error) => !(error instanceof Settled)), {
    maxAttempts: spec.maxRetries < 0 ? Infinity : spec.maxRetries,
    backoff: spec.policy === "constant" ? new c.ConstantBackoff(spec.durationMs) : exponentialBackoff(spec, c),
  });
  return (fn, options) => retry.execute(() => inner(fn, options), options.signal);
}

/** Dapr's exponential back-off (cenkalti/backoff defaults): from 500 ms, ×1.5, ±50 % jitter, at most 15 min in all. */
const exponential = { initialMs: 500, multiplier: 1.5, randomization: 0.5, maxElapsedMs: 15 * 60_000 };

function exponentialBackoff(spec: RetryPolicySpec, c: typeof Cockatiel): Cockatiel.IBackoffFactory<Cockatiel.IRetryBackoffContext<unknown>> {
  return new c.DelegateBackoff<Cockatiel.IRetryBackoffContext<unknown>, { intervalMs: number; startedAt: number }>((context, state) => {
    const now = Date.now();
    // The first wait is capped by maxInterval too, so a short maxInterval means short waits throughout.
    const { intervalMs, startedAt } = state ?? { intervalMs: Math.min(exponential.initialMs, spec.maxIntervalMs), startedAt: now };
    const delta = exponential.randomization * intervalMs;
    const delay = intervalMs - delta + Math.random() * 2 * delta;
    if (now - startedAt + delay > exponential.maxElapsedMs) {
      // cenkalti's Stop: give up with the last failure.
      throw "error" in context.result ? context.result.error : new Error("retries exhausted");
    }
    const next = intervalMs >= spec.maxIntervalMs / exponential.multiplier ? spec.maxIntervalMs : intervalMs * exponential.multiplier;
    return { delay, state: { intervalMs: next, startedAt } };
  });
}

type Counts = { [K in "requests" | "totalSuccesses" | "totalFailures" | "consecutiveSuccesses" | "consecutiveFailures"]: number };
const zeroCounts = (): Counts => ({ requests: 0, totalSuccesses: 0, totalFailures: 0, consecutiveSuccesses: 0, consecutiveFailures: 0 });

/**
 * gobreaker's counts, as Dapr's `trip` expressions read them: kept while the circuit is closed,
 * cleared every `interval` (if set) and whenever the state changes. A trip that fails to evaluate
 * does not open the circuit (Dapr: "we cannot assume it is safe to trip").
 */
class CountsBreaker implements Cockatiel.IBreaker {
  #counts = zeroCounts();
  #windowEndsAt = 0;
  readonly #trip: TripFunction;
  readonly #intervalMs: number;
  readonly #halfOpen: Cockatiel.CircuitState;

  constructor(trip: TripFunction, intervalMs: number, halfOpen: Cockatiel.CircuitState) {
    this.#trip = trip;
    this.#intervalMs = intervalMs;
    this.#halfOpen = halfOpen;
  }

  get state(): unknown {
    return { ...this.#counts };
  }

  set state(value: unknown) {
    this.#counts = { ...zeroCounts(), ...(value as Partial<Counts>) };
  }

  success(state: Cockatiel.CircuitState): void {
    if (state === this.#halfOpen) return this.#clear(); // the trial passed: the circuit closes afresh
    const counts = this.#current();
    counts.requests++;
    counts.totalSuccesses++;
    counts.consecutiveSuccesses++;
    counts.consecutiveFailures = 0;
  }

  failure(state: Cockatiel.CircuitState): boolean {
    if (state === this.#halfOpen) {
      this.#clear();
      return true;
    }
    const counts = this.#current();
    counts.requests++;
    counts.totalFailures++;
    counts.consecutiveFailures++;
    counts.consecutiveSuccesses = 0;
    let open = false;
    try {
      open = this.#trip(Object.fromEntries(Object.entries(counts).map(([k, v]) => [k, BigInt(v)])) as Parameters<TripFunction>[0]) === true;
    } catch {
      open = false;
    }
    if (open) this.#clear();
    return open;
  }

  #current(): Counts {
    if (this.#intervalMs > 0) {
      const now = Date.now();
      if (now >= this.#windowEndsAt) {
        this.#counts = zeroCounts();
        this.#windowEndsAt = now + this.#intervalMs;
      }
    }
    return this.#counts;
  }

  #clear(): void {
    this.#counts = zeroCounts();
    this.#windowEndsAt = this.#intervalMs > 0 ? Date.now() + this.#intervalMs : 0;
  }
}
