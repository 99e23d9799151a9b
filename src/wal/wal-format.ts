/**
 * The on-disk WAL format of PostgreSQL 13 to 18 (little-endian, MAXALIGN 8, XLOG_BLCKSZ 8192): page headers,
 * record headers and the per-version constants that tell one release's WAL from another's. Pure: byte offsets
 * and numbers only, no I/O, no walking. The version is read from the page magic, which changes whenever the
 * WAL format does; a WAL reader of one major refuses every other major's WAL, as pg_waldump does.
 */

/** XLOG_BLCKSZ of every packaged PostgreSQL build; other builds are refused like a foreign magic. */
export const WAL_PAGE_BYTES = 8192;
/** Data BLCKSZ: full-page images are checked against it. */
export const DATA_BLOCK_BYTES = 8192;
export const SHORT_PAGE_HEADER_BYTES = 24;
export const LONG_PAGE_HEADER_BYTES = 40;
/**
 * XLogRecord: xl_tot_len u32 @0, xl_xid u32 @4, xl_prev u64 @8, xl_info u8 @16, xl_rmid u8 @17, 2 bytes of
 * padding, xl_crc u32 @20. The CRC covers the payload first, then the header bytes before xl_crc.
 */
export const RECORD_HEADER_BYTES = 24;
export const RECORD_HEADER_CRC_BYTES = 20;
export const RECORD_PREV_OFFSET = 8;
export const RECORD_INFO_OFFSET = 16;
export const RECORD_RMID_OFFSET = 17;
export const RECORD_CRC_OFFSET = 20;
/** Larger than any record PostgreSQL writes (XLogRecordMaxSize is 1020 MB); beyond it the length is garbage. */
export const MAX_RECORD_BYTES = 1 << 30;

export const XLP_FIRST_IS_CONTRECORD = 0x0001;
export const XLP_LONG_HEADER = 0x0002;
export const XLP_FIRST_IS_OVERWRITE_CONTRECORD = 0x0008;
/** 13–18 define four bits: the two above, XLP_BKP_REMOVABLE (0x0004, unused by readers) and the overwrite flag. */
export const XLP_ALL_FLAGS = 0x000f;

export const RM_XLOG_ID = 0;
export const XLR_INFO_MASK = 0x0f;
export const XLOG_SWITCH = 0x40;

export interface WalVersion {
  readonly magic: number;
  readonly major: number;
}

/** XLOG_PAGE_MAGIC of each release (14, 15 and 18 confirmed on WAL written by those servers). */
export const WAL_VERSIONS: readonly WalVersion[] = [
  { magic: 0xd106, major: 13 },
  { magic: 0xd10d, major: 14 },
  { magic: 0xd110, major: 15 },
  { magic: 0xd113, major: 16 },
  { magic: 0xd116, major: 17 },
  { magic: 0xd118, major: 18 },
];

export function walVersionOf(magic: number): WalVersion | null {
  return WAL_VERSIONS.find((version) => version.magic === magic) ?? null;
}

export function magicText(magic: number): string {
  return magic.toString(16).toUpperCase().padStart(4, '0');
}

export interface PageHeader {
  readonly magic: number;
  readonly info: number;
  readonly tli: number;
  readonly pageAddrLsn: bigint;
  readonly remLen: number;
  readonly headerBytes: number;
  /** Long header fields; null on short headers. */
  readonly long: { readonly systemId: bigint; readonly segmentBytes: number; readonly pageBytes: number } | null;
}

/** Reads the header of the page starting at `offset`; the caller guarantees a whole page is there. */
export function readPageHeader(bytes: Buffer, offset: number): PageHeader {
  const info = bytes.readUInt16LE(offset + 2);
  const isLong = (info & XLP_LONG_HEADER) !== 0;
  return {
    magic: bytes.readUInt16LE(offset),
    info,
    tli: bytes.readUInt32LE(offset + 4),
    pageAddrLsn: bytes.readBigUInt64LE(offset + 8),
    remLen: bytes.readUInt32LE(offset + 16),
    headerBytes: isLong ? LONG_PAGE_HEADER_BYTES : SHORT_PAGE_HEADER_BYTES,
    long: isLong
      ? {
        systemId: bytes.readBigUInt64LE(offset + 24),
        segmentBytes: bytes.readUInt32LE(offset + 32),
        pageBytes: bytes.readUInt32LE(offset + 36),
      }
      : null,
  };
}

/** A page whose header is all zero bytes was never written: the WAL stops before it. */
export function isZeroHeader(bytes: Buffer, offset: number): boolean {
  for (let i = offset; i < offset + SHORT_PAGE_HEADER_BYTES; i++) if (bytes[i] !== 0) return false;
  return true;
}

/** Built-in resource managers are 0..21 (XLOG … LogicalMessage) in 13–18; 15+ adds custom ids 128..255. */
export function isValidRmid(rmid: number, version: WalVersion): boolean {
  return rmid <= 21 || (version.major >= 15 && rmid >= 128);
}

export function isSwitchRecord(rmid: number, info: number): boolean {
  return rmid === RM_XLOG_ID && (info & ~XLR_INFO_MASK) === XLOG_SWITCH;
}
