/**
 * A file being written by a terminal stage: chunks are collected and written with one positional writev per
 * ~1 MiB, so the cost per chunk is an array push, not a system call. Chunks are kept by reference until written
 * (the pipeline's receivers own their chunks). Writes are positional, which also lets the WAL writer fill a
 * pre-sized segment.
 *
 * Two write modes, both measured on a pgbench cluster (bench/backup-bench.ts):
 *  - 'sync' (default, one destination): the writev runs on the calling thread, as pg_basebackup's writes do. It
 *    only copies into the page cache, and handing each batch to the thread pool cost more than it overlapped
 *    (a cross-thread wake-up per batch: ~15% of a plain backup's wall time on two cores). A blocking write is
 *    also the backpressure; the kernel's socket buffer keeps filling meanwhile. At most one batch is held.
 *  - 'overlapped' (fan-out): the writev goes to the thread pool and one batch may be in flight while the next is
 *    collected, so several destinations fed by one stream write in parallel instead of one after another. At
 *    most two batches are held.
 * Open, truncate, fsync and close are asynchronous in both.
 *
 * Errors become FsError (ENOSPC -> DISK_FULL); a failed batch is thrown by the call that wrote it ('sync') or by
 * the next call ('overlapped'). close() closes the file even when its last write fails.
 */
import { promises as fs, constants as fsConstants } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import { dropBytes, fsCall, needsChmod, noProgressError, writevAllSync } from './fs-helpers.ts';
import { InternalError } from '../../errors/index.ts';

const BATCH_BYTES = 1024 * 1024;
const BATCH_BUFFERS = 512;

export type WriteMode = 'sync' | 'overlapped';

interface Batch {
  buffers: Buffer[];
  at: number;
  left: number;
}

export class FileOutput {
  readonly path: string | Buffer;
  readonly #mode: WriteMode;
  #handle: FileHandle | null;
  #batch: Buffer[] = [];
  #batchBytes = 0;
  #position = 0;
  #inflight: Promise<void> | null = null;

  private constructor(path: string | Buffer, handle: FileHandle, mode: WriteMode) {
    this.path = path;
    this.#handle = handle;
    this.#mode = mode;
  }

  /** Creates (or truncates) a regular file; never follows a symlink at `path`. */
  static async create(path: string | Buffer, mode: number, writeMode: WriteMode = 'sync'): Promise<FileOutput> {
    const flags = fsConstants.O_WRONLY | fsConstants.O_CREAT | fsConstants.O_TRUNC | fsConstants.O_NOFOLLOW;
    const handle = await fsCall('create file', path, () => fs.open(path, flags, mode));
    const output = new FileOutput(path, handle, writeMode);
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
    if (this.#batchBytes < BATCH_BYTES && this.#batch.length < BATCH_BUFFERS) return;
    if (this.#mode === 'sync') {
      this.#writeSync(this.#takeBatch());
      return;
    }
    await this.#inflight;
    this.#inflight = this.#writeOverlapped(this.#takeBatch());
    // Surface a failure on the next call, not as an unhandled rejection.
    this.#inflight.catch(() => undefined);
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
    if (this.#batchBytes === 0) return;
    if (this.#mode === 'sync') this.#writeSync(this.#takeBatch());
    else await this.#writeOverlapped(this.#takeBatch());
  }

  async sync(): Promise<void> {
    await this.flush();
    const handle = this.#open();
    await fsCall('fsync file', this.path, () => handle.sync());
  }

  /** Writes what is pending and closes; if that write fails the file is still closed, then the error thrown. */
  async close(): Promise<void> {
    try {
      await this.flush();
    } catch (error) {
      await this.abandon();
      throw error;
    }
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

  /** Takes the collected chunks and reserves their range, so `position` stays right while they are written. */
  #takeBatch(): Batch {
    const batch = { buffers: this.#batch, at: this.#position, left: this.#batchBytes };
    this.#position += this.#batchBytes;
    this.#batch = [];
    this.#batchBytes = 0;
    return batch;
  }

  #writeSync(batch: Batch): void {
    writevAllSync(this.#open().fd, batch.buffers, batch.left, batch.at, 'write to file', this.path.toString());
  }

  async #writeOverlapped(batch: Batch): Promise<void> {
    const handle = this.#open();
    while (batch.left > 0) {
      const { bytesWritten } = await fsCall('write to file', this.path, () => handle.writev(batch.buffers, batch.at));
      this.#advance(batch, bytesWritten);
    }
  }

  #advance(batch: Batch, bytesWritten: number): void {
    if (bytesWritten === 0) throw noProgressError('write to file', this.path.toString());
    batch.at += bytesWritten;
    batch.left -= bytesWritten;
    if (batch.left > 0) batch.buffers = dropBytes(batch.buffers, bytesWritten);
  }

  #open(): FileHandle {
    if (this.#handle === null) throw new InternalError('INTERNAL_ASSERTION', `file "${this.path.toString()}" is closed`);
    return this.#handle;
  }
}
