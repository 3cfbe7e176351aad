/**
 * Runs a `cron` or `binding` function for one Lambda trigger, with a Context of its own. Lambda
 * freezes the process once the handler answers, so the work a function hands to `waitUntil` is
 * finished before that — it is part of the invocation.
 */
import type { App } from "../../src/core/app.ts";
import type { InvocationContext } from "../../src/core/invocation-context.ts";

/** The outcome of one run: `ok`, or the error the function (or its waitUntil work) failed with. */
export type TriggerOutcome = { ok: true } | { ok: false; error: unknown };

/** Runs the function and its waitUntil work to the end; never rejects. */
export async function runTrigger(app: App, id: string, run: (ctx: InvocationContext) => unknown): Promise<TriggerOutcome> {
  const tasks: Promise<unknown>[] = [];
  const ctx = app.runtime.createContext({ waitUntil: (promise) => void tasks.push(promise) });
  let outcome: TriggerOutcome = { ok: true };
  try {
    await run(ctx);
  } catch (error) {
    outcome = { ok: false, error };
  }
  // Even after a failure: work already handed to waitUntil must not be frozen half-done.
  const rejected = (await Promise.allSettled(tasks)).find((task): task is PromiseRejectedResult => task.status === "rejected");
  if (outcome.ok && rejected) outcome = { ok: false, error: rejected.reason };
  if (!outcome.ok) ctx.log.error(`function ${id} failed`, { error: outcome.error });
  return outcome;
}
