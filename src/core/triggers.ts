/**
 * Runs a `cron` or `binding` function for one trigger, on every platform: a Context of its own,
 * the work it hands to `waitUntil` finished as part of the run (or handed to the platform's own
 * waitUntil on Workers), and — for an input binding — the binding component's inbound resiliency
 * policies around it, as Dapr applies them to input bindings. Adapters only say when to run.
 */
import type { App } from "./app.ts";
import type { InvocationContext } from "./invocation-context.ts";

/** The outcome of one run: `ok`, or the error the function (or its waitUntil work) failed with. */
export type TriggerOutcome = { ok: true } | { ok: false; error: unknown };

export interface TriggerRequest {
  /** The function's id (`<module>.<export>`), for the log. */
  id: string;
  /** The input binding that fired it; its inbound policies apply. None for a `cron` function. */
  binding?: string;
  /** The platform's waitUntil (Workers): background work goes there instead of being awaited. */
  waitUntil?: (promise: Promise<unknown>) => void;
  run: (ctx: InvocationContext) => unknown;
}

/** Runs the function; never rejects. A failure is logged and answered as the outcome. */
export async function runTrigger(app: App, request: TriggerRequest): Promise<TriggerOutcome> {
  const policies = request.binding === undefined ? undefined : app.runtime.resiliency.forComponent(request.binding, "bindings", "inbound");
  if (!policies?.active) {
    const outcome = await attempt(app, request);
    return outcome.ok ? outcome : failed(app, request, outcome.error);
  }
  // Each attempt is a fresh run with a fresh context; retries run in-process before the outcome.
  try {
    await policies.execute(async () => {
      const outcome = await attempt(app, request);
      if (!outcome.ok) throw outcome.error;
    });
    return { ok: true };
  } catch (error) {
    return failed(app, request, error);
  }
}

async function attempt(app: App, request: TriggerRequest): Promise<TriggerOutcome> {
  const tasks: Promise<unknown>[] = [];
  const ctx = app.runtime.createContext({ waitUntil: request.waitUntil ?? ((promise) => void tasks.push(promise)) });
  let outcome: TriggerOutcome = { ok: true };
  try {
    await request.run(ctx);
  } catch (error) {
    outcome = { ok: false, error };
  }
  // Even after a failure: work already handed to waitUntil must not be cut off half-done (Lambda
  // freezes the process once the handler answers).
  if (tasks.length) {
    const rejected = (await Promise.allSettled(tasks)).find((task): task is PromiseRejectedResult => task.status === "rejected");
    if (outcome.ok && rejected) outcome = { ok: false, error: rejected.reason };
  }
  return outcome;
}

function failed(app: App, request: TriggerRequest, error: unknown): TriggerOutcome {
  app.runtime.logger.error(`function ${request.id} failed`, { error, ...(request.binding ? { binding: request.binding } : {}) });
  return { ok: false, error };
}
