/**
 * One classification of failures (src/errors.ts): which are the caller's doing, with the HTTP
 * status both HTTP surfaces answer, and which no retry can help.
 */
import { describe, expect, it } from "vitest";
import {
  BulkStateError,
  CircuitOpenError,
  clientFaultStatus,
  ComponentConfigError,
  ComponentNotFoundError,
  ErrorCodes,
  EtagMismatchError,
  ForbiddenError,
  InvalidRequestError,
  isPermanentFailure,
  MechaError,
  NotFoundError,
  NotSupportedError,
} from "../../src/errors.ts";

const backendFailure = new MechaError(ErrorCodes.stateSave, 'save "k" on state store "s" (state.redis) failed: ECONNRESET');

describe("clientFaultStatus", () => {
  it.each([
    ["a malformed request", new InvalidRequestError("bad"), 400],
    ["a bad key", new InvalidRequestError("key", { code: ErrorCodes.invalidKey }), 400],
    ["an operation a binding lacks", new InvalidRequestError("op", { code: ErrorCodes.bindingOperation }), 400],
    ["a feature the component lacks", new NotSupportedError("etag", "state.cloudflare.workerskv"), 400],
    ["a forbidden topic", new ForbiddenError(ErrorCodes.pubsubForbidden, "topic t"), 403],
    ["a missing binding object", new NotFoundError(ErrorCodes.bindingInvoke, 'object "k" not found'), 404],
    ["a missing secret", new NotFoundError(ErrorCodes.secretNotFound, 'secret "k" not found'), 404],
    ["an etag mismatch", new EtagMismatchError("k"), 409],
  ])("answers %s with %i", (_case, error, status) => {
    expect(clientFaultStatus(error)).toBe(status);
  });

  it("answers a bulk failure by its entries: a conflict when one is a conflict, a 400 when all are malformed", () => {
    expect(clientFaultStatus(new BulkStateError([{ key: "a", error: new InvalidRequestError("x") }, { key: "b", error: new EtagMismatchError("b") }]))).toBe(409);
    expect(clientFaultStatus(new BulkStateError([{ key: "a", error: new InvalidRequestError("x") }]))).toBe(400);
  });

  it.each([
    ["a backend failure", backendFailure],
    ["a bulk failure with a backend failure among its entries", new BulkStateError([{ key: "a", error: new EtagMismatchError("a") }, { key: "b", error: backendFailure }])],
    ["an open circuit", new CircuitOpenError({ kind: "component", name: "s", direction: "outbound" }, "cb")],
    ["a misconfigured component", new ComponentConfigError("bad", { component: "s" })],
    ["an error that is not mecha's", new TypeError("boom")],
  ])("leaves %s to the server (undefined)", (_case, error) => {
    expect(clientFaultStatus(error)).toBeUndefined();
  });
});

describe("isPermanentFailure", () => {
  it("is true for the caller's faults and for components that are misconfigured or missing", () => {
    for (const error of [new EtagMismatchError("k"), new NotFoundError(ErrorCodes.bindingInvoke, "gone"), new ComponentConfigError("bad"), new ComponentNotFoundError("state store", "x", [])]) {
      expect(isPermanentFailure(error)).toBe(true);
    }
  });

  it("is false for a backend failure or a timeout, which a retry may get past", () => {
    expect(isPermanentFailure(backendFailure)).toBe(false);
    expect(isPermanentFailure(Object.assign(new Error("socket hang up"), { code: "ECONNRESET" }))).toBe(false);
  });
});
