/**
 * What the convoy hands one backup: a bounded queue of events for the archive it is in. The producer (a ring
 * reader, shared or private) pushes without blocking and asks `hasRoom` / `waitRoom` before pushing file data;
 * the consumer (the backup's copy-out loop) pulls with `next()`. Capacity counts file data bytes only: the
 * other events are small and bounded by the number of entries in flight.
 *
 * Byte ownership: data chunks are shared, immutable buffers (the same chunk sits in several members' queues);
 * nobody writes into them after they are pushed.
 *
 * Ending: `close(error)` by the consumer (its backup failed or was aborted) drops what is queued and makes every
 * later push a no-op, so a ring reader simply forgets the member; `next()` then rejects with that error.
 */
import type { ChecksumAlgorithm } from '../../manifest/checksum.ts';
import type { ArchiveEntry } from './archive-walk.ts';

export interface PageFailure {
  /** Block number within the file, as in the file's first block = 0. */
  readonly block: number;
  /** The page's LSN when it was (re-)read: the failure counts only for backups that started after it. */
  readonly lsn: bigint;
  readonly calculated: number;
  readonly expected: number;
}

export type ConvoyEvent =
  /** A directory, symlink or special file, or the start of a file (its data and a file-end follow). */
  | { readonly type: 'entry'; readonly entry: ArchiveEntry }
  /** File bytes, `shared` when this read was delivered to more than one backup. */
  | { readonly type: 'data'; readonly chunk: Buffer; readonly shared: boolean }
  | {
    readonly type: 'file-end';
    readonly entry: ArchiveEntry;
    /** Manifest checksum of the bytes sent, for each algorithm the receiving backups asked for. */
    readonly digests: ReadonlyMap<ChecksumAlgorithm, string>;
    readonly pageFailures: readonly PageFailure[];
    /** PostgreSQL's "could not verify checksum ..." warning when the file's size is not a multiple of the page. */
    readonly unverifiable: string | null;
  }
  | { readonly type: 'archive-end' };

interface Waiter {
  resolve(event: ConvoyEvent): void;
  reject(error: unknown): void;
}

export class MemberQueue {
  readonly #capacityBytes: number;
  #events: ConvoyEvent[] = [];
  #head = 0;
  #queuedBytes = 0;
  #waiter: Waiter | null = null;
  #roomWaiters: Array<() => void> = [];
  #failure: unknown = null;

  constructor(capacityBytes: number) {
    this.#capacityBytes = capacityBytes;
  }

  get isClosed(): boolean {
    return this.#failure !== null;
  }

  get hasRoom(): boolean {
    return this.#failure !== null || this.#queuedBytes < this.#capacityBytes;
  }

  get queuedBytes(): number {
    return this.#queuedBytes;
  }

  push(event: ConvoyEvent): void {
    if (this.#failure !== null) return;
    const waiter = this.#waiter;
    if (waiter !== null && this.#head === this.#events.length) {
      this.#waiter = null;
      waiter.resolve(event);
      return;
    }
    this.#events.push(event);
    if (event.type === 'data') this.#queuedBytes += event.chunk.length;
  }

  /** Resolves when there is room (or the queue was closed). */
  waitRoom(): Promise<void> {
    if (this.hasRoom) return Promise.resolve();
    return new Promise((resolve) => this.#roomWaiters.push(resolve));
  }

  next(): Promise<ConvoyEvent> {
    if (this.#failure !== null) return Promise.reject(this.#failure);
    if (this.#head < this.#events.length) {
      const event = this.#events[this.#head] as ConvoyEvent;
      this.#events[this.#head++] = ARCHIVE_END; // let the chunk go as soon as it is taken
      if (this.#head === this.#events.length) {
        this.#events = [];
        this.#head = 0;
      }
      if (event.type === 'data') {
        this.#queuedBytes -= event.chunk.length;
        if (this.hasRoom) this.#wakeProducers();
      }
      return Promise.resolve(event);
    }
    return new Promise((resolve, reject) => {
      this.#waiter = { resolve, reject };
    });
  }

  close(error: unknown): void {
    if (this.#failure !== null) return;
    this.#failure = error;
    this.#events = [];
    this.#head = 0;
    this.#queuedBytes = 0;
    const waiter = this.#waiter;
    this.#waiter = null;
    waiter?.reject(error);
    this.#wakeProducers();
  }

  #wakeProducers(): void {
    const waiters = this.#roomWaiters;
    this.#roomWaiters = [];
    for (const wake of waiters) wake();
  }
}

const ARCHIVE_END: ConvoyEvent = Object.freeze({ type: 'archive-end' });
