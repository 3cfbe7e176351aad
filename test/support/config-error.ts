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
