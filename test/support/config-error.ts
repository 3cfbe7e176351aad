/** The error a component's `create()` (or any config step) throws for bad metadata. */
import { expect } from "vitest";
import { ComponentConfigError } from "../../src/errors.ts";

/** The ComponentConfigError `run` throws; fails the test when it throws nothing or something else. */
export function configErrorFrom(run: () => unknown): ComponentConfigError {
  let error: unknown;
  try {
    run();
  } catch (caught) {
    error = caught;
  }
  expect(error, "expected a ComponentConfigError").toBeInstanceOf(ComponentConfigError);
  return error as ComponentConfigError;
}

/**
 * Bad metadata every AWS component refuses, through the shared reader (src/components/aws-client-config.ts),
 * each with the field the error must name. Each AWS component's suite runs them with its own cases.
 */
export const badAwsClientMetadata: ReadonlyArray<[Record<string, string>, string]> = [
  [{ endpoint: "localhost:4566" }, "endpoint"],
  [{ endpoint: "ftp://localhost:4566" }, "endpoint"],
  [{ accessKey: "only-half" }, "secretKey"],
  [{ secretKey: "only-half" }, "accessKey"],
  [{ sessionToken: "alone" }, "sessionToken"],
];
