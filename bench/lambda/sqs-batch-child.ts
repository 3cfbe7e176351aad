/**
 * Run in its own `node` per side: imports a Lambda bundle and sends it the same SQS batches
 * again and again, after a warm-up, timing each call. Every call must run the no-op handler once
 * per record and report no failures, or the child fails.
 *
 * Usage: node sqs-batch-child.mjs <index.mjs> <batches.json> <budget-ms>
 *   batches.json: an array of SQS events; each is timed for about budget-ms.
 */
import { readFileSync } from "node:fs";
import { pathToFileURL } from "node:url";
import type { SQSBatchResponse, SQSEvent } from "aws-lambda";
import type { LambdaHandlerFunction } from "../../src/cli/lambda-events/run-handler.ts";
import { benchContext, report } from "./child-report.ts";
import { noopCalls } from "./noop-counter.ts";

const [bundle, batchesFile, budget] = process.argv.slice(2) as [string, string, string];
const batches = JSON.parse(readFileSync(batchesFile, "utf8")) as SQSEvent[];
const budgetMs = Number(budget);
const { handler } = (await import(pathToFileURL(bundle).href)) as { handler: LambdaHandlerFunction };

/** One invocation, checked: every record handled once, none failed. */
async function invoke(event: SQSEvent): Promise<number> {
  const callsBefore = noopCalls();
  const started = performance.now();
  const answer = (await handler(event, benchContext())) as SQSBatchResponse;
  const elapsed = performance.now() - started;
  const calls = noopCalls() - callsBefore;
  if (calls !== event.Records.length || answer?.batchItemFailures?.length !== 0) {
    throw new Error(`${bundle}: ${event.Records.length} records ran the handler ${calls} times and answered ${JSON.stringify(answer).slice(0, 300)}`);
  }
  return elapsed;
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
const results: Array<{ records: number; medianMs: number; calls: number }> = [];
for (const event of batches) {
  // Warm-up: the first calls load and compile what the timed ones will run.
  for (const until = performance.now() + budgetMs / 4; performance.now() < until; ) await invoke(event);
  const times: number[] = [];
  for (const until = performance.now() + budgetMs; performance.now() < until || times.length < 5; ) times.push(await invoke(event));
  results.push({ records: event.Records.length, medianMs: median(times), calls: times.length });
}
report(results);
