/**
 * `mecha invoke`: one HTTP request to a running host (`--target node`, the default), or one event
 * to the built Lambda handler, run in this process (`--target lambda`); the result printed for
 * people or as JSON, and an exit code that says whether it worked.
 */
import { readFile } from "node:fs/promises";
import { resolve } from "node:path";
import { defaults, expectPositionals, helpHint, parseCommand, parsePort, sharedOptions, type ParsedValues } from "../args.ts";
import type { CommandOutcome, CommandRun } from "../command.ts";
import { CliError, ExitCodes, UsageError, type ExitCode } from "../errors.ts";
import { httpApiEvent, isJson } from "../lambda-events/http.ts";
import { httpRequest } from "../lambda-events/http-request.ts";
import { parseJsonBody, reportOutcome, statusColor } from "../lambda-events/report-outcome.ts";
import { defaultFunctionLimits, defaultLambdaBundle, invokeHandler, loadHandler } from "../lambda-events/run-handler.ts";
import { defaultRegion } from "../lambda-events/sample-values.ts";
import { prettyValue, type CliIo, type Output } from "../output.ts";
import { displayPath } from "../paths.ts";
import { formatUsage, type UsageText } from "../usage.ts";

const targets = ["node", "lambda"] as const;
type Target = (typeof targets)[number];

const invokeOptions = {
  target: {
    type: "string",
    short: "t",
    placeholder: "platform",
    description: "node: a running host; lambda: the built Lambda handler, run here",
    defaultValue: "node",
  },
  port: { ...sharedOptions.port, description: "node: the host's HTTP port" },
  host: { ...sharedOptions.host, description: "node: the host's address" },
  header: { type: "string", short: "H", multiple: true, placeholder: "name:value", description: "a request header" },
  event: { type: "string", short: "e", placeholder: "file|-", description: "lambda: the event, a JSON file or - for stdin (see mecha events)" },
  bundle: { type: "string", short: "b", placeholder: "file", description: "lambda: the built handler", defaultValue: defaultLambdaBundle },
  timeout: { type: "string", placeholder: "seconds", description: "lambda: the function's timeout", defaultValue: defaultFunctionLimits.timeoutSeconds },
  verbose: { type: "boolean", description: "lambda: print the stack of an error the handler throws" },
  json: { ...sharedOptions.json, description: "print {status, headers, body} as JSON; lambda: the handler's result" },
  help: sharedOptions.help,
} as const;

type InvokeValues = ParsedValues<typeof invokeOptions>;

/** The options only one target reads. */
const targetOptions = {
  node: ["port", "host"],
  lambda: ["event", "bundle", "timeout", "verbose"],
} as const satisfies Record<Target, ReadonlyArray<keyof InvokeValues>>;

const usage: UsageText = {
  synopsis: [
    "mecha invoke <method> <path> [body] [options]",
    "mecha invoke --target lambda --event <file|-> [options]",
    "mecha invoke --target lambda <method> <path> [body] [options]",
  ],
  description:
    "Sends one HTTP request to a running host and prints the status and the body. Exit code 0\n" +
    "for 2xx and 3xx, 1 otherwise. A JSON body is sent as application/json unless -H says otherwise.\n" +
    "\n" +
    "With --target lambda, runs the handler `mecha build --target lambda` built, in this process,\n" +
    "with the event (`mecha events <kind>` prints samples; <method> <path> makes an HTTP API\n" +
    "one) and a Lambda context, and prints its result; the function's logs go to stderr. Exit\n" +
    "code 1 for an HTTP status of 400 or more, an SQS batch with failed records, a thrown error\n" +
    "or a timeout.",
  arguments: [
    ["<method>", "GET, POST, PUT, PATCH, DELETE, …"],
    ["<path>", "the path, e.g. /orders/42"],
    ["[body]", "the request body"],
  ],
  options: invokeOptions,
  examples: [
    `mecha invoke POST /orders '{"id":"42","item":"tea","quantity":1}'`,
    "mecha invoke GET /orders/42 --port 8080",
    "mecha events sqs --subscription shop.orders.onPlaced > sqs.json && mecha invoke --target lambda --event sqs.json",
    "mecha events schedule --rule shop-jobs.nightly | mecha invoke --target lambda --event -",
    "mecha invoke --target lambda GET /orders/42",
  ],
};

/** Runs `mecha invoke`. */
export async function run({ argv, io, output }: CommandRun): Promise<CommandOutcome> {
  const { values, positionals } = parseCommand("invoke", argv, invokeOptions);
  if (values.help) {
    output.line(formatUsage(usage, output.color));
    return 0;
  }
  const target = readTarget(values.target);
  for (const other of targets.filter((t) => t !== target)) {
    const misplaced = targetOptions[other].find((option) => values[option] !== undefined);
    if (misplaced) throw new UsageError(`--${misplaced} applies to --target ${other}, not ${target}`, helpHint("invoke"));
  }
  return target === "lambda" ? invokeLambda(values, positionals, io, output) : invokeHost(values, positionals, output);
}

function readTarget(raw: string | undefined): Target {
  const target = raw ?? "node";
  if (!(targets as readonly string[]).includes(target)) {
    throw new UsageError(`--target must be one of ${targets.join(", ")}, got "${target}"`, helpHint("invoke"));
  }
  return target as Target;
}

// ---------------------------------------------------------------------------------------------
// --target node: an HTTP request to a running host.

async function invokeHost(values: InvokeValues, positionals: readonly string[], output: Output): Promise<ExitCode> {
  const [rawMethod, path, body] = expectPositionals("invoke", positionals, ["method", "path", "body?"]) as [string, string, string | undefined];
  const method = rawMethod.toUpperCase();
  if (!/^[A-Z]+$/.test(method)) throw new UsageError(`<method> must be an HTTP method such as GET or POST, got "${rawMethod}"`, helpHint("invoke"));
  if (!path.startsWith("/")) throw new UsageError(`<path> must start with "/", got "${path}"`, helpHint("invoke"));
  if (body !== undefined && (method === "GET" || method === "HEAD")) {
    throw new UsageError(`a ${method} request cannot have a body`, helpHint("invoke"));
  }
  const origin = originOf(values.host ?? defaults.host, parsePort(values.port, defaults.port));
  const headers = readHeaders(values.header ?? []);
  if (body !== undefined && !headers.has("content-type")) headers.set("content-type", isJson(body) ? "application/json" : "text/plain;charset=utf-8");

  const response = await fetch(`${origin}${path}`, { method, headers, body, redirect: "manual" }).catch((error: unknown) => {
    throw isConnectionRefused(error)
      ? new CliError(`no host is listening on ${origin}; start one with "mecha start"`, { cause: error })
      : new CliError(`request to ${origin}${path} failed: ${describeFetchError(error)}`, { cause: error });
  });
  const text = await response.text();
  const parsed = parseJsonBody(text, response.headers.get("content-type"));
  if (values.json) {
    output.json({ status: response.status, headers: Object.fromEntries(response.headers), body: parsed ?? text });
  } else {
    output.line(statusColor(response.status, output.color)(`${response.status} ${response.statusText}`.trim()));
    if (text) output.line(parsed !== undefined ? prettyValue(parsed) : text);
  }
  return response.status < 400 ? 0 : 1;
}

function originOf(host: string, port: number): string {
  return `http://${host.includes(":") && !host.startsWith("[") ? `[${host}]` : host}:${port}`;
}

function readHeaders(raw: readonly string[]): Headers {
  const headers = new Headers();
  for (const entry of raw) {
    const colon = entry.indexOf(":");
    const name = colon > 0 ? entry.slice(0, colon).trim() : "";
    if (!name) throw new UsageError(`--header must look like "name: value", got "${entry}"`, helpHint("invoke"));
    try {
      headers.append(name, entry.slice(colon + 1).trim());
    } catch {
      throw new UsageError(`--header "${entry}" is not a valid HTTP header`, helpHint("invoke"));
    }
  }
  return headers;
}

/** fetch wraps the socket error in `cause`; with several addresses, in `cause.errors`. */
function isConnectionRefused(error: unknown): boolean {
  const cause = (error as { cause?: { code?: string; errors?: Array<{ code?: string }> } })?.cause;
  return cause?.code === "ECONNREFUSED" || (cause?.errors?.some((e) => e.code === "ECONNREFUSED") ?? false);
}

function describeFetchError(error: unknown): string {
  const cause = (error as { cause?: { code?: string; message?: string } })?.cause;
  return cause?.message ?? (error instanceof Error ? error.message : String(error));
}

// ---------------------------------------------------------------------------------------------
// --target lambda: one event to the built handler, in this process.

/** Lambda's own limit on a function's timeout. */
const maxTimeoutSeconds = 900;

async function invokeLambda(values: InvokeValues, positionals: readonly string[], io: CliIo, output: Output): Promise<ExitCode> {
  const event = await lambdaEvent(values, positionals, io);
  const timeoutSeconds = readTimeout(values.timeout);
  const bundle = resolve(io.cwd, values.bundle ?? defaultLambdaBundle);
  const handler = await loadHandler(bundle, displayPath(io, bundle));
  const outcome = await invokeHandler(handler, {
    event,
    timeoutMs: timeoutSeconds * 1000,
    functionName: io.env["AWS_LAMBDA_FUNCTION_NAME"] || defaults.appId,
    region: io.env["AWS_REGION"] || defaultRegion,
    memoryMb: defaultFunctionLimits.memoryMb,
    logs: io.stderr,
  });
  if (!values.json) output.notice(output.errorColor.dim(`request ${outcome.requestId}  ${outcome.durationMs.toFixed(1)} ms`));
  return reportOutcome(outcome, event, { json: values.json ?? false, verbose: values.verbose ?? false }, output);
}

/** The event: a file or stdin with --event, or an HTTP API request made from <method> <path> [body]. */
async function lambdaEvent(values: InvokeValues, positionals: readonly string[], io: CliIo): Promise<unknown> {
  if (values.event !== undefined) {
    if (positionals.length) throw new UsageError(`give --event or <method> <path>, not both (got "${positionals[0]}")`, helpHint("invoke"));
    if (values.header) throw new UsageError("--header applies to <method> <path>; with --event, the headers are the event's", helpHint("invoke"));
    return readEvent(values.event, io);
  }
  if (!positionals.length) {
    throw new UsageError(`missing --event <file> (or <method> <path>) for "mecha invoke --target lambda"`, `make an event with "mecha events <kind>"; ${helpHint("invoke")}`);
  }
  const [method, path, body] = expectPositionals("invoke", positionals, ["method", "path", "body?"]) as [string, string, string | undefined];
  return httpApiEvent(httpRequest({ method, path, header: values.header, body: body === undefined ? undefined : [body], command: "invoke" }));
}

async function readEvent(source: string, io: CliIo): Promise<unknown> {
  const fromStdin = source === "-";
  const what = fromStdin ? "the event on stdin" : `the event file ${source}`;
  const hint = `make one with "mecha events <kind>" ("mecha events --list" lists the kinds)`;
  let text: string;
  if (fromStdin) {
    if (process.stdin.isTTY) throw new UsageError("--event - reads the event from stdin; pipe one in", `e.g. mecha events sqs | mecha invoke --target lambda --event -`);
    text = await readStream(process.stdin);
  } else {
    text = await readFile(resolve(io.cwd, source), "utf8").catch((error: NodeJS.ErrnoException) => {
      const reason = error.code === "ENOENT" ? "no such file" : error.code === "EISDIR" ? "it is a folder" : error.message;
      throw new CliError(`cannot read ${what}: ${reason}`, { cause: error, hint });
    });
  }
  // An editor's byte order mark is not part of the JSON.
  text = text.replace(/^\uFEFF/, "");
  if (!text.trim()) throw new CliError(`${what} is empty`, { hint });
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new CliError(`${what} is not valid JSON: ${error instanceof Error ? error.message : String(error)}`, { cause: error, hint });
  }
}

async function readStream(stream: NodeJS.ReadableStream): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(typeof chunk === "string" ? Buffer.from(chunk) : chunk);
  return Buffer.concat(chunks).toString("utf8");
}

function readTimeout(raw: string | undefined): number {
  if (raw === undefined) return defaultFunctionLimits.timeoutSeconds;
  const seconds = Number(raw);
  if (!/^\d+(\.\d+)?$/.test(raw.trim()) || seconds <= 0 || seconds > maxTimeoutSeconds) {
    throw new UsageError(`--timeout must be a number of seconds, at most ${maxTimeoutSeconds}, got "${raw}"`, helpHint("invoke"));
  }
  return seconds;
}
