/**
 * Walks WAL records from a start LSN until one reaches an end LSN, checking what PostgreSQL's xlogreader checks
 * for each record: header (length, resource manager, prev-link), continuation pages (flag and remaining length),
 * CRC, and the split of the payload into fragments; page headers go to PageValidator. It does not decode rmgr
 * data. The first problem stops the walk by throwing a WAL_INVALID VerifyError that carries it.
 *
 * Speed: pg_waldump reads WAL at over 1 GB/s, so the per-record path is synchronous, works on numbers (segment
 * and offset, LSN halves) rather than bigints, and copies nothing for records that fit their page. Records are
 * never assembled: the CRC runs over the payload piece by piece, then over the header (PostgreSQL's order). A
 * record in progress is a resumable state, so when it runs into the next segment the walk loads that segment
 * (dropping the previous one) and carries on: memory is one segment plus read-ahead, whatever the record size.
 */
import { crc32c } from '../util/crc32c.ts';
import { formatLsn, type Lsn } from '../util/lsn.ts';
import { PageValidator } from './page-validator.ts';
import { checkRecordStructure, FRAGMENT_HEADER_PREFIX_BYTES, FRAGMENTS_BEYOND_INSPECTED } from './record-structure.ts';
import type { SegmentWindow } from './segment-window.ts';
import {
  isSwitchRecord, isValidRmid, MAX_RECORD_BYTES, RECORD_CRC_OFFSET, RECORD_HEADER_BYTES, RECORD_HEADER_CRC_BYTES,
  RECORD_INFO_OFFSET, RECORD_PREV_OFFSET, RECORD_RMID_OFFSET, WAL_PAGE_BYTES, XLP_FIRST_IS_CONTRECORD,
  XLP_FIRST_IS_OVERWRITE_CONTRECORD, type WalVersion,
} from './wal-format.ts';
import { walProblemError, type WalProblemCode } from './wal-problem.ts';

const PAGE = WAL_PAGE_BYTES;
// Where the record in progress stands: at its header, inside its bytes on a page, or at a continuation page.
const PHASE_START = 0;
const PHASE_BODY = 1;
const PHASE_CONTINUATION = 2;

export interface WalWalkerOptions {
  readonly window: SegmentWindow;
  readonly segmentBytes: number;
  readonly tli: number;
  /** Expected system identifier; when null, the first long header sets it for the rest of the range. */
  readonly systemId: bigint | null;
  /** The walk ends with the first record whose end reaches this LSN. */
  readonly endLsn: Lsn;
}

export class WalWalker {
  readonly #window: SegmentWindow;
  readonly #segmentBytes: number;
  readonly #segmentBig: bigint;
  readonly #pages: PageValidator;
  readonly #endLsn: Lsn;
  // The loaded segment and its start LSN's halves (a segment never straddles a 4 GiB boundary).
  #segno = -1n;
  #segment: Buffer = Buffer.alloc(0);
  #segHi = 0;
  #segLo = 0;
  #pageOffset = -1;
  #pageHeaderBytes = 0;
  #pageInfo = 0;
  #pageRemLen = 0;
  // The record in progress.
  #phase = PHASE_START;
  #recSegno = 0n;
  #offset = 0;
  #available = 0;
  #startSegno = 0n;
  #startOffset = 0;
  #startHi = 0;
  #startLo = 0;
  #totLen = 0;
  #got = 0;
  #crc = 0;
  #prefixBytes = 0;
  #structure: string | null = null;
  #collectFragments = false;
  #isSwitch = false;
  #prevHi = -1;
  #prevLo = 0;
  // Results.
  #records = 0;
  #firstLsn: Lsn = 0n;
  #nextSegno = 0n;
  #nextOffset = 0;
  readonly #header = Buffer.alloc(RECORD_HEADER_BYTES);
  readonly #prefix = Buffer.alloc(FRAGMENT_HEADER_PREFIX_BYTES);

  constructor(options: WalWalkerOptions) {
    this.#window = options.window;
    this.#segmentBytes = options.segmentBytes;
    this.#segmentBig = BigInt(options.segmentBytes);
    this.#endLsn = options.endLsn;
    this.#pages = new PageValidator({
      segmentBytes: options.segmentBytes, tli: options.tli, systemId: options.systemId, endLsn: options.endLsn,
      fileName: (segno) => options.window.fileName(segno),
      fail: (code, lsn, message) => this.#fail(code, lsn, message),
    });
  }

  /** Records checked so far (also after the walk stopped on a problem). */
  get recordsChecked(): number {
    return this.#records;
  }

  get firstRecordLsn(): Lsn | null {
    return this.#records === 0 ? null : this.#firstLsn;
  }

  /** Where the record after the last one checked starts (its MAXALIGNed end, or the next segment after a switch). */
  get nextRecordLsn(): Lsn | null {
    return this.#records === 0 ? null : this.#lsn(this.#nextSegno, this.#nextOffset);
  }

  /** Reads records from `startLsn` (a record start, or a page start) until one ends at or after the end LSN. */
  async walk(startLsn: Lsn): Promise<void> {
    const endSegno = this.#endLsn / this.#segmentBig;
    const endOffset = Number(this.#endLsn % this.#segmentBig);
    this.#begin(startLsn / this.#segmentBig, Number(startLsn % this.#segmentBig));
    for (;;) {
      if (this.#step() === 'need-segment') {
        await this.#load(this.#recSegno);
        continue;
      }
      if (this.#records++ === 0) this.#firstLsn = this.#lsn(this.#startSegno, this.#startOffset);
      let nextSegno = this.#recSegno;
      let nextOffset = (this.#offset + 7) & ~7;
      // XLOG_SWITCH: the rest of the segment is padding and the next record opens the next segment.
      if (nextOffset >= this.#segmentBytes || (this.#isSwitch && nextOffset > 0)) {
        nextSegno++;
        nextOffset = 0;
      }
      this.#nextSegno = nextSegno;
      this.#nextOffset = nextOffset;
      if (nextSegno > endSegno || (nextSegno === endSegno && nextOffset >= endOffset)) return;
      this.#prevHi = this.#startHi;
      this.#prevLo = this.#startLo;
      this.#begin(nextSegno, nextOffset);
    }
  }

  #begin(segno: bigint, offset: number): void {
    this.#phase = PHASE_START;
    this.#recSegno = segno;
    this.#offset = offset;
  }

  /** Advances the record in progress as far as the loaded segment allows. */
  #step(): 'done' | 'need-segment' {
    for (;;) {
      if (this.#recSegno !== this.#segno) return 'need-segment';
      if (this.#phase === PHASE_START) {
        if (this.#startRecord()) return 'done';
      } else if (this.#phase === PHASE_BODY) {
        if (this.#consume()) return 'done';
      } else {
        this.#checkPage(this.#offset);
        if ((this.#pageInfo & XLP_FIRST_IS_OVERWRITE_CONTRECORD) !== 0) {
          // The rest of this record was lost in a crash and recovery wrote a new record over it: skip it.
          this.#phase = PHASE_START;
          continue;
        }
        if ((this.#pageInfo & XLP_FIRST_IS_CONTRECORD) === 0) {
          this.#failRecord('WAL_RECORD_INVALID', (at) => `record at ${at} continues on the page at ` +
            `${formatLsn(this.#lsn(this.#recSegno, this.#offset))}, but that page has no contrecord flag`);
        }
        if (this.#pageRemLen === 0 || this.#totLen !== this.#pageRemLen + this.#got) {
          this.#failRecord('WAL_RECORD_INVALID', (at) => `invalid contrecord length ${this.#pageRemLen} (expected ` +
            `${this.#totLen - this.#got}) at ${formatLsn(this.#lsn(this.#recSegno, this.#offset))} for record at ${at}`);
        }
        this.#offset += this.#pageHeaderBytes;
        this.#available = PAGE - this.#pageHeaderBytes;
        this.#phase = PHASE_BODY;
      }
    }
  }

  /** Reads the record header; finishes a record that fits its page at once (the common case). */
  #startRecord(): boolean {
    const segment = this.#segment;
    const pageOffset = this.#offset - (this.#offset % PAGE);
    this.#checkPage(pageOffset);
    let inPage = this.#offset - pageOffset;
    if (inPage === 0) {
      inPage = this.#pageHeaderBytes;
      this.#offset += inPage;
    }
    this.#startSegno = this.#recSegno;
    this.#startOffset = this.#offset;
    this.#startHi = this.#segHi;
    this.#startLo = this.#segLo + this.#offset;
    if (inPage < this.#pageHeaderBytes || inPage % 8 !== 0) {
      this.#failRecord('WAL_RECORD_INVALID', (at) => `invalid record offset at ${at}`);
    }
    if ((this.#pageInfo & XLP_FIRST_IS_CONTRECORD) !== 0 && inPage === this.#pageHeaderBytes) {
      this.#failRecord('WAL_RECORD_INVALID', (at) => `contrecord is requested by ${at}`);
    }
    const totLen = segment.readUInt32LE(this.#offset);
    if (totLen === 0) {
      this.#failRecord('WAL_ENDS_EARLY', (at) => `WAL ends at ${at} before end LSN ${formatLsn(this.#endLsn)}: ` +
        'no record follows');
    }
    if (totLen < RECORD_HEADER_BYTES || totLen > MAX_RECORD_BYTES) {
      this.#failRecord('WAL_RECORD_INVALID', (at) => `invalid record length ${totLen} at ${at}`);
    }
    this.#totLen = totLen;
    this.#available = PAGE - inPage;
    const at = this.#offset;
    const version = this.#pages.version as WalVersion;
    const payloadOnPage = this.#available - RECORD_HEADER_BYTES;
    // Fragment headers nearly always lie on the record's first page: check them there (the verdict waits for the
    // CRC, as in PostgreSQL) rather than copying them aside.
    const structure = payloadOnPage < 0 ? FRAGMENTS_BEYOND_INSPECTED
      : checkRecordStructure(segment, at + RECORD_HEADER_BYTES, Math.min(payloadOnPage, totLen - RECORD_HEADER_BYTES),
        totLen - RECORD_HEADER_BYTES, version);
    if (totLen <= this.#available) {
      this.#checkHeader(segment, at);
      const crc = crc32c(segment, crc32c(segment, 0, at + RECORD_HEADER_BYTES, at + totLen), at, at + RECORD_HEADER_CRC_BYTES);
      this.#finishRecord(crc, segment, at, structure);
      this.#offset += totLen;
      return true;
    }
    this.#got = 0;
    this.#crc = 0;
    this.#structure = structure;
    this.#collectFragments = structure === FRAGMENTS_BEYOND_INSPECTED;
    this.#prefixBytes = this.#collectFragments ? Math.min(totLen - RECORD_HEADER_BYTES, FRAGMENT_HEADER_PREFIX_BYTES) : 0;
    this.#phase = PHASE_BODY;
    return false;
  }

  /** Takes the record's bytes on the current page: header (and, rarely, fragment headers) aside, payload into the CRC. */
  #consume(): boolean {
    const segment = this.#segment;
    const got = this.#got;
    const take = Math.min(this.#totLen - got, this.#available);
    const at = this.#offset;
    for (let i = got; i < RECORD_HEADER_BYTES && i < got + take; i++) this.#header[i] = segment[at + i - got] as number;
    const payloadFrom = Math.max(got, RECORD_HEADER_BYTES);
    if (got + take > payloadFrom) {
      const from = at + (payloadFrom - got);
      this.#crc = crc32c(segment, this.#crc, from, at + take);
      const prefixAt = payloadFrom - RECORD_HEADER_BYTES;
      if (prefixAt < this.#prefixBytes) {
        segment.copy(this.#prefix, prefixAt, from, from + Math.min(at + take - from, this.#prefixBytes - prefixAt));
      }
    }
    if (got < RECORD_HEADER_BYTES && got + take >= RECORD_HEADER_BYTES) this.#checkHeader(this.#header, 0);
    this.#got = got + take;
    this.#offset = at + take;
    this.#available -= take;
    if (this.#got === this.#totLen) {
      const crc = crc32c(this.#header, this.#crc, 0, RECORD_HEADER_CRC_BYTES);
      const structure = !this.#collectFragments ? this.#structure : checkRecordStructure(this.#prefix, 0,
        this.#prefixBytes, this.#totLen - RECORD_HEADER_BYTES, this.#pages.version as WalVersion);
      this.#finishRecord(crc, this.#header, 0, structure);
      return true;
    }
    if (this.#offset === this.#segmentBytes) {
      this.#recSegno++;
      this.#offset = 0;
    }
    this.#phase = PHASE_CONTINUATION;
    return false;
  }

  #checkHeader(bytes: Buffer, at: number): void {
    const rmid = bytes[at + RECORD_RMID_OFFSET] as number;
    if (!isValidRmid(rmid, this.#pages.version as WalVersion)) {
      this.#failRecord('WAL_RECORD_INVALID', (lsn) => `invalid resource manager ID ${rmid} at ${lsn}`);
    }
    const prevLo = bytes.readUInt32LE(at + RECORD_PREV_OFFSET);
    const prevHi = bytes.readUInt32LE(at + RECORD_PREV_OFFSET + 4);
    // The first record can only be checked to point backwards; later ones must point at their predecessor.
    const isValid = this.#prevHi === -1
      ? prevHi < this.#startHi || (prevHi === this.#startHi && prevLo < this.#startLo)
      : prevHi === this.#prevHi && prevLo === this.#prevLo;
    if (!isValid) {
      const prev = formatLsn((BigInt(prevHi) << 32n) | BigInt(prevLo));
      this.#failRecord('WAL_RECORD_INVALID', (lsn) => `record with incorrect prev-link ${prev} at ${lsn}`);
    }
  }

  #finishRecord(crc: number, header: Buffer, headerAt: number, structure: string | null): void {
    if (crc !== header.readUInt32LE(headerAt + RECORD_CRC_OFFSET)) {
      this.#failRecord('WAL_CRC_MISMATCH', (at) => `record at ${at} has incorrect CRC`);
    }
    if (structure !== null) this.#failRecord('WAL_RECORD_INVALID', (at) => `record at ${at} is malformed: ${structure}`);
    this.#isSwitch = isSwitchRecord(header[headerAt + RECORD_RMID_OFFSET] as number,
      header[headerAt + RECORD_INFO_OFFSET] as number);
  }

  #checkPage(pageOffset: number): void {
    if (pageOffset === this.#pageOffset) return;
    const header = this.#pages.check(this.#segment, this.#segno, pageOffset);
    this.#pageOffset = pageOffset;
    this.#pageHeaderBytes = header.headerBytes;
    this.#pageInfo = header.info;
    this.#pageRemLen = header.remLen;
  }

  async #load(segno: bigint): Promise<void> {
    // Let go of the previous segment before the window reads ahead past this one.
    this.#segment = Buffer.alloc(0);
    this.#segno = -1n;
    this.#pageOffset = -1;
    const bytes = await this.#window.load(segno);
    if (!Buffer.isBuffer(bytes)) throw walProblemError(bytes);
    const segmentLsn = segno * this.#segmentBig;
    this.#segno = segno;
    this.#segment = bytes;
    this.#segHi = Number(segmentLsn >> 32n);
    this.#segLo = Number(segmentLsn & 0xffffffffn);
    // As xlogreader does, a segment's first page (the long header naming the system) is checked on entry.
    this.#checkPage(0);
  }

  #lsn(segno: bigint, offset: number): Lsn {
    return segno * this.#segmentBig + BigInt(offset);
  }

  #failRecord(code: WalProblemCode, message: (at: string) => string): never {
    const lsn = this.#lsn(this.#startSegno, this.#startOffset);
    return this.#fail(code, lsn, message(formatLsn(lsn)));
  }

  #fail(code: WalProblemCode, lsn: Lsn, message: string): never {
    const file = this.#window.fileName(lsn / this.#segmentBig);
    const withFile = message.includes(file) ? message : `${message} (WAL segment "${file}")`;
    throw walProblemError({ code, lsn, file, message: withFile });
  }
}
