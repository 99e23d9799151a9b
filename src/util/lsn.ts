/**
 * LSNs as bigint, and the WAL segment arithmetic every module shares. Text form is PostgreSQL's `%X/%X`: two
 * upper-case hex halves without padding. Parsing is lenient about digit count, strict about everything else.
 */
import { ProtocolError } from '../errors/index.ts';

export type Lsn = bigint;

export const INVALID_LSN: Lsn = 0n;
const LSN_TEXT = /^([0-9A-Fa-f]{1,8})\/([0-9A-Fa-f]{1,8})$/;

export function parseLsn(text: string): Lsn {
  const match = LSN_TEXT.exec(text.trim());
  if (match === null) throw new ProtocolError('MALFORMED_MESSAGE', `invalid LSN "${text}"`);
  return (BigInt(`0x${match[1]}`) << 32n) | BigInt(`0x${match[2]}`);
}

export function formatLsn(lsn: Lsn): string {
  return `${(lsn >> 32n).toString(16).toUpperCase()}/${(lsn & 0xffffffffn).toString(16).toUpperCase()}`;
}

/** Segment number containing the byte at `lsn`. */
export function segmentOf(lsn: Lsn, segmentBytes: number): bigint {
  return lsn / BigInt(segmentBytes);
}

/** Start of the segment containing `lsn`. */
export function segmentStart(lsn: Lsn, segmentBytes: number): Lsn {
  return lsn - (lsn % BigInt(segmentBytes));
}

/** `TTTTTTTTXXXXXXXXYYYYYYYY`: timeline, then the segment number split at 4 GiB worth of segments. */
export function walFileName(tli: number, segno: bigint, segmentBytes: number): string {
  const perXlogId = 0x100000000n / BigInt(segmentBytes);
  const hex8 = (value: bigint | number): string => value.toString(16).toUpperCase().padStart(8, '0');
  return hex8(tli) + hex8(segno / perXlogId) + hex8(segno % perXlogId);
}

const WAL_FILE_NAME = /^([0-9A-F]{8})([0-9A-F]{8})([0-9A-F]{8})$/;

export function parseWalFileName(name: string, segmentBytes: number): { tli: number; segno: bigint } | null {
  const match = WAL_FILE_NAME.exec(name);
  if (match === null) return null;
  const perXlogId = 0x100000000n / BigInt(segmentBytes);
  return {
    tli: Number.parseInt(match[1] as string, 16),
    segno: BigInt(`0x${match[2]}`) * perXlogId + BigInt(`0x${match[3]}`),
  };
}

/** `SHOW wal_segment_size` answers like `16MB` or `1GB`; it must be a power of two from 1 MB to 1 GB. */
export function parseWalSegmentSize(text: string): number {
  const match = /^(\d+)\s*(MB|GB)$/.exec(text.trim());
  const bytes = match === null ? NaN : Number(match[1]) * (match[2] === 'GB' ? 1 << 30 : 1 << 20);
  if (!(bytes >= 1 << 20 && bytes <= 1 << 30 && (bytes & (bytes - 1)) === 0)) {
    throw new ProtocolError('MALFORMED_MESSAGE', `invalid WAL segment size "${text}"`);
  }
  return bytes;
}
