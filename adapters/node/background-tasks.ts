/** `ctx.waitUntil` on Node: promises the host waits for before it shuts down. */
export class BackgroundTasks {
  readonly #pending = new Set<Promise<unknown>>();

  add(promise: Promise<unknown>): void {
    const tracked = promise.catch(() => undefined).finally(() => this.#pending.delete(tracked));
    this.#pending.add(tracked);
  }

  /** Waits for every task, or until the timeout. */
  async drain(timeoutMs: number): Promise<void> {
    if (!this.#pending.size) return;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<void>((resolve) => (timer = setTimeout(resolve, timeoutMs).unref()));
    await Promise.race([Promise.allSettled([...this.#pending]), timeout]);
    clearTimeout(timer);
  }
}
