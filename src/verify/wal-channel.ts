/**
 * Hands WAL segments found while streaming a tar archive (pg_wal.tar, or base.tar's pg_wal/ in fetch mode)
 * to the WAL verifier as it asks for them, without extracting anything and without holding more than a couple
 * of segments: the archive reader (producer) waits while `capacity` unrequested segments are buffered.
 *
 * Invariants the bound relies on: the verifier asks in ascending (segment, timeline) order, and
 * pg_basebackup's archives hold segments in that order. A segment offered after the verifier has moved past
 * it can never be asked for, so it is dropped. If the verifier waits for a segment that is not buffered, the
 * producer may run past the bound (it must, to find it): wrong order costs memory, never a wrong verdict.
 */
import type { WalSegmentSource } from '../wal/index.ts';

type Waiter = (bytes: Buffer | null) => void;

export class WalSegmentChannel implements WalSegmentSource {
  readonly #needed: ReadonlySet<string>;
  readonly #capacity: number;
  readonly #buffered = new Map<string, Buffer>();
  readonly #waiters = new Map<string, Waiter[]>();
  #lastRequestedKey = '';
  #closed = false;
  #finished = false;
  #wakeProducer: (() => void) | null = null;

  constructor(needed: ReadonlySet<string>, capacity = 1) {
    this.#needed = needed;
    this.#capacity = capacity;
  }

  /** Whether a member of this name is worth collecting. */
  wants(name: string): boolean {
    if (this.#finished || !this.#needed.has(name)) return false;
    return this.#waiters.has(name) || orderKey(name) >= this.#lastRequestedKey;
  }

  async offer(name: string, bytes: Buffer): Promise<void> {
    if (!this.wants(name)) return;
    const waiting = this.#waiters.get(name);
    if (waiting !== undefined) {
      this.#waiters.delete(name);
      for (const resolve of waiting) resolve(bytes);
      return;
    }
    this.#buffered.set(name, bytes);
    while (!this.#finished && this.#buffered.size >= this.#capacity && this.#waiters.size === 0) {
      await new Promise<void>((resolve) => {
        this.#wakeProducer = resolve;
      });
    }
  }

  /** The producer has no more segments: whatever is not buffered now is missing. */
  close(): void {
    this.#closed = true;
    for (const waiting of this.#waiters.values()) for (const resolve of waiting) resolve(null);
    this.#waiters.clear();
  }

  /** The verifier is done (or failed): drop everything and never block the producer again. */
  finish(): void {
    this.#finished = true;
    this.#buffered.clear();
    this.close();
    this.#wake();
  }

  readSegment(_tli: number, _segno: bigint, fileName: string): Promise<Buffer | null> {
    const key = orderKey(fileName);
    if (key > this.#lastRequestedKey) this.#lastRequestedKey = key;
    for (const name of this.#buffered.keys()) {
      if (name !== fileName && orderKey(name) < this.#lastRequestedKey) this.#buffered.delete(name);
    }
    const bytes = this.#buffered.get(fileName);
    if (bytes !== undefined) {
      this.#buffered.delete(fileName);
      this.#wake();
      return Promise.resolve(bytes);
    }
    if (this.#closed) return Promise.resolve(null);
    const promise = new Promise<Buffer | null>((resolve) => {
      const waiting = this.#waiters.get(fileName);
      if (waiting === undefined) this.#waiters.set(fileName, [resolve]);
      else waiting.push(resolve);
    });
    this.#wake();
    return promise;
  }

  #wake(): void {
    const wake = this.#wakeProducer;
    this.#wakeProducer = null;
    wake?.();
  }
}

/** `TTTTTTTTXXXXXXXXYYYYYYYY` ordered by segment, then timeline: log+seg first, as text (fixed-width hex). */
function orderKey(name: string): string {
  return name.slice(8) + name.slice(0, 8);
}
