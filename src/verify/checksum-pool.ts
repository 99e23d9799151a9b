/**
 * Runs the checksum stage of a plain backup on several threads: CRC-32C and SHA-2 are CPU-bound, so a core
 * per lane is what lets `verify` keep up with pg_verifybackup's native code. This thread is a lane too and
 * starts at once; worker threads take batches once they are ready (tens of ms compiled, more under tsx),
 * so starting them never delays the work. Large CRC32C files go out in parts (file-parts.ts), so one 1 GiB
 * relation segment is spread over every lane. Jobs go out biggest first, so no big one
 * finishes alone at the end, in batches of many small files, so an 8 kB file does
 * not cost a message round trip. Small backups get no workers at all.
 *
 * Outcomes arrive in completion order; the caller orders its problems. If `onOutcome` throws (exit on first
 * error), the workers are terminated and the error propagates.
 */
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { InternalError } from '../errors/index.ts';
import { FileHasher, type HashJob, type HashOutcome } from './file-hasher.ts';
import { splitIntoParts } from './file-parts.ts';
import type { HashBatch, HashWorkerMessage } from './hash-worker.ts';

export interface HashPoolOptions {
  /** Worker threads besides this one; default: one per further CPU (at most 7), none for a small backup. */
  readonly workers?: number;
  readonly onOutcome: (outcome: HashOutcome) => void;
  readonly onBytes: (bytes: number) => void;
}

const NO_WORKERS_BELOW_BYTES = 64 << 20;
const BATCH_BYTES = 8 << 20;
const BATCH_FILES = 256;

export async function hashFiles(jobs: readonly HashJob[], options: HashPoolOptions): Promise<void> {
  const totalBytes = jobs.reduce((sum, job) => sum + job.size, 0);
  const wanted = options.workers ?? (totalBytes < NO_WORKERS_BELOW_BYTES ? 0 : Math.min(availableParallelism() - 1, 7));
  // Parts only pay when there is more than one lane to spread them over.
  const split = wanted > 0 ? splitIntoParts(jobs) : null;
  const batches = batchesOf([...(split?.jobs ?? jobs)].sort((a, b) => b.size - a.size));
  const onOutcome = split === null ? options.onOutcome : (outcome: HashOutcome): void => {
    const whole = split.assembler.add(outcome);
    if (whole !== null) options.onOutcome(whole);
  };
  await new Pool(batches, Math.min(wanted, batches.length - 1), { ...options, onOutcome }).run();
}

function batchesOf(jobs: readonly HashJob[]): HashBatch[] {
  const batches: HashBatch[] = [];
  let current: HashJob[] = [];
  let bytes = 0;
  for (const job of jobs) {
    current.push(job);
    bytes += job.size;
    if (bytes >= BATCH_BYTES || current.length >= BATCH_FILES) {
      batches.push({ jobs: current });
      current = [];
      bytes = 0;
    }
  }
  if (current.length > 0) batches.push({ jobs: current });
  return batches;
}

class Pool {
  readonly #batches: readonly HashBatch[];
  readonly #workerCount: number;
  readonly #options: HashPoolOptions;
  readonly #threads: Worker[] = [];
  #next = 0;
  /** Batches out with workers. */
  #outstanding = 0;
  #failure: { error: unknown } | null = null;
  #settle: (() => void) | null = null;

  constructor(batches: readonly HashBatch[], workerCount: number, options: HashPoolOptions) {
    this.#batches = batches;
    this.#workerCount = Math.max(0, workerCount);
    this.#options = options;
  }

  async run(): Promise<void> {
    const workersDone = new Promise<void>((resolve) => {
      this.#settle = resolve;
    });
    for (let n = 0; n < this.#workerCount; n++) this.#startWorker();
    try {
      await this.#hashHere();
      // Workers still starting up hold nothing and are simply terminated.
      if (this.#outstanding > 0 && this.#failure === null) await workersDone;
    } catch (error) {
      this.#fail(error);
    } finally {
      for (const thread of this.#threads) void thread.terminate();
    }
    if (this.#failure !== null) throw this.#failure.error;
  }

  /**
   * This thread's lane: synchronous like the workers' (file-hasher.ts says why), one job per turn of the event
   * loop, so the workers' messages are answered between jobs.
   */
  async #hashHere(): Promise<void> {
    const hasher = new FileHasher();
    for (let batch = this.#take(); batch !== undefined && this.#failure === null; batch = this.#take()) {
      for (const job of batch.jobs) {
        this.#options.onOutcome(hasher.hash(job, this.#options.onBytes));
        await new Promise(setImmediate);
      }
    }
  }

  #take(): HashBatch | undefined {
    const batch = this.#batches[this.#next];
    if (batch !== undefined) this.#next++;
    return batch;
  }

  #startWorker(): void {
    const thread = spawnHashWorker();
    this.#threads.push(thread);
    // Batches out with this worker: two once it is ready, so it goes on to its next while this thread, busy
    // with its own lane, has not yet read the answer to the last.
    let holding = 0;
    const give = (): void => {
      const batch = this.#failure === null ? this.#take() : undefined;
      if (batch === undefined) return;
      holding++;
      this.#outstanding++;
      thread.postMessage(batch);
    };
    const returned = (batches: number): void => {
      holding -= batches;
      this.#outstanding -= batches;
      if (this.#outstanding === 0) this.#settle?.();
    };
    thread.on('error', (error) => {
      this.#fail(error);
      returned(holding);
    });
    thread.on('exit', (code) => {
      if (holding > 0) this.#fail(new InternalError('INTERNAL_ASSERTION', `checksum worker exited with code ${code}`));
      returned(holding);
    });
    thread.on('message', (message: HashWorkerMessage) => {
      if (this.#failure !== null) return;
      try {
        if (message.type === 'progress') {
          this.#options.onBytes(message.bytes);
        } else if (message.type === 'done') {
          this.#options.onBytes(message.unreportedBytes);
          for (const outcome of message.outcomes) this.#options.onOutcome(outcome);
          give(); // before counting this one back, so the count touches zero only when no batch is left
          returned(1);
        } else {
          give();
          give();
        }
      } catch (error) {
        this.#fail(error);
        returned(holding);
      }
    });
  }

  #fail(error: unknown): void {
    this.#failure ??= { error };
    this.#settle?.();
  }
}

/**
 * Under tsx (running from source) loader hooks are per thread, so the worker registers them itself before
 * importing its TypeScript entry; the compiled package loads the .js entry directly.
 */
function spawnHashWorker(): Worker {
  const fromSource = import.meta.url.endsWith('.ts');
  const entry = new URL(fromSource ? './hash-worker.ts' : './hash-worker.js', import.meta.url);
  if (!fromSource) return new Worker(entry);
  const tsx = import.meta.resolve('tsx/esm/api');
  const code = `import(${JSON.stringify(tsx)}).then((api) => { api.register(); return import(${JSON.stringify(entry.href)}); })`;
  return new Worker(code, { eval: true });
}
