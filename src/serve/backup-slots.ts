/**
 * `--max-backups`: how many BASE_BACKUPs serve performs at once. A backup beyond the limit waits, first come
 * first served, for one to finish (its client sees nothing yet, as during a spread checkpoint); waiting ends early
 * only when that client goes away or serve shuts down.
 */
export class BackupSlots {
  readonly #limit: number;
  #running = 0;
  readonly #queue: Array<{ resolve: () => void }> = [];

  constructor(limit: number) {
    this.#limit = limit;
  }

  get running(): number {
    return this.#running;
  }

  get waiting(): number {
    return this.#queue.length;
  }

  async acquire(signal: AbortSignal): Promise<void> {
    if (this.#running < this.#limit && this.#queue.length === 0) {
      this.#running += 1;
      return;
    }
    await new Promise<void>((resolve, reject) => {
      const waiter = { resolve: () => { signal.removeEventListener('abort', onAbort); resolve(); } };
      const onAbort = (): void => {
        const index = this.#queue.indexOf(waiter);
        if (index >= 0) this.#queue.splice(index, 1);
        reject(signal.reason);
      };
      if (signal.aborted) return onAbort();
      signal.addEventListener('abort', onAbort, { once: true });
      this.#queue.push(waiter);
    });
  }

  release(): void {
    const next = this.#queue.shift();
    if (next === undefined) this.#running -= 1;
    else next.resolve(); // the slot passes straight to the next backup
  }
}
