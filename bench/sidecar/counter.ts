/**
 * The benchmarked function, written once against the part of a state client it uses, so both
 * sides run the same code and differ only in how the store is reached.
 */

/** What the function needs of a state store: `ctx.state(name)` has it, and so has the HTTP client. */
export interface CounterStore {
  get<T>(key: string): Promise<{ value: T } | undefined>;
  set(key: string, value: unknown): Promise<unknown>;
}

/** Reads the counter at `key` (absent is 0) and writes it back incremented, last write wins. */
export async function bumpCounter(store: CounterStore, key: string): Promise<void> {
  const current = await store.get<{ n: number }>(key);
  await store.set(key, { n: (current?.value.n ?? 0) + 1 });
}
