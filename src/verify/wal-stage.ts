/**
 * Stage 4: the WAL every manifest WAL-Range needs, checked by src/wal (segments present and full-size, page
 * headers valid, records chained with good CRCs from start to end LSN), in place of pg_verifybackup's call to
 * pg_waldump. Ranges are checked oldest first, which is also the order segments sit in archives.
 *
 * Where the segment size comes from: the size of the segment files (pg_basebackup writes them full-size),
 * else the long header of the first page, else 16 MiB, PostgreSQL's default.
 */
import { closeSync, openSync, readSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { ConvoyError } from '../errors/index.ts';
import type { ManifestWalRange } from '../manifest/reader.ts';
import { formatLsn } from '../util/lsn.ts';
import { verifyWalRange, walSegmentsFor, type WalSegmentSource } from '../wal/index.ts';
import type { ProblemList, VerifyWalRangeResult } from './report.ts';

export const DEFAULT_SEGMENT_BYTES = 16 << 20;
export const WAL_FILE_NAME = /^[0-9A-F]{24}$/;

export function isSegmentSize(bytes: number): boolean {
  return bytes >= 1 << 20 && bytes <= 1 << 30 && (bytes & (bytes - 1)) === 0;
}

export async function verifyWal(
  ranges: readonly ManifestWalRange[], source: WalSegmentSource, segmentBytes: number, systemId: string | null,
  problems: ProblemList,
): Promise<VerifyWalRangeResult[]> {
  const results = new Map<ManifestWalRange, VerifyWalRangeResult>();
  const oldestFirst = [...ranges].sort((a, b) => (a.startLsn < b.startLsn ? -1 : a.startLsn > b.startLsn ? 1 : a.tli - b.tli));
  for (const range of oldestFirst) {
    const base = describe(range, segmentBytes);
    try {
      const report = await verifyWalRange({
        source, segmentBytes, tli: range.tli, startLsn: range.startLsn, endLsn: range.endLsn,
        ...(systemId === null ? {} : { systemId }),
      });
      results.set(range, { ...base, segments: report.segments, recordsChecked: report.recordsChecked, checked: true, ok: report.ok });
      for (const problem of report.problems) {
        problems.add({ code: problem.code, ...(problem.file === undefined ? {} : { path: `pg_wal/${problem.file}` }), message: problem.message });
      }
    } catch (error) {
      if (!(error instanceof ConvoyError)) throw error;
      results.set(range, { ...base, checked: true, ok: false });
      problems.add({ code: 'WAL_INVALID', message: `WAL parsing failed for timeline ${range.tli}: ${error.message}` });
    }
  }
  return ranges.map((range) => results.get(range) ?? describe(range, segmentBytes));
}

/** The range as reported when it was not (or not yet) checked. */
export function describe(range: ManifestWalRange, segmentBytes: number): VerifyWalRangeResult {
  return {
    tli: range.tli, startLsn: formatLsn(range.startLsn), endLsn: formatLsn(range.endLsn), segmentBytes,
    segments: walSegmentsFor(range.startLsn, range.endLsn, range.tli, segmentBytes), recordsChecked: 0,
    checked: false, ok: false,
  };
}

/** Every segment file the ranges need, plus the one after each (a walker may peek past the end). */
export function neededSegments(ranges: readonly ManifestWalRange[], segmentBytes: number): Set<string> {
  const names = new Set<string>();
  for (const range of ranges) {
    const end = range.endLsn + BigInt(segmentBytes);
    for (const name of walSegmentsFor(range.startLsn, end, range.tli, segmentBytes)) names.add(name);
  }
  return names;
}

/** Segment size of a plain backup's pg_wal directory (see the module comment). */
export function plainSegmentBytes(walDir: string): number {
  let names: string[];
  try {
    names = readdirSync(walDir).filter((name) => WAL_FILE_NAME.test(name)).sort();
  } catch {
    return DEFAULT_SEGMENT_BYTES;
  }
  const first = names[0];
  if (first === undefined) return DEFAULT_SEGMENT_BYTES;
  try {
    const path = join(walDir, first);
    const size = statSync(path).size;
    if (isSegmentSize(size)) return size;
    return segmentBytesFromHeader(readFirstBytes(path)) ?? DEFAULT_SEGMENT_BYTES;
  } catch {
    return DEFAULT_SEGMENT_BYTES;
  }
}

/** xlp_seg_size of a long page header (offset 32), when the first page has one. */
export function segmentBytesFromHeader(page: Buffer): number | null {
  const XLP_LONG_HEADER = 0x0002;
  if (page.length < 40 || (page.readUInt16LE(2) & XLP_LONG_HEADER) === 0) return null;
  const size = page.readUInt32LE(32);
  return isSegmentSize(size) ? size : null;
}

function readFirstBytes(path: string): Buffer {
  const fd = openSync(path, 'r');
  try {
    const head = Buffer.alloc(40);
    return head.subarray(0, readSync(fd, head, 0, 40, 0));
  } finally {
    closeSync(fd);
  }
}
