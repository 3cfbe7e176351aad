/** Reading a Dapr API request: JSON bodies, `metadata.*` query parameters, Dapr's flags. */
import type { Context as HonoContext } from "hono";
import { malformed } from "./errors.ts";

/** The body as JSON; anything else (empty too) is ERR_MALFORMED_REQUEST, as Dapr's decoder answers. */
export async function readJson(c: HonoContext): Promise<unknown> {
  const text = await c.req.text();
  try {
    return JSON.parse(text);
  } catch (error) {
    throw malformed(text.trim() === "" ? "request body is empty; expected JSON" : `request body is not valid JSON: ${(error as Error).message}`);
  }
}

/** Dapr's per-request metadata: every `metadata.<name>=<value>` query parameter (the first value wins). */
export function queryMetadata(c: HonoContext): Record<string, string> {
  const metadata: Record<string, string> = {};
  const url = c.req.url;
  if (!url.includes("metadata.")) return metadata;
  for (const [name, value] of new URL(url).searchParams) {
    if (name.startsWith("metadata.") && name.length > 9 && !Object.hasOwn(metadata, name.slice(9))) metadata[name.slice(9)] = value;
  }
  return metadata;
}

/** A JSON object (not null, not an array), or ERR_MALFORMED_REQUEST naming what was expected. */
export function asObject(value: unknown, what: string): Record<string, unknown> {
  if (typeof value !== "object" || value === null || Array.isArray(value)) throw malformed(`${what} must be a JSON object`);
  return value as Record<string, unknown>;
}

/** An optional string-to-string map (Dapr's `metadata` fields). */
export function asStringMap(value: unknown, what: string): Record<string, string> | undefined {
  if (value === undefined || value === null) return undefined;
  const map = asObject(value, what);
  for (const [key, entry] of Object.entries(map)) {
    if (typeof entry !== "string") throw malformed(`${what}.${key} must be a string`);
  }
  return map as Record<string, string>;
}

export function optionalString(value: unknown, what: string): string | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== "string") throw malformed(`${what} must be a string`);
  return value;
}
