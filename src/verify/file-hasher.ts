/**
 * Checksums one file from disk, the unit of work of the checksum stage (run in worker threads by
 * checksum-pool.ts, or in-process for small backups). Small files are read synchronously in one go (async I/O
 * costs more than the read itself for an 8 kB relation file); large files are read with two buffers so the
 * next read runs on libuv's pool while the current chunk is hashed.
 *
 * A job can also be one part of a large CRC-32C file (file-parts.ts): then it reads its byte range, the last
 * part to end of file, and reports the part's raw CRC for the caller to combine.
 *
 * It reports what it read and computed; comparing with the manifest is the caller's job. It reads to end of
 * file rather than trusting the size, so a file that grew or shrank since the walk is noticed.
 */
import { closeSync, openSync, read, readSync } from 'node:fs';
import { fsPath } from '../manifest/byte-path.ts';
import { createDigester, type ChecksumAlgorithm } from '../manifest/checksum.ts';
import { crc32c } from '../util/crc32c.ts';
import { errorReason } from './report.ts';

export const CHUNK_BYTES = 1 << 20;

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
  readonly #buffers = [Buffer.allocUnsafe(CHUNK_BYTES), Buffer.allocUnsafe(CHUNK_BYTES)] as const;

  async hash(job: HashJob, onBytes: (bytes: number) => void): Promise<HashOutcome> {
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
    try {
      if (part !== undefined) bytesRead = await this.#readLarge(fd, sink, onBytes, part.offset, part.last ? Infinity : job.size);
      else if (job.size < CHUNK_BYTES) bytesRead = this.#readSmall(fd, sink);
      else bytesRead = await this.#readLarge(fd, sink, onBytes, 0, Infinity);
    } catch (error) {
      return failed(job, bytesRead, 'read', error);
    } finally {
      closeSync(fd);
    }
    if (digester !== null) return { index: job.index, bytesRead, checksum: digester.finish(), error: null };
    return { index: job.index, bytesRead, checksum: null, error: null, part: { offset: part?.offset ?? 0, crc: partCrc.value } };
  }

  #readSmall(fd: number, digester: Sink): number {
    const buffer = this.#buffers[0];
    let total = 0;
    for (;;) {
      const got = readSync(fd, buffer, 0, CHUNK_BYTES, null);
      if (got === 0) return total;
      digester.update(buffer, 0, got);
      total += got;
    }
  }

  /** Reads from `start` until end of file or `limit` bytes, the next read running while a chunk is hashed. */
  async #readLarge(fd: number, sink: Sink, onBytes: (bytes: number) => void, start: number, limit: number): Promise<number> {
    let total = 0;
    let which = 0;
    let pending = readAt(fd, this.#buffers[0], start, limit);
    for (;;) {
      const got = await pending;
      if (got === 0) return total;
      const buffer = this.#buffers[which] as Buffer;
      total += got;
      which ^= 1;
      pending = total < limit ? readAt(fd, this.#buffers[which] as Buffer, start + total, limit - total) : Promise.resolve(0);
      sink.update(buffer, 0, got);
      onBytes(got);
    }
  }
}

function readAt(fd: number, buffer: Buffer, position: number, most: number): Promise<number> {
  return new Promise((resolve, reject) => {
    read(fd, buffer, 0, Math.min(buffer.length, most), position, (error, bytesRead) => (error ? reject(error) : resolve(bytesRead)));
  });
}

function failed(job: HashJob, bytesRead: number, action: 'open' | 'read', error: unknown): HashOutcome {
  return { index: job.index, bytesRead, checksum: null, error: { action, reason: errorReason(error) } };
}
