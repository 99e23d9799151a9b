/**
 * Checksums one file from disk, the unit of work of the checksum stage (run in worker threads by
 * checksum-pool.ts, or in-process for small backups). Small files are read synchronously in one go (async I/O
 * costs more than the read itself for an 8 kB relation file); large files are read with two buffers so the
 * next read runs on libuv's pool while the current chunk is hashed.
 *
 * It reports what it read and computed; comparing with the manifest is the caller's job. It reads to end of
 * file rather than trusting the size, so a file that grew or shrank since the walk is noticed.
 */
import { closeSync, openSync, read, readSync } from 'node:fs';
import { fsPath } from '../manifest/byte-path.ts';
import { createDigester, type ChecksumAlgorithm, type Digester } from '../manifest/checksum.ts';
import { errorReason } from './report.ts';

export const CHUNK_BYTES = 1 << 20;

export interface HashJob {
  /** Caller's handle (the manifest index). */
  readonly index: number;
  /** Full path as a byte string. */
  readonly path: string;
  readonly size: number;
  readonly algorithm: ChecksumAlgorithm;
}

export interface HashOutcome {
  readonly index: number;
  readonly bytesRead: number;
  /** Lowercase hex, null when the file could not be read (see error). */
  readonly checksum: string | null;
  /** `open` or `read` plus the system's reason. */
  readonly error: { readonly action: 'open' | 'read'; readonly reason: string } | null;
}

export class FileHasher {
  readonly #buffers = [Buffer.allocUnsafe(CHUNK_BYTES), Buffer.allocUnsafe(CHUNK_BYTES)] as const;

  async hash(job: HashJob, onBytes: (bytes: number) => void): Promise<HashOutcome> {
    let fd: number;
    try {
      fd = openSync(fsPath(job.path), 'r');
    } catch (error) {
      return failed(job, 0, 'open', error);
    }
    const digester = createDigester(job.algorithm);
    let bytesRead = 0;
    try {
      bytesRead = job.size < CHUNK_BYTES ? this.#readSmall(fd, digester) : await this.#readLarge(fd, digester, onBytes);
    } catch (error) {
      return failed(job, bytesRead, 'read', error);
    } finally {
      closeSync(fd);
    }
    return { index: job.index, bytesRead, checksum: digester.finish(), error: null };
  }

  #readSmall(fd: number, digester: Digester): number {
    const buffer = this.#buffers[0];
    let total = 0;
    for (;;) {
      const got = readSync(fd, buffer, 0, CHUNK_BYTES, null);
      if (got === 0) return total;
      digester.update(buffer, 0, got);
      total += got;
    }
  }

  async #readLarge(fd: number, digester: Digester, onBytes: (bytes: number) => void): Promise<number> {
    let total = 0;
    let which = 0;
    let pending = readAt(fd, this.#buffers[0], total);
    for (;;) {
      const got = await pending;
      if (got === 0) return total;
      const buffer = this.#buffers[which] as Buffer;
      total += got;
      which ^= 1;
      pending = readAt(fd, this.#buffers[which] as Buffer, total);
      digester.update(buffer, 0, got);
      onBytes(got);
    }
  }
}

function readAt(fd: number, buffer: Buffer, position: number): Promise<number> {
  return new Promise((resolve, reject) => {
    read(fd, buffer, 0, buffer.length, position, (error, bytesRead) => (error ? reject(error) : resolve(bytesRead)));
  });
}

function failed(job: HashJob, bytesRead: number, action: 'open' | 'read', error: unknown): HashOutcome {
  return { index: job.index, bytesRead, checksum: null, error: { action, reason: errorReason(error) } };
}
