/**
 * What the bench's child processes share: the context each invocation gets (the one
 * `mecha invoke --target lambda` passes) and how a child hands its measurements back.
 */
import type { Context } from "aws-lambda";
import { lambdaContext } from "../../src/cli/lambda-events/run-handler.ts";

/** A context for one invocation of the bench function (Lambda's longest timeout, 15 min). */
export const benchContext = (): Context => lambdaContext({ functionName: "mecha-bench", region: "us-east-1", memoryMb: 1024, timeoutMs: 900_000 });

/** One `result <json>` line on stdout, read by children.ts's `runChild`. */
export function report(result: unknown): void {
  process.stdout.write(`\nresult ${JSON.stringify(result)}\n`);
}
