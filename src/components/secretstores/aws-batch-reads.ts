/**
 * Reading many AWS secrets at once, as both AWS secret stores do it: a batch call while it is
 * allowed, and — once AWS refuses it (an IAM policy that grants only the single get, or an emulator
 * without the batch call) — one get per name from then on.
 */
import type { Logger } from "../../core/logger.ts";

/** The errors that mean the batch call is not allowed here, so single gets must do. */
const batchRefusals = new Set(["AccessDeniedException", "UnknownOperationException"]);

/** The call's answer, or undefined when AWS answered with the error named `errorName`. */
export async function unlessAwsError<T>(errorName: string | ReadonlySet<string>, call: () => Promise<T>): Promise<T | undefined> {
  try {
    return await call();
  } catch (error) {
    const name = (error as Error).name;
    if (typeof errorName === "string" ? name === errorName : errorName.has(name)) return undefined;
    throw error;
  }
}

/** The batch call's answer, or undefined when AWS refuses the call itself. */
export const unlessBatchRefused = <T>(call: () => Promise<T>): Promise<T | undefined> => unlessAwsError(batchRefusals, call);

export interface BatchReadsOptions<T> {
  /** Reads the names with the batch call; undefined when AWS refused it (see {@link unlessBatchRefused}). */
  batch(names: readonly string[]): Promise<T[] | undefined>;
  /** Reads one name; undefined when it does not exist (any more). */
  one(name: string): Promise<T | undefined>;
  /** For the log line when the batch call is refused: `BatchGetSecretValue`, `GetSecretValue`. */
  batchCall: string;
  oneCall: string;
  logger?: Logger;
}

/** A reader of up to one batch of names; names that no longer exist are left out. */
export function batchReads<T>(options: BatchReadsOptions<T>): (names: readonly string[]) => Promise<T[]> {
  let refused = false;
  return async (names) => {
    if (!refused) {
      const batch = await options.batch(names);
      if (batch) return batch;
      refused = true;
      options.logger?.warn(`${options.batchCall} was refused; reading one by one with ${options.oneCall}`);
    }
    const found: Array<T | undefined> = await Promise.all(names.map((name) => options.one(name)));
    return found.filter((item): item is T => item !== undefined);
  };
}
