/**
 * The segments a WAL walk holds: the one being read and the next one, fetched ahead so that reading overlaps
 * checking. Nothing older than the current segment is kept, so memory stays at two segments whatever the
 * range. Read errors of the source (other than "missing") propagate to the walker's caller unchanged; a
 * missing or wrongly sized segment is a WAL problem.
 */
import { walFileName } from '../util/lsn.ts';
import type { WalProblem } from './wal-problem.ts';

export interface WalSegmentSource {
  /** The whole segment file, or null when it does not exist. */
  readSegment(tli: number, segno: bigint, fileName: string): Promise<Buffer | null>;
}

export class SegmentWindow {
  readonly #source: WalSegmentSource;
  readonly #tli: number;
  readonly #segmentBytes: number;
  readonly #lastPrefetchSegno: bigint;
  readonly #reads = new Map<bigint, Promise<Buffer | null>>();
  /** Every segment number handed out, so a final sweep checks only the others. */
  readonly #seen = new Set<bigint>();

  /** `lastPrefetchSegno`: read-ahead stops there; later segments are still read when asked for. */
  constructor(source: WalSegmentSource, tli: number, segmentBytes: number, lastPrefetchSegno: bigint) {
    this.#source = source;
    this.#tli = tli;
    this.#segmentBytes = segmentBytes;
    this.#lastPrefetchSegno = lastPrefetchSegno;
  }

  fileName(segno: bigint): string {
    return walFileName(this.#tli, segno, this.#segmentBytes);
  }

  hasSeen(segno: bigint): boolean {
    return this.#seen.has(segno);
  }

  /**
   * The segment's bytes, or the problem with it; forgets older segments and starts reading the next one. Callers
   * drop their own reference to the previous segment first, so at most two segments are alive.
   */
  async load(segno: bigint): Promise<Buffer | WalProblem> {
    const bytes = await this.#get(segno);
    const file = this.fileName(segno);
    const lsn = segno * BigInt(this.#segmentBytes);
    if (bytes === null) return { code: 'WAL_SEGMENT_MISSING', lsn, file, message: `WAL segment "${file}" is missing` };
    if (bytes.length !== this.#segmentBytes) {
      return { code: 'WAL_SEGMENT_SIZE', lsn, file,
        message: `WAL segment "${file}" has size ${bytes.length}, expected ${this.#segmentBytes}` };
    }
    return bytes;
  }

  #get(segno: bigint): Promise<Buffer | null> {
    for (const held of this.#reads.keys()) if (held < segno) this.#reads.delete(held);
    const bytes = this.#start(segno);
    if (segno < this.#lastPrefetchSegno) this.#start(segno + 1n);
    this.#seen.add(segno);
    return bytes;
  }

  #start(segno: bigint): Promise<Buffer | null> {
    let read = this.#reads.get(segno);
    if (read === undefined) {
      read = this.#source.readSegment(this.#tli, segno, this.fileName(segno));
      // A read-ahead that fails is reported when (and if) the walk asks for that segment.
      read.catch(() => undefined);
      this.#reads.set(segno, read);
    }
    return read;
  }
}
