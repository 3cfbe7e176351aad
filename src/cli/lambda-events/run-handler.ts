/**
 * A built Lambda handler run in this process, the way the Lambda runtime runs it: one event, a
 * real-shaped context whose `getRemainingTimeInMillis` counts down from the function's timeout,
 * and an answer by the deadline or a timeout. What the function logs goes to `logs` (stderr),
 * as `sam local invoke` does, so that stdout carries only the result.
 *
 * The outcome is data — returned, threw or timed out — for the command to print; only a bundle
 * that cannot be loaded is an error.
 */
import { stat } from "node:fs/promises";
import { pathToFileURL } from "node:url";
import { format } from "node:util";
import type { Context } from "aws-lambda";
import { CliError } from "../errors.ts";
import { freshId, randomHex, sampleAccount } from "./sample-values.ts";

/**
 * Where `mecha build --target lambda` writes the handler, from the project root:
 * `<out>/<codeFolder>/index.mjs` with the build's defaults (src/build/lambda/build.ts and
 * bundle.ts; the CLI does not import them, which would load esbuild to name a path).
 */
export const defaultLambdaBundle = "dist/lambda/function/index.mjs";

/** The function's settings when none are given: the build's defaults (src/build/lambda/sam-template.ts). */
export const defaultFunctionLimits = { timeoutSeconds: 30, memoryMb: 512 } as const;

/** A handler as a bundle exports it. */
export type LambdaHandlerFunction = (event: unknown, context: Context) => unknown;

/**
 * Imports a bundle and returns its `handler` export.
 * @param shown the bundle's path as the user should read it in messages
 * @throws CliError when the file is missing, fails to load or exports no handler
 */
export async function loadHandler(bundle: string, shown: string): Promise<LambdaHandlerFunction> {
  const file = await stat(bundle).catch(() => undefined);
  if (!file?.isFile()) {
    throw new CliError(`no Lambda bundle at ${shown}; run "mecha build --target lambda" first`, {
      hint: "or give the built handler's file with --bundle <file>",
    });
  }
  // The modification time in the URL: a process that rebuilds (a test, a watch loop) must not
  // get the module it imported before the rebuild from the module cache.
  const url = `${pathToFileURL(bundle).href}?mtime=${file.mtimeMs}`;
  let module: { handler?: unknown };
  try {
    module = (await import(url)) as { handler?: unknown };
  } catch (error) {
    throw new CliError(`loading the Lambda bundle ${shown} failed: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
  }
  if (typeof module.handler !== "function") {
    throw new CliError(`${shown} exports no handler function; is it a bundle from "mecha build --target lambda"?`);
  }
  return module.handler as LambdaHandlerFunction;
}

/** One invocation: the event, and the function's settings its context reports. */
export interface Invocation {
  event: unknown;
  timeoutMs: number;
  functionName: string;
  region: string;
  memoryMb: number;
  /** Where the function's console output goes while it runs. */
  logs: NodeJS.WritableStream;
}

/** How an invocation ended. */
export type InvocationOutcome = { requestId: string; durationMs: number } & (
  | { status: "returned"; result: unknown }
  | { status: "threw"; error: unknown }
  | { status: "timed-out"; timeoutMs: number }
);

/** Invokes the handler once and waits for its answer, at most the function's timeout. */
export async function invokeHandler(handler: LambdaHandlerFunction, invocation: Invocation): Promise<InvocationOutcome> {
  const context = lambdaContext(invocation);
  const began = performance.now();
  const restoreConsole = redirectConsole(invocation.logs);
  let timer: ReturnType<typeof setTimeout> | undefined;
  const deadline = new Promise<{ status: "timed-out"; timeoutMs: number }>((resolve) => {
    timer = setTimeout(() => resolve({ status: "timed-out", timeoutMs: invocation.timeoutMs }), invocation.timeoutMs);
  });
  try {
    const answer = Promise.resolve()
      .then(() => handler(invocation.event, context))
      .then(
        (result) => ({ status: "returned" as const, result }),
        (error: unknown) => ({ status: "threw" as const, error }),
      );
    const ended = await Promise.race([answer, deadline]);
    return { ...ended, requestId: context.awsRequestId, durationMs: performance.now() - began };
  } finally {
    clearTimeout(timer);
    restoreConsole();
  }
}

/** A Lambda context as the Node.js runtime passes it, for one invocation. */
export function lambdaContext(invocation: Pick<Invocation, "functionName" | "region" | "memoryMb" | "timeoutMs">): Context {
  const deadline = Date.now() + invocation.timeoutMs;
  const { functionName } = invocation;
  const day = new Date().toISOString().slice(0, 10).replaceAll("-", "/");
  const unsupported = (name: string) => () => {
    throw new Error(`context.${name}() is not supported by "mecha invoke"; return the result (or a promise of it) instead`);
  };
  return {
    callbackWaitsForEmptyEventLoop: true,
    functionName,
    functionVersion: "$LATEST",
    invokedFunctionArn: `arn:aws:lambda:${invocation.region}:${sampleAccount}:function:${functionName}`,
    memoryLimitInMB: String(invocation.memoryMb),
    awsRequestId: freshId(),
    logGroupName: `/aws/lambda/${functionName}`,
    logStreamName: `${day}/[$LATEST]${randomHex(16)}`,
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
    done: unsupported("done"),
    fail: unsupported("fail"),
    succeed: unsupported("succeed"),
  };
}

const consoleMethods = ["log", "info", "debug", "warn", "error"] as const;

/** Sends console output to `stream` until the returned function is called. */
function redirectConsole(stream: NodeJS.WritableStream): () => void {
  const saved = consoleMethods.map((method) => [method, console[method]] as const);
  for (const method of consoleMethods) console[method] = (...args: unknown[]) => void stream.write(`${format(...args)}\n`);
  return () => {
    for (const [method, original] of saved) console[method] = original;
  };
}
