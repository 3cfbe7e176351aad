/**
 * Dapr's API token: when one is set, every call must carry it in the `dapr-api-token` header, or
 * gets 401 — except the health checks, which orchestrators call without credentials. The token is
 * compared in constant time, and never echoed.
 */
import { createHash, timingSafeEqual } from "node:crypto";
import type { MiddlewareHandler } from "hono";
import { DaprErrorCodes } from "./errors.ts";

export const apiTokenHeader = "dapr-api-token";

/** The token from the environment: `MECHA_API_TOKEN`, or Dapr's `DAPR_API_TOKEN`. */
export function apiTokenFromEnv(env: Readonly<Record<string, string | undefined>>): string | undefined {
  return env["MECHA_API_TOKEN"] || env["DAPR_API_TOKEN"] || undefined;
}

export function requireApiToken(token: string): MiddlewareHandler {
  // Hashing both sides gives equal lengths, so the comparison's time says nothing about the token.
  const expected = digest(token);
  return async (c, next) => {
    if (c.req.method === "GET" && (c.req.path === "/v1.0/healthz" || c.req.path === "/v1.0/healthz/outbound")) return next();
    const given = c.req.header(apiTokenHeader);
    if (given === undefined || !timingSafeEqual(digest(given), expected)) {
      return c.json({ errorCode: DaprErrorCodes.apiTokenInvalid, message: "invalid api token" }, 401);
    }
    return next();
  };
}

const digest = (value: string) => createHash("sha256").update(value).digest();
