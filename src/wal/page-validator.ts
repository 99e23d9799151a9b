/**
 * Checks WAL page headers as PostgreSQL's xlogreader does for every page it reads: a known magic (the same one
 * across the range), defined info bits, a long header on each segment's first page whose segment size, page
 * size and system identifier match, the page address, and timelines that never go down (nor above the range's
 * timeline: older ones are normal just after a timeline switch). Runs once per page; messages are built only
 * when a check fails.
 */
import { formatLsn, type Lsn } from '../util/lsn.ts';
import {
  isZeroHeader, magicText, readPageHeader, WAL_PAGE_BYTES, walVersionOf, XLP_ALL_FLAGS, type PageHeader,
  type WalVersion,
} from './wal-format.ts';
import type { WalProblemCode } from './wal-problem.ts';

export interface PageValidatorOptions {
  readonly segmentBytes: number;
  readonly tli: number;
  /** Expected system identifier; when null, the first long header sets it for the rest of the range. */
  readonly systemId: bigint | null;
  /** Only for messages: the LSN the walk is trying to reach. */
  readonly endLsn: Lsn;
  readonly fileName: (segno: bigint) => string;
  readonly fail: (code: WalProblemCode, lsn: Lsn, message: string) => never;
}

export class PageValidator {
  readonly #options: PageValidatorOptions;
  #systemId: bigint | null;
  #version: WalVersion | null = null;
  #latestPageLsn = -1n;
  #latestPageTli = 0;

  constructor(options: PageValidatorOptions) {
    this.#options = options;
    this.#systemId = options.systemId;
  }

  /** Known once the first page header has been read. */
  get version(): WalVersion | null {
    return this.#version;
  }

  check(bytes: Buffer, segno: bigint, offset: number): PageHeader {
    const pageLsn = segno * BigInt(this.#options.segmentBytes) + BigInt(offset);
    const header = readPageHeader(bytes, offset);
    const problem = this.#problemOf(header, bytes, segno, offset, pageLsn);
    if (problem !== null) this.#options.fail(problem[0], pageLsn, problem[1]);
    if (pageLsn > this.#latestPageLsn) {
      this.#latestPageLsn = pageLsn;
      this.#latestPageTli = header.tli;
    }
    return header;
  }

  #problemOf(header: PageHeader, bytes: Buffer, segno: bigint, offset: number,
    pageLsn: Lsn): [WalProblemCode, string] | null {
    const { segmentBytes, tli } = this.#options;
    if (isZeroHeader(bytes, offset)) {
      return ['WAL_ENDS_EARLY', `WAL ends at ${formatLsn(pageLsn)} before end LSN ${formatLsn(this.#options.endLsn)}: ` +
        `the page ${this.#where(segno, offset, pageLsn)} was never written`];
    }
    if (this.#version === null) {
      this.#version = walVersionOf(header.magic);
      if (this.#version === null) {
        return ['WAL_PAGE_HEADER', `invalid magic number ${magicText(header.magic)} ${this.#where(segno, offset, pageLsn)}`];
      }
    } else if (header.magic !== this.#version.magic) {
      const known = walVersionOf(header.magic);
      return ['WAL_PAGE_HEADER', `${known === null ? 'invalid' : `PostgreSQL ${known.major}`} magic number ` +
        `${magicText(header.magic)} ${this.#where(segno, offset, pageLsn)}, but the range began with PostgreSQL ` +
        `${this.#version.major} WAL`];
    }
    if ((header.info & ~XLP_ALL_FLAGS) !== 0) {
      return ['WAL_PAGE_HEADER', `invalid info bits ${magicText(header.info)} ${this.#where(segno, offset, pageLsn)}`];
    }
    if (header.long !== null) {
      if (header.long.segmentBytes !== segmentBytes) {
        return ['WAL_PAGE_HEADER', `incorrect segment size ${header.long.segmentBytes} in page header ` +
          this.#where(segno, offset, pageLsn)];
      }
      if (header.long.pageBytes !== WAL_PAGE_BYTES) {
        return ['WAL_PAGE_HEADER', `incorrect XLOG_BLCKSZ ${header.long.pageBytes} in page header ` +
          this.#where(segno, offset, pageLsn)];
      }
      this.#systemId ??= header.long.systemId;
      if (header.long.systemId !== this.#systemId) {
        return ['WAL_SYSTEM_ID_MISMATCH', `WAL segment "${this.#options.fileName(segno)}" is from a different database ` +
          `system: system identifier is ${header.long.systemId}, expected ${this.#systemId}`];
      }
    } else if (offset === 0) {
      return ['WAL_PAGE_HEADER', `invalid info bits ${magicText(header.info)} ${this.#where(segno, offset, pageLsn)}: ` +
        'the first page of a segment needs a long header'];
    }
    if (header.pageAddrLsn !== pageLsn) {
      return ['WAL_PAGE_HEADER', `unexpected pageaddr ${formatLsn(header.pageAddrLsn)} ${this.#where(segno, offset, pageLsn)}`];
    }
    if (header.tli > tli) {
      return ['WAL_TIMELINE_MISMATCH', `timeline ID ${header.tli} ${this.#where(segno, offset, pageLsn)} is later than ` +
        `the range's timeline ${tli}`];
    }
    // A timeline only ever switches to a higher one, so TLIs never go down along the WAL.
    if (pageLsn > this.#latestPageLsn && header.tli < this.#latestPageTli) {
      return ['WAL_PAGE_HEADER', `out-of-sequence timeline ID ${header.tli} (after ${this.#latestPageTli}) ` +
        this.#where(segno, offset, pageLsn)];
    }
    return null;
  }

  #where(segno: bigint, offset: number, pageLsn: Lsn): string {
    return `in WAL segment "${this.#options.fileName(segno)}", LSN ${formatLsn(pageLsn)}, offset ${offset}`;
  }
}
