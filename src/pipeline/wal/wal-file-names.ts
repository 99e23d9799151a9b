/**
 * Names the WAL sinks accept from the stream: segment names they build themselves, and timeline history file names
 * that come from the server (TIMELINE_HISTORY) and so are checked before being used as a path.
 */
import { ProtocolError } from '../../errors/index.ts';
import type { Lsn } from '../../util/lsn.ts';

const HISTORY_FILE_NAME = /^[0-9A-F]{8}\.history$/;

export function checkHistoryFileName(filename: string): void {
  if (!HISTORY_FILE_NAME.test(filename)) {
    throw new ProtocolError('MALFORMED_MESSAGE', `invalid timeline history file name "${filename}"`);
  }
}

export function doneMarkerName(walFileName: string): string {
  return `archive_status/${walFileName}.done`;
}

export interface SegmentPiece {
  readonly segno: bigint;
  /** Byte offset of `bytes` within its segment. */
  readonly offset: number;
  readonly bytes: Buffer;
  /** The piece ends exactly at the end of its segment. */
  readonly isSegmentEnd: boolean;
}

/** Cuts a contiguous run of WAL at segment boundaries (views of `data`, no copies). */
export function* segmentPieces(dataStart: Lsn, data: Buffer, segmentBytes: number): Generator<SegmentPiece> {
  let lsn = dataStart;
  let rest = data;
  while (rest.length > 0) {
    const offset = Number(lsn % BigInt(segmentBytes));
    const take = Math.min(rest.length, segmentBytes - offset);
    yield { segno: lsn / BigInt(segmentBytes), offset, bytes: rest.subarray(0, take), isSegmentEnd: offset + take === segmentBytes };
    lsn += BigInt(take);
    rest = rest.subarray(take);
  }
}
