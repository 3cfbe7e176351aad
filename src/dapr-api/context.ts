/** What every route of the Dapr API is given: the app's runtime, its components, and a log. */
import type { Runtime } from "../core/runtime.ts";
import type { ComponentLookup } from "./component-lookup.ts";
import { toDaprApiError } from "./errors.ts";

export interface ApiDeps {
  runtime: Runtime;
  components: ComponentLookup;
}

/** Awaits a call and turns what it throws into the Dapr answer for the operation `code`. */
export async function answerFailureAs<T>(code: string, pending: Promise<T> | (() => Promise<T>)): Promise<T> {
  try {
    return await (typeof pending === "function" ? pending() : pending);
  } catch (error) {
    throw toDaprApiError(error, code);
  }
}
