/**
 * Worker-thread entry of the checksum pool: says it is ready, then hashes the batches it is sent, in order,
 * answering each with its outcomes. Progress for big files is sent every PROGRESS_BYTES so a 1 GiB relation
 * segment does not look stuck. Holds no state between batches but its read buffer.
 */
import { parentPort } from 'node:worker_threads';
import { FileHasher, type HashJob, type HashOutcome } from './file-hasher.ts';

export interface HashBatch {
  readonly jobs: readonly HashJob[];
}

export type HashWorkerMessage =
  | { readonly type: 'ready' }
  | { readonly type: 'progress'; readonly bytes: number }
  | { readonly type: 'done'; readonly outcomes: HashOutcome[]; readonly unreportedBytes: number };

const PROGRESS_BYTES = 32 << 20;
const port = parentPort;
if (port !== null) {
  const hasher = new FileHasher();
  // Hashing is synchronous, so batches are done one at a time, in the order sent.
  port.on('message', (batch: HashBatch) => {
    const outcomes: HashOutcome[] = [];
    let pending = 0;
    let reported = 0;
    for (const job of batch.jobs) {
      outcomes.push(hasher.hash(job, (bytes) => {
        pending += bytes;
        if (pending < PROGRESS_BYTES) return;
        port.postMessage({ type: 'progress', bytes: pending } satisfies HashWorkerMessage);
        reported += pending;
        pending = 0;
      }));
    }
    const read = outcomes.reduce((sum, outcome) => sum + outcome.bytesRead, 0);
    port.postMessage({ type: 'done', outcomes, unreportedBytes: read - reported } satisfies HashWorkerMessage);
  });
  port.postMessage({ type: 'ready' } satisfies HashWorkerMessage);
}
