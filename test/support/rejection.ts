/** Tests of failures: the error a call rejected with, or a failed test when it did not reject. */

/** What mecha's errors carry that tests look at; narrow it with the type parameter. */
export type Rejection = Error & { code?: string; field?: string; component?: string; file?: string; key?: string; cause?: unknown };

/**
 * The error `call` rejected with. Throws (failing the test) when it resolved instead, so a test
 * of a failure cannot pass because nothing failed.
 * @example
 * const error = await rejectionOf(store.set({ key: "k", value: "v", etag: "stale", concurrency: "last-write" }));
 * expect(error).toBeInstanceOf(EtagMismatchError);
 */
export async function rejectionOf<E = Rejection>(call: Promise<unknown>): Promise<E> {
  try {
    await call;
  } catch (error) {
    return error as E;
  }
  throw new Error("expected the call to fail, but it succeeded");
}
