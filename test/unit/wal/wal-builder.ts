/**
 * Writes synthetic WAL segments for tests, straight from the format description and independent of src/wal:
 * page headers (long on each segment's first page), records laid end to end at MAXALIGN 8, continuation
 * pages with XLP_FIRST_IS_CONTRECORD and xlp_rem_len, XLOG_SWITCH jumping to the next segment, and a record
 * cut short at a page end followed by an XLP_FIRST_IS_OVERWRITE_CONTRECORD page. CRC: payload, then the
 * first 20 header bytes.
 */
import { crc32c } from '../../../src/util/crc32c.ts';
import { walFileName } from '../../../src/util/lsn.ts';
import type { WalSegmentSource } from '../../../src/wal/index.ts';

export const PAGE = 8192;

export interface RecordSpec {
  rmid?: number;
  info?: number;
  xid?: number;
  mainData?: Buffer;
  /** Adds block reference 0 with a full 8192-byte page image (no hole, uncompressed). */
  fullPageImage?: boolean;
  /** Overrides xl_prev (default: the previous record's start). */
  prevLsn?: bigint;
  /** The payload exactly as given, instead of fragments built from mainData/fullPageImage. */
  rawPayload?: Buffer;
}

export interface BuilderOptions {
  segmentBytes?: number;
  tli?: number;
  systemId?: bigint;
  magic?: number;
  /** Where the first record goes (default: just after the long header of segment 1). */
  startSegno?: bigint;
}

export class WalBuilder {
  readonly segmentBytes: number;
  readonly tli: number;
  readonly systemId: bigint;
  readonly magic: number;
  readonly buffers = new Map<bigint, Buffer>();
  #pos: bigint;
  #prev = 0n;
  #nextPageInfo = 0;

  constructor(options: BuilderOptions = {}) {
    this.segmentBytes = options.segmentBytes ?? 1 << 20;
    this.tli = options.tli ?? 1;
    this.systemId = options.systemId ?? 7312345678901234567n;
    this.magic = options.magic ?? 0xd110;
    this.#pos = (options.startSegno ?? 1n) * BigInt(this.segmentBytes);
  }

  /** Where the next record will start (page headers not yet skipped). */
  get position(): bigint {
    return this.#pos;
  }

  append(spec: RecordSpec = {}): bigint {
    const record = encodeRecord(spec, spec.prevLsn ?? this.#prev, this.magic);
    const start = this.#skipHeaderIfAtPageStart();
    const end = this.#write(record, start);
    this.#prev = start;
    this.#pos = align8(end);
    return start;
  }

  /** Appends XLOG_SWITCH (rmid 0, info 0x40, no data); the next record goes to the next segment. */
  appendSwitch(): bigint {
    const start = this.append({ rmid: 0, info: 0x40 });
    const seg = BigInt(this.segmentBytes);
    this.#pos = ((this.#pos + seg - 1n) / seg) * seg;
    return start;
  }

  /** Writes the record only up to the end of its page, as if the server crashed; the next page gets the overwrite flag. */
  appendAborted(spec: RecordSpec = {}): bigint {
    const record = encodeRecord(spec, spec.prevLsn ?? this.#prev, this.magic);
    const start = this.#skipHeaderIfAtPageStart();
    const room = PAGE - Number(start % BigInt(PAGE));
    if (record.length <= room) throw new Error('record fits its page; nothing to abort');
    this.#write(record.subarray(0, room), start);
    this.#pos = start + BigInt(room);
    this.#nextPageInfo = 0x0008;
    return start;
  }

  fileName(segno: bigint): string {
    return walFileName(this.tli, segno, this.segmentBytes);
  }

  /** Segment files by name (copies, so a test can damage them freely). */
  files(): Map<string, Buffer> {
    const out = new Map<string, Buffer>();
    for (const [segno, bytes] of [...this.buffers].sort((a, b) => (a[0] < b[0] ? -1 : 1))) {
      out.set(this.fileName(segno), Buffer.from(bytes));
    }
    return out;
  }

  #skipHeaderIfAtPageStart(): bigint {
    if (this.#pos % BigInt(PAGE) !== 0n) return this.#pos;
    const headerBytes = this.#writePageHeader(this.#pos, 0, 0);
    return this.#pos + BigInt(headerBytes);
  }

  /** Copies `bytes` to the WAL from `at`, opening continuation pages as needed; returns the end. */
  #write(bytes: Buffer, at: bigint): bigint {
    let pos = at;
    let done = 0;
    while (done < bytes.length) {
      if (pos % BigInt(PAGE) === 0n && done > 0) {
        pos += BigInt(this.#writePageHeader(pos, 0x0001, bytes.length - done));
      }
      const room = PAGE - Number(pos % BigInt(PAGE));
      const take = Math.min(room, bytes.length - done);
      const segno = pos / BigInt(this.segmentBytes);
      const offset = Number(pos % BigInt(this.segmentBytes));
      bytes.copy(this.#segment(segno), offset, done, done + take);
      done += take;
      pos += BigInt(take);
    }
    return pos;
  }

  #writePageHeader(pageLsn: bigint, info: number, remLen: number): number {
    const segno = pageLsn / BigInt(this.segmentBytes);
    const offset = Number(pageLsn % BigInt(this.segmentBytes));
    const isLong = offset === 0;
    const page = this.#segment(segno);
    page.writeUInt16LE(this.magic, offset);
    page.writeUInt16LE(info | this.#nextPageInfo | (isLong ? 0x0002 : 0), offset + 2);
    this.#nextPageInfo = 0;
    page.writeUInt32LE(this.tli, offset + 4);
    page.writeBigUInt64LE(pageLsn, offset + 8);
    page.writeUInt32LE(remLen, offset + 16);
    if (!isLong) return 24;
    page.writeBigUInt64LE(this.systemId, offset + 24);
    page.writeUInt32LE(this.segmentBytes, offset + 32);
    page.writeUInt32LE(PAGE, offset + 36);
    return 40;
  }

  #segment(segno: bigint): Buffer {
    let bytes = this.buffers.get(segno);
    if (bytes === undefined) {
      bytes = Buffer.alloc(this.segmentBytes);
      this.buffers.set(segno, bytes);
    }
    return bytes;
  }
}

export function encodeRecord(spec: RecordSpec, prevLsn: bigint, magic: number): Buffer {
  const parts: Buffer[] = [];
  const main = spec.mainData ?? Buffer.alloc(0);
  let image: Buffer | null = null;
  if (spec.fullPageImage === true) {
    const block = Buffer.alloc(4 + 5 + 12 + 4);
    block.writeUInt8(0, 0); // block id 0
    block.writeUInt8(0x10, 1); // fork 0, HAS_IMAGE
    block.writeUInt16LE(0, 2); // no block data
    block.writeUInt16LE(8192, 4); // image length
    block.writeUInt16LE(0, 6); // hole offset
    block.writeUInt8(magic >= 0xd110 ? 0x02 : 0x04, 8); // BKPIMAGE_APPLY moved in 15
    block.writeUInt32LE(1663, 9);
    block.writeUInt32LE(5, 13);
    block.writeUInt32LE(16384, 17);
    block.writeUInt32LE(7, 21); // block number
    parts.push(block);
    image = Buffer.alloc(8192, 0x5a);
  }
  if (main.length > 0 && main.length < 256) parts.push(Buffer.from([255, main.length]));
  if (main.length >= 256) {
    const long = Buffer.alloc(5);
    long.writeUInt8(254, 0);
    long.writeUInt32LE(main.length, 1);
    parts.push(long);
  }
  if (image !== null) parts.push(image);
  parts.push(main);
  const payload = spec.rawPayload ?? Buffer.concat(parts);
  const header = Buffer.alloc(24);
  header.writeUInt32LE(24 + payload.length, 0);
  header.writeUInt32LE(spec.xid ?? 0, 4);
  header.writeBigUInt64LE(prevLsn, 8);
  header.writeUInt8(spec.info ?? 0, 16);
  header.writeUInt8(spec.rmid ?? 10, 17);
  header.writeUInt32LE(crc32c(header, crc32c(payload), 0, 20), 20);
  return Buffer.concat([header, payload]);
}

export function align8(lsn: bigint): bigint {
  return (lsn + 7n) & ~7n;
}

/** A source over named segment buffers; `reads` records the order of requests. */
export function sourceOf(files: Map<string, Buffer>): WalSegmentSource & { reads: string[] } {
  const reads: string[] = [];
  return {
    reads,
    async readSegment(_tli, _segno, fileName) {
      reads.push(fileName);
      return files.get(fileName) ?? null;
    },
  };
}

/** Bytes of `main` long enough to matter, recognisable in a hex dump. */
export function payload(length: number, seed = 1): Buffer {
  const bytes = Buffer.alloc(length);
  for (let i = 0; i < length; i++) bytes[i] = (i * 31 + seed) & 0xff;
  return bytes;
}

/** XORs one byte in place. */
export function flip(bytes: Buffer, index: number, mask: number): void {
  bytes[index] = (bytes[index] as number) ^ mask;
}
