/**
 * How many times a bench no-op handler ran, kept on `globalThis`: the mecha bundle and the plain
 * one each carry their own copy of this module, and the child process that drives them reads
 * the same count whichever bundle made the calls.
 */
const key = "__mechaBenchNoopCalls";
const slot = globalThis as unknown as Record<typeof key, number | undefined>;

/** Records one call of a no-op handler. */
export function countNoopCall(): void {
  slot[key] = (slot[key] ?? 0) + 1;
}

/** The calls recorded so far in this process. */
export function noopCalls(): number {
  return slot[key] ?? 0;
}
