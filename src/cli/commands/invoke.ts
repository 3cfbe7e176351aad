/** `mecha invoke`: one HTTP request to a running host, printed for people or as JSON. */
import { defaults, expectPositionals, helpHint, parseCommand, parsePort, sharedOptions } from "../args.ts";
import type { CommandOutcome, CommandRun } from "../command.ts";
import { CliError, UsageError } from "../errors.ts";
import { prettyValue, type Colors } from "../output.ts";
import { formatUsage, type UsageText } from "../usage.ts";

const invokeOptions = {
  port: { ...sharedOptions.port, description: "the host's HTTP port" },
  host: { ...sharedOptions.host, description: "the host's address" },
  header: { type: "string", short: "H", multiple: true, placeholder: "name:value", description: "a request header" },
  json: { ...sharedOptions.json, description: "print {status, headers, body} as JSON" },
  help: sharedOptions.help,
} as const;

const usage: UsageText = {
  synopsis: "mecha invoke <method> <path> [body] [options]",
  description:
    "Sends one HTTP request to a running host and prints the status and the body. Exit code 0\n" +
    "for 2xx and 3xx, 1 otherwise. A JSON body is sent as application/json unless -H says otherwise.",
  arguments: [
    ["<method>", "GET, POST, PUT, PATCH, DELETE, …"],
    ["<path>", "the path, e.g. /orders/42"],
    ["[body]", "the request body"],
  ],
  options: invokeOptions,
  examples: [`mecha invoke POST /orders '{"id":"42","item":"tea","quantity":1}'`, "mecha invoke GET /orders/42 --port 8080"],
};

export async function run({ argv, output }: CommandRun): Promise<CommandOutcome> {
  const { values, positionals } = parseCommand("invoke", argv, invokeOptions);
  if (values.help) {
    output.line(formatUsage(usage, output.color));
    return 0;
  }
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

function isJson(text: string): boolean {
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
}

/** A JSON body (by content type) as a value; anything else stays text. */
function parseJsonBody(text: string, contentType: string | null): unknown {
  if (!text || !/[/+]json\b/i.test(contentType ?? "")) return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

function statusColor(status: number, color: Colors): (text: string) => string {
  if (status >= 500) return (t) => color.bold(color.red(t));
  if (status >= 400) return (t) => color.bold(color.yellow(t));
  if (status >= 300) return (t) => color.bold(color.cyan(t));
  return (t) => color.bold(color.green(t));
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
