/**
 * A file being written by a terminal stage: chunks are collected and written with one writev per ~1 MiB, so the
 * cost per chunk is an array push, not a system call. One batch may be in flight while the next is collected
 * (double buffering), so parsing and disk writes overlap; at most two batches are held. Writes are positional,
 * which also lets the WAL writer fill a pre-sized segment. Chunks are kept by reference until written (the
 * pipeline's receivers own their chunks).
 *
 * Errors become FsError (ENOSPC -> DISK_FULL) and surface from the next call after the failed write.
 */
import { promises as fs, constants as fsConstants } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import { fsCall, needsChmod } from './fs-helpers.ts';
import { InternalError, fsError } from '../../errors/index.ts';

const BATCH_BYTES = 1024 * 1024;
const BATCH_BUFFERS = 512;

export class FileOutput {
  readonly path: string | Buffer;
  #handle: FileHandle | null;
  #batch: Buffer[] = [];
  #batchBytes = 0;
  #position = 0;
  #inflight: Promise<void> | null = null;

  private constructor(path: string | Buffer, handle: FileHandle) {
    this.path = path;
    this.#handle = handle;
  }

  /** Creates (or truncates) a regular file; never follows a symlink at `path`. */
  static async create(path: string | Buffer, mode: number): Promise<FileOutput> {
    const flags = fsConstants.O_WRONLY | fsConstants.O_CREAT | fsConstants.O_TRUNC | fsConstants.O_NOFOLLOW;
    const handle = await fsCall('create file', path, () => fs.open(path, flags, mode));
    const output = new FileOutput(path, handle);
    if (needsChmod(mode)) await fsCall('change mode of', path, () => handle.chmod(mode));
    return output;
  }

  get position(): number {
    return this.#position + this.#batchBytes;
  }

  async write(chunk: Buffer): Promise<void> {
    if (chunk.length === 0) return;
    this.#batch.push(chunk);
    this.#batchBytes += chunk.length;
    if (this.#batchBytes >= BATCH_BYTES || this.#batch.length >= BATCH_BUFFERS) {
      await this.#inflight;
      this.#inflight = this.#writeBatch();
      // Surface a failure on the next call, not as an unhandled rejection.
      this.#inflight.catch(() => undefined);
    }
  }

  /** Moves the write position (flushing what was collected for the old one). */
  async seek(position: number): Promise<void> {
    if (position === this.position) return;
    await this.flush();
    this.#position = position;
  }

  async truncate(bytes: number): Promise<void> {
    await this.flush();
    const handle = this.#open();
    await fsCall('truncate file', this.path, () => handle.truncate(bytes));
  }

  async flush(): Promise<void> {
    await this.#inflight;
    this.#inflight = null;
    await this.#writeBatch();
  }

  async #writeBatch(): Promise<void> {
    if (this.#batchBytes === 0) return;
    const handle = this.#open();
    let buffers = this.#batch;
    let left = this.#batchBytes;
    let at = this.#position;
    // Reserve the range now so `position` stays right while this batch is in flight.
    this.#position += left;
    this.#batch = [];
    this.#batchBytes = 0;
    while (left > 0) {
      const { bytesWritten } = await fsCall('write to file', this.path, () => handle.writev(buffers, at));
      // A write that makes no progress is a full disk, as PostgreSQL treats short writes.
      if (bytesWritten === 0) throw fsError('write to file', this.path.toString(), Object.assign(new Error('ENOSPC: no space left on device'), { code: 'ENOSPC' }));
      at += bytesWritten;
      left -= bytesWritten;
      if (left > 0) buffers = dropBytes(buffers, bytesWritten);
    }
  }

  async sync(): Promise<void> {
    await this.flush();
    const handle = this.#open();
    await fsCall('fsync file', this.path, () => handle.sync());
  }

  async close(): Promise<void> {
    await this.flush();
    const handle = this.#handle;
    this.#handle = null;
    if (handle !== null) await fsCall('close file', this.path, () => handle.close());
  }

  /** Closes without writing what is pending; for cleanup after a failure. Never throws. */
  async abandon(): Promise<void> {
    await this.#inflight?.catch(() => undefined);
    this.#inflight = null;
    this.#batch = [];
    this.#batchBytes = 0;
    const handle = this.#handle;
    this.#handle = null;
    await handle?.close().catch(() => undefined);
  }

  #open(): FileHandle {
    if (this.#handle === null) throw new InternalError('INTERNAL_ASSERTION', `file "${this.path.toString()}" is closed`);
    return this.#handle;
  }
}

function dropBytes(buffers: Buffer[], count: number): Buffer[] {
  let left = count;
  const rest: Buffer[] = [];
  for (const buffer of buffers) {
    if (left >= buffer.length) left -= buffer.length;
    else {
      rest.push(left > 0 ? buffer.subarray(left) : buffer);
      left = 0;
    }
  }
  return rest;
}
