/**
 * Bounded background work for a terminal stage: small files are written (open, writev, close) while the archive
 * parser moves on, because each file-system call costs a thread-pool round trip and doing them one after another
 * caps extraction of many small files far below disk speed. At most `limit` tasks run at once; `run` waits for a
 * free slot, which keeps memory bounded and lets backpressure reach the producer.
 *
 * The first failure is kept and thrown by the next run() or drain(); drain() is awaited before the stage's work
 * counts as done and before cleanup removes anything (a late write must not recreate a removed file).
 */
export class TaskQueue {
  readonly #limit: number;
  readonly #running = new Set<Promise<void>>();
  #failure: unknown = null;
  #hasFailed = false;

  constructor(limit: number) {
    this.#limit = limit;
  }

  async run(task: () => Promise<void>): Promise<void> {
    this.#throwIfFailed();
    while (this.#running.size >= this.#limit) await Promise.race(this.#running);
    this.#throwIfFailed();
    const running: Promise<void> = task().then(
      () => {
        this.#running.delete(running);
      },
      (error: unknown) => {
        this.#running.delete(running);
        if (!this.#hasFailed) {
          this.#hasFailed = true;
          this.#failure = error;
        }
      },
    );
    this.#running.add(running);
  }

  async drain(): Promise<void> {
    while (this.#running.size > 0) await Promise.race(this.#running);
    this.#throwIfFailed();
  }

  /** Waits for running tasks and forgets any failure; for cleanup, where the original error matters. */
  async settle(): Promise<void> {
    while (this.#running.size > 0) await Promise.race(this.#running);
  }

  #throwIfFailed(): void {
    if (this.#hasFailed) throw this.#failure;
  }
}
