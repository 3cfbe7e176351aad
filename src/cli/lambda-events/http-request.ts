/**
 * An HTTP request from the command line, checked, for the sample HTTP events: `mecha events http
 * --method … --path … --header … --body …` and `mecha invoke --target lambda <method> <path>
 * [body]`, which read it the same way.
 */
import { helpHint } from "../args.ts";
import { UsageError } from "../errors.ts";
import type { HttpSampleRequest } from "./http.ts";

/** The request as given on the command line. */
export interface HttpRequestArguments {
  method?: string;
  path?: string;
  /** `name: value` entries. */
  header?: readonly string[];
  body?: readonly string[];
  /** The command, for the hint of an error: `events`, `invoke`. */
  command: string;
}

/** The request, or a {@link UsageError} naming what is wrong with it. */
export function httpRequest(values: HttpRequestArguments): HttpSampleRequest {
  const command = values.command;
  if ((values.body?.length ?? 0) > 1) throw new UsageError("an HTTP request has one body; give --body once", helpHint(command));
  const body = values.body?.[0];
  const method = values.method?.toUpperCase() ?? (body === undefined ? "GET" : "POST");
  if (!/^[A-Z]+$/.test(method)) throw new UsageError(`the method must be an HTTP method such as GET or POST, got "${values.method}"`, helpHint(command));
  if (body !== undefined && (method === "GET" || method === "HEAD")) throw new UsageError(`a ${method} request cannot have a body`, helpHint(command));
  const path = values.path ?? "/";
  if (!path.startsWith("/")) throw new UsageError(`the path must start with "/", got "${path}"`, helpHint(command));
  return {
    method,
    path,
    ...(values.header?.length ? { headers: values.header.map((entry) => headerEntry(entry, command)) } : {}),
    ...(body !== undefined ? { body } : {}),
  };
}

const tokenPattern = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

function headerEntry(entry: string, command: string): readonly [string, string] {
  const colon = entry.indexOf(":");
  const name = colon > 0 ? entry.slice(0, colon).trim() : "";
  if (!name) throw new UsageError(`--header must look like "name: value", got "${entry}"`, helpHint(command));
  if (!tokenPattern.test(name)) throw new UsageError(`--header "${entry}" is not a valid HTTP header`, helpHint(command));
  return [name, entry.slice(colon + 1).trim()];
}

