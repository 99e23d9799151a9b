/**
 * Which bytes of a backup's WAL matter: the oracle of the corruption trials, written from PostgreSQL's documented
 * WAL layout (access/xlog_internal.h, access/xlogrecord.h) and sharing nothing with src/wal, so that a wrong idea
 * in the verifier cannot hide behind the same idea here.
 *
 * A byte matters when recovery from the backup reads and checks it between the start LSN and the end LSN:
 *   - every byte of every record that starts in [start, end): the record header (including its two padding bytes,
 *     which the record CRC covers) and all xl_tot_len bytes of it, wherever page headers split it;
 *   - the page header fields the reader validates on every page it reads: xlp_magic, xlp_info (except the
 *     XLP_BKP_REMOVABLE and overwrite-contrecord bits, which it never checks), xlp_tli, xlp_pageaddr, and
 *     xlp_rem_len where a record continues onto that page; on the first page of each segment also the long header's
 *     xlp_sysid, xlp_seg_size and xlp_xlog_blcksz. The first page of the first segment is validated too: the reader
 *     checks it whenever it opens a segment, whatever page it wants from it.
 * What does not matter: the 4 padding bytes of each page header, alignment padding between records, records
 * before the start LSN, and everything from the end LSN on (the rest of the last segment).
 */

const SHORT_HEADER_BYTES = 24;
const LONG_HEADER_BYTES = 40;
const RECORD_HEADER_BYTES = 24;
const XLP_FIRST_IS_CONTRECORD = 0x01;
const XLP_LONG_HEADER = 0x02;
/** xlp_info bits recovery checks: anything outside XLP_ALL_FLAGS, and CONTRECORD / LONG_HEADER. */
export const XLP_INFO_CHECKED_BITS = 0xff & ~0x0c;
const RM_XLOG_ID = 0;
const XLOG_SWITCH = 0x40;

export interface ByteRange {
  readonly from: number;
  readonly to: number;
  /** Only for a one-byte range: a flip matters only if its mask touches these bits. */
  readonly bits?: number;
}

export interface WalSignificance {
  /** Byte ranges that matter, per segment name (offsets within the segment), sorted. */
  readonly ranges: ReadonlyMap<string, readonly ByteRange[]>;
  /** Segment names from the start LSN's to the end LSN's, in order. */
  readonly segments: readonly string[];
  readonly segmentBytes: number;
  readonly pageBytes: number;
}

export function segmentName(tli: number, segNo: bigint, segmentBytes: number): string {
  const perId = 0x1_0000_0000n / BigInt(segmentBytes);
  const hex = (value: bigint | number): string => value.toString(16).toUpperCase().padStart(8, '0');
  return `${hex(tli)}${hex(segNo / perId)}${hex(segNo % perId)}`;
}

export function parseLsnText(text: string): bigint {
  const match = /^([0-9A-Fa-f]{1,8})\/([0-9A-Fa-f]{1,8})$/.exec(text);
  if (match === null) throw new Error(`not an LSN: "${text}"`);
  return (BigInt(`0x${match[1] as string}`) << 32n) | BigInt(`0x${match[2] as string}`);
}

/**
 * Walks the records from `startLsn` to `endLsn` (`read` returns a segment's bytes by name) and returns what
 * matters. Throws if the pristine WAL does not parse as expected: the oracle must not guess.
 */
export function walSignificance(
  read: (name: string) => Buffer, tli: number, startLsn: bigint, endLsn: bigint, segmentBytes: number,
): WalSignificance {
  const startSegment = read(segmentName(tli, startLsn / BigInt(segmentBytes), segmentBytes));
  if (startSegment.readUInt32LE(32) !== segmentBytes) throw new Error(`the start segment's header gives another segment size`);
  const pageBytes = startSegment.readUInt32LE(36);
  const segBytes = BigInt(segmentBytes);
  const pageSize = BigInt(pageBytes);

  const ranges = new Map<string, ByteRange[]>();
  const cache = new Map<string, Buffer>();
  const nameOf = (lsn: bigint): string => segmentName(tli, lsn / segBytes, segmentBytes);
  const segmentOf = (lsn: bigint): Buffer => {
    const name = nameOf(lsn);
    let bytes = cache.get(name);
    if (bytes === undefined) {
      bytes = read(name);
      if (bytes.length !== segmentBytes) throw new Error(`WAL segment ${name} has ${bytes.length} bytes, not ${segmentBytes}`);
      cache.set(name, bytes);
    }
    return bytes;
  };
  const mark = (lsn: bigint, length: number, bits?: number): void => {
    const name = nameOf(lsn);
    const from = Number(lsn % segBytes);
    const list = ranges.get(name) ?? [];
    list.push(bits === undefined ? { from, to: from + length } : { from, to: from + length, bits });
    ranges.set(name, list);
  };
  const headerBytes = (pageLsn: bigint): number => (pageLsn % segBytes === 0n ? LONG_HEADER_BYTES : SHORT_HEADER_BYTES);
  const pagesSeen = new Set<bigint>();
  /** The validated header fields of the page at `pageLsn`; rem_len too when a record continues onto it. */
  const markPage = (pageLsn: bigint, continued: boolean): void => {
    if (pagesSeen.has(pageLsn) && !continued) return;
    pagesSeen.add(pageLsn);
    const bytes = segmentOf(pageLsn);
    const at = Number(pageLsn % segBytes);
    const isLong = (bytes.readUInt16LE(at + 2) & XLP_LONG_HEADER) !== 0;
    if (isLong !== (at === 0)) {
      throw new Error(`page ${pageLsn.toString(16)} of ${nameOf(pageLsn)}: long-header flag where it does not belong`);
    }
    if (BigInt.asUintN(64, bytes.readBigUInt64LE(at + 8)) !== pageLsn) {
      throw new Error(`page ${pageLsn.toString(16)} of ${nameOf(pageLsn)} says it is at ${bytes.readBigUInt64LE(at + 8).toString(16)}`);
    }
    mark(pageLsn, 2); // xlp_magic
    mark(pageLsn + 2n, 1, XLP_INFO_CHECKED_BITS); // xlp_info, low byte
    mark(pageLsn + 3n, 1); // xlp_info, high byte: no flag lives there
    mark(pageLsn + 4n, 12); // xlp_tli, xlp_pageaddr
    if (continued) mark(pageLsn + 16n, 4); // xlp_rem_len
    if (at === 0) mark(pageLsn + 24n, 16); // xlp_sysid, xlp_seg_size, xlp_xlog_blcksz
  };

  // the first page of the start segment is validated on opening it, even when the start lies further on
  markPage(startLsn - (startLsn % segBytes), false);
  /** Marks `length` bytes of record data from `lsn` on, hopping page headers; returns the LSN after them. */
  const markData = (lsn: bigint, length: number): bigint => {
    let at = lsn;
    let left = length;
    while (left > 0) {
      const pageLsn = at - (at % pageSize);
      markPage(pageLsn, false);
      const room = Number(pageLsn + pageSize - at);
      const take = Math.min(room, left);
      mark(at, take);
      left -= take;
      at += BigInt(take);
      if (left > 0) {
        const next = at; // a page boundary: the record continues after the next page's header
        const info = segmentOf(next).readUInt16LE(Number(next % segBytes) + 2);
        if ((info & XLP_FIRST_IS_CONTRECORD) === 0) throw new Error(`record at ${lsn.toString(16)} continues onto a page without the contrecord flag`);
        markPage(next, true);
        at = next + BigInt(headerBytes(next));
      }
    }
    return at;
  };
  /** Reads `length` bytes of record data from `lsn` on (across page headers), without marking. */
  const readData = (lsn: bigint, length: number): Buffer => {
    const out = Buffer.alloc(length);
    let at = lsn;
    let done = 0;
    while (done < length) {
      const pageLsn = at - (at % pageSize);
      const take = Math.min(Number(pageLsn + pageSize - at), length - done);
      const offset = Number(at % segBytes);
      segmentOf(at).copy(out, done, offset, offset + take);
      done += take;
      at += BigInt(take);
      if (done < length) at += BigInt(headerBytes(at));
    }
    return out;
  };

  let lsn = startLsn;
  while (lsn < endLsn) {
    if (lsn % pageSize === 0n) lsn += BigInt(headerBytes(lsn));
    const header = readData(lsn, RECORD_HEADER_BYTES);
    const totalBytes = header.readUInt32LE(0);
    if (totalBytes < RECORD_HEADER_BYTES) throw new Error(`record at ${lsn.toString(16)} has length ${totalBytes}`);
    const after = markData(lsn, totalBytes);
    const isSwitch = header[17] === RM_XLOG_ID && ((header[16] as number) & 0xf0) === XLOG_SWITCH;
    lsn = isSwitch ? after - (after % segBytes) + (after % segBytes === 0n ? 0n : segBytes) : (after + 7n) & ~7n;
  }

  const names: string[] = [];
  for (let seg = startLsn / segBytes; seg <= (endLsn - 1n) / segBytes; seg += 1n) names.push(segmentName(tli, seg, segmentBytes));
  for (const list of ranges.values()) list.sort((a, b) => a.from - b.from);
  return { ranges, segments: names, segmentBytes, pageBytes };
}

/** Whether XOR-ing `mask` into the byte at `offset` of segment `name` changes something recovery checks. */
export function walFlipMatters(significance: WalSignificance, name: string, offset: number, mask: number): boolean {
  return (significance.ranges.get(name) ?? []).some((range) =>
    offset >= range.from && offset < range.to && (range.bits === undefined || (mask & range.bits) !== 0));
}

/** The offset one past the last byte that matters in segment `name` (0 when none): cutting below it matters. */
export function walSignificantEnd(significance: WalSignificance, name: string): number {
  return (significance.ranges.get(name) ?? []).reduce((end, range) => Math.max(end, range.to), 0);
}
