/**
 * Checksums one file from disk, the unit of work of the checksum stage (run in worker threads by
 * checksum-pool.ts, or in-process for small backups). Reads are synchronous, in CHUNK_BYTES, each hashed at once
 * on the thread that read it: the bytes the kernel has just copied are still in this core's L2 cache when the
 * checksum reads them. Measured at scale 100 (1.5 GB, warm cache, one thread, AMD EPYC with 1 MB of L2): 0.50 s
 * in 64 kB reads, 0.48 s in 128 kB, but 0.99 s in 256 kB and 0.94 s in 1 MB, where the kernel's copy no longer
 * leaves the bytes in cache; 32 kB starts to pay for the calls (0.54 s). Asynchronous reads, which copy on one
 * of libuv's threads and hash on another core, were slower still. 64 kB keeps a margin below the cliff.
 * Threads that must stay responsive hash one job at a time between turns of their loop.
 *
 * A job can also be one part of a large CRC-32C file (file-parts.ts): then it reads its byte range, the last
 * part to end of file, and reports the part's raw CRC for the caller to combine.
 *
 * It reports what it read and computed; comparing with the manifest is the caller's job. It reads to end of
 * file rather than trusting the size, so a file that grew or shrank since the walk is noticed.
 */
import { closeSync, openSync, readSync } from 'node:fs';
import { fsPath } from '../manifest/byte-path.ts';
import { createDigester, type ChecksumAlgorithm } from '../manifest/checksum.ts';
import { crc32c } from '../util/crc32c.ts';
import { errorReason } from './report.ts';

/** Read size: below the size at which the copy stops leaving the bytes in cache (see above). */
const CHUNK_BYTES = 64 << 10;

export interface HashJob {
  /** Caller's handle (the manifest index). */
  readonly index: number;
  /** Full path as a byte string. */
  readonly path: string;
  /** Bytes to hash: the file's size in the manifest, or a part's length. */
  readonly size: number;
  readonly algorithm: ChecksumAlgorithm;
  /** Set when this job is one part of a CRC32C file: it starts at `offset`; the last part reads to end of file. */
  readonly part?: { readonly offset: number; readonly last: boolean };
}

export interface HashOutcome {
  readonly index: number;
  readonly bytesRead: number;
  /** Lowercase hex, null when the file could not be read (see error). */
  readonly checksum: string | null;
  /** `open` or `read` plus the system's reason. */
  readonly error: { readonly action: 'open' | 'read'; readonly reason: string } | null;
  /** For a part job: its offset and the raw CRC-32C of what it read; `checksum` is then null. */
  readonly part?: { readonly offset: number; readonly crc: number };
}

/** Where the bytes read go: a digester, or a part's running CRC. */
interface Sink {
  update(bytes: Uint8Array, start: number, end: number): void;
}

class PartCrc implements Sink {
  value = 0;

  update(bytes: Uint8Array, start: number, end: number): void {
    this.value = crc32c(bytes, this.value, start, end);
  }
}

export class FileHasher {
  readonly #buffer = Buffer.allocUnsafe(CHUNK_BYTES);

  /** `onBytes` hears of every chunk read, for progress. */
  hash(job: HashJob, onBytes: (bytes: number) => void): HashOutcome {
    let fd: number;
    try {
      fd = openSync(fsPath(job.path), 'r');
    } catch (error) {
      return failed(job, 0, 'open', error);
    }
    const { part } = job;
    const partCrc = new PartCrc();
    const digester = part === undefined ? createDigester(job.algorithm) : null;
    const sink: Sink = digester ?? partCrc;
    let bytesRead = 0;
    // A part starts at its offset and stops after its length; the last part and a whole file read to end of file.
    const limit = part === undefined || part.last ? Infinity : job.size;
    const start = part?.offset ?? 0;
    try {
      for (;;) {
        let got: number;
        try {
          got = readSync(fd, this.#buffer, 0, Math.min(CHUNK_BYTES, limit - bytesRead), start + bytesRead);
        } catch (error) {
          return failed(job, bytesRead, 'read', error);
        }
        if (got === 0) break;
        sink.update(this.#buffer, 0, got);
        bytesRead += got;
        onBytes(got); // outside the read's try: what it throws (a cancelled run) is the caller's, not this file's
        if (bytesRead >= limit) break;
      }
    } finally {
      closeSync(fd);
    }
    if (digester !== null) return { index: job.index, bytesRead, checksum: digester.finish(), error: null };
    return { index: job.index, bytesRead, checksum: null, error: null, part: { offset: start, crc: partCrc.value } };
  }
}

function failed(job: HashJob, bytesRead: number, action: 'open' | 'read', error: unknown): HashOutcome {
  return { index: job.index, bytesRead, checksum: null, error: { action, reason: errorReason(error) } };
}
