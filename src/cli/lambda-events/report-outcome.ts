/**
 * How `mecha invoke --target lambda` shows what the handler did — an HTTP result as a status and
 * a body (as `mecha invoke` shows a host's answer), an SQS batch response as the records that
 * failed, a thrown error by name, code and message — and the exit code each means.
 */
import { STATUS_CODES } from "node:http";
import { ErrorCodes } from "../../errors.ts";
import { ExitCodes, type ExitCode } from "../errors.ts";
import { prettyValue, type Colors, type Output } from "../output.ts";
import type { InvocationOutcome } from "./run-handler.ts";

/** How the outcome is printed. */
export interface ReportOptions {
  /** One JSON line on stdout: the handler's result, or Lambda's error answer. */
  json: boolean;
  /** The stack of a thrown error too. */
  verbose: boolean;
}

/** Prints how the invocation ended and says what the exit code is. */
export function reportOutcome(outcome: InvocationOutcome, event: unknown, options: ReportOptions, output: Output): ExitCode {
  if (outcome.status === "timed-out") {
    const seconds = (outcome.timeoutMs / 1000).toFixed(2);
    // The error the Invoke API answers for a timeout.
    if (options.json) output.json({ errorType: "Sandbox.Timedout", errorMessage: `Task timed out after ${seconds} seconds` });
    sayError(output, `the handler did not answer within its timeout: Task timed out after ${seconds} seconds`, "give it longer with --timeout <seconds>");
    return ExitCodes.failure;
  }
  if (outcome.status === "threw") {
    const error = describeThrown(outcome.error);
    if (options.json) output.json({ errorType: error.name, errorMessage: error.message, ...(error.code ? { code: error.code } : {}) });
    const hint = error.code === ErrorCodes.lambdaUnknownEvent ? `make an event the handler knows with "mecha events <kind>" ("mecha events --list")` : undefined;
    sayError(output, `the handler threw ${error.name}${error.code ? ` [${error.code}]` : ""}: ${error.message}`, hint);
    for (const cause of error.causes) output.notice(output.errorColor.dim(`  caused by: ${cause}`));
    if (options.verbose && error.stack) output.notice(output.errorColor.dim(error.stack));
    return ExitCodes.failure;
  }
  const { result } = outcome;
  // JSON has no undefined: a handler that answers nothing answers null, as Lambda says.
  if (options.json) output.json(result ?? null);
  else if (isHttpResult(result)) printHttpResult(result, output);
  else if (isBatchResponse(result)) printBatchResponse(result, event, output);
  else if (result === undefined || result === null) output.line(`${output.color.green("✓")} handled; the handler answered nothing`);
  else output.line(prettyValue(result));
  return exitCodeOf(result);
}

/** 1 for an HTTP status of 400 or more (as for a host's answer) and for an SQS batch with failures. */
function exitCodeOf(result: unknown): ExitCode {
  if (isHttpResult(result)) return result.statusCode < 400 ? ExitCodes.ok : ExitCodes.failure;
  if (isBatchResponse(result)) return result.batchItemFailures.length ? ExitCodes.failure : ExitCodes.ok;
  return ExitCodes.ok;
}

function sayError(output: Output, message: string, hint?: string): void {
  const color = output.errorColor;
  output.notice(`${color.red(color.bold("error:"))} ${message}`);
  if (hint) output.notice(color.dim(hint));
}

interface ThrownError {
  name: string;
  code: string | undefined;
  message: string;
  stack: string | undefined;
  causes: string[];
}

/**
 * What a handler threw. The bundle has its own copy of mecha's error classes, so the error is
 * read by its fields, never by `instanceof`.
 */
function describeThrown(thrown: unknown): ThrownError {
  if (!(thrown instanceof Error)) return { name: "Error", code: undefined, message: String(thrown), stack: undefined, causes: [] };
  const code = (thrown as { code?: unknown }).code;
  const causes: string[] = [];
  let cause = thrown.cause;
  for (let depth = 0; cause !== undefined && depth < 5; depth++) {
    causes.push(cause instanceof Error ? `${cause.name}: ${cause.message}` : String(cause));
    cause = (cause as { cause?: unknown } | null)?.cause;
  }
  return { name: thrown.name, code: typeof code === "string" ? code : undefined, message: thrown.message, stack: thrown.stack, causes };
}

/** What an HTTP trigger answers (API Gateway, Function URL, ALB). */
interface HttpResult {
  statusCode: number;
  headers?: Record<string, string | number | boolean>;
  multiValueHeaders?: Record<string, Array<string | number | boolean>>;
  body?: string;
  isBase64Encoded?: boolean;
}

function isHttpResult(value: unknown): value is HttpResult {
  return typeof value === "object" && value !== null && typeof (value as HttpResult).statusCode === "number";
}

/** What an SQS trigger answers with ReportBatchItemFailures. */
interface BatchResponse {
  batchItemFailures: Array<{ itemIdentifier: string }>;
}

function isBatchResponse(value: unknown): value is BatchResponse {
  return typeof value === "object" && value !== null && Array.isArray((value as BatchResponse).batchItemFailures);
}

function printHttpResult(result: HttpResult, output: Output): void {
  const status = result.statusCode;
  output.line(statusColor(status, output.color)(`${status} ${STATUS_CODES[status] ?? ""}`.trim()));
  if (!result.body) return;
  const contentType = headerValue(result, "content-type");
  const bytes = result.isBase64Encoded ? Buffer.from(result.body, "base64") : undefined;
  if (bytes && !isTextType(contentType)) {
    output.line(`<${bytes.byteLength} bytes${contentType ? ` of ${contentType}` : ""}>`);
    return;
  }
  const text = bytes ? bytes.toString("utf8") : result.body;
  const parsed = parseJsonBody(text, contentType ?? null);
  output.line(parsed !== undefined ? prettyValue(parsed) : text);
}

function headerValue(result: HttpResult, name: string): string | undefined {
  for (const [key, value] of Object.entries(result.headers ?? {})) if (key.toLowerCase() === name) return String(value);
  for (const [key, values] of Object.entries(result.multiValueHeaders ?? {})) if (key.toLowerCase() === name && values.length) return String(values[0]);
  return undefined;
}

function isTextType(contentType: string | undefined): boolean {
  return contentType !== undefined && /^text\/|[/+](json|xml)\b|javascript|x-www-form-urlencoded/i.test(contentType);
}

function printBatchResponse(result: BatchResponse, event: unknown, output: Output): void {
  const { green, red, bold } = output.color;
  const records = recordCount(event);
  const failed = result.batchItemFailures.map((failure) => failure.itemIdentifier);
  const of = records === undefined ? "" : ` of ${records}`;
  if (!failed.length) {
    output.line(`${green("✓")} ${records === undefined ? "every record" : records === 1 ? "the record" : `all ${records} records`} acked`);
    return;
  }
  const plural = (records ?? failed.length) === 1 ? "" : "s";
  output.line(`${red("✗")} ${bold(`${failed.length}${of} record${plural} failed`)} (batchItemFailures; SQS delivers them again):`);
  for (const id of failed) output.line(`  ${id}`);
}

function recordCount(event: unknown): number | undefined {
  const records = (event as { Records?: unknown } | null)?.Records;
  return Array.isArray(records) ? records.length : undefined;
}

/** A JSON body (by content type) as a value; anything else stays text. */
export function parseJsonBody(text: string, contentType: string | null): unknown {
  if (!text || !/[/+]json\b/i.test(contentType ?? "")) return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** The color of an HTTP status line: green, cyan for redirects, yellow, red. */
export function statusColor(status: number, color: Colors): (text: string) => string {
  if (status >= 500) return (t) => color.bold(color.red(t));
  if (status >= 400) return (t) => color.bold(color.yellow(t));
  if (status >= 300) return (t) => color.bold(color.cyan(t));
  return (t) => color.bold(color.green(t));
}
