/**
 * Verifies the WAL of one backup range (one timeline, start LSN to end LSN) as pg_verifybackup does with
 * pg_waldump: every segment from the one holding the start LSN to the one holding the last byte before the end
 * LSN must be present and full-size, and the records must chain from the start LSN (the checkpoint's REDO
 * pointer, a record start) to a record that ends at or after the end LSN, with valid page headers, prev-links
 * and CRCs. Where the segments come from (pg_wal/, pg_wal.tar, base.tar) is the source's business.
 *
 * Unlike pg_waldump, which stops at its first error, this reports every missing or short segment of the range
 * even after the record walk has stopped; the walk itself stops at its first problem because nothing after a
 * broken record can be trusted. Memory: two segments at a time (see segment-window.ts).
 */
import { VerifyError } from '../errors/index.ts';
import { formatLsn, segmentOf, walFileName, type Lsn } from '../util/lsn.ts';
import { SegmentWindow, type WalSegmentSource } from './segment-window.ts';
import { problemOf, type WalProblem } from './wal-problem.ts';
import { WalWalker } from './wal-walker.ts';

export interface WalRangeReport {
  readonly ok: boolean;
  readonly problems: WalProblem[];
  readonly recordsChecked: number;
  readonly firstRecordLsn: Lsn | null;
  /** Where the record after the last one checked starts: its MAXALIGNed end, or the next segment after XLOG_SWITCH. */
  readonly lastRecordEndLsn: Lsn | null;
  readonly segments: string[];
}

export interface VerifyWalRangeOptions {
  readonly source: WalSegmentSource;
  readonly segmentBytes: number;
  readonly tli: number;
  readonly startLsn: Lsn;
  readonly endLsn: Lsn;
  /** Decimal system identifier (as in manifest v2 and pg_controldata); checked against every long header. */
  readonly systemId?: string;
}

/** Segment files from the one containing `startLsn` through the one containing the byte before `endLsn`. */
export function walSegmentsFor(startLsn: Lsn, endLsn: Lsn, tli: number, segmentBytes: number): string[] {
  const names: string[] = [];
  if (endLsn <= startLsn) return names;
  for (let segno = segmentOf(startLsn, segmentBytes); segno <= segmentOf(endLsn - 1n, segmentBytes); segno++) {
    names.push(walFileName(tli, segno, segmentBytes));
  }
  return names;
}

/** One line for reports: `timeline 1, 0/2000028 to 0/2000100, 1 segment (000000010000000000000002)`. */
export function describeWalRange(tli: number, startLsn: Lsn, endLsn: Lsn, segmentBytes: number): string {
  const names = walSegmentsFor(startLsn, endLsn, tli, segmentBytes);
  const span = names.length <= 1 ? (names[0] ?? '') : `${names[0]} to ${names[names.length - 1]}`;
  return `timeline ${tli}, ${formatLsn(startLsn)} to ${formatLsn(endLsn)}, ${names.length} ` +
    `segment${names.length === 1 ? '' : 's'}${span === '' ? '' : ` (${span})`}`;
}

function checkOptions(options: VerifyWalRangeOptions): bigint | null {
  const { segmentBytes, tli, systemId } = options;
  if (!(segmentBytes >= 1 << 20 && segmentBytes <= 1 << 30 && (segmentBytes & (segmentBytes - 1)) === 0)) {
    throw new VerifyError('WAL_INVALID', `invalid WAL segment size ${segmentBytes}`);
  }
  if (!Number.isInteger(tli) || tli < 1 || tli > 0xffffffff) throw new VerifyError('WAL_INVALID', `invalid timeline ${tli}`);
  if (systemId === undefined) return null;
  if (!/^\d{1,20}$/.test(systemId) || BigInt(systemId) > 0xffffffffffffffffn) {
    throw new VerifyError('WAL_INVALID', `invalid system identifier "${systemId}"`);
  }
  return BigInt(systemId);
}

export async function verifyWalRange(options: VerifyWalRangeOptions): Promise<WalRangeReport> {
  const systemId = checkOptions(options);
  const { source, segmentBytes, tli, startLsn, endLsn } = options;
  const segments = walSegmentsFor(startLsn, endLsn, tli, segmentBytes);
  const problems: WalProblem[] = [];
  if (endLsn <= startLsn) {
    problems.push({ code: 'WAL_RECORD_INVALID', lsn: endLsn,
      message: `end LSN ${formatLsn(endLsn)} is not after start LSN ${formatLsn(startLsn)}` });
    return { ok: false, problems, recordsChecked: 0, firstRecordLsn: null, lastRecordEndLsn: null, segments };
  }

  const firstSegno = segmentOf(startLsn, segmentBytes);
  const lastSegno = segmentOf(endLsn - 1n, segmentBytes);
  const window = new SegmentWindow(source, tli, segmentBytes, lastSegno);
  const walker = new WalWalker({ window, segmentBytes, tli, systemId, endLsn });
  try {
    await walker.walk(startLsn);
  } catch (error) {
    const problem = problemOf(error);
    if (problem === null) throw error;
    problems.push(problem);
  }

  // Segments the walk never reached (it stopped early) are still checked for presence and size.
  for (let segno = firstSegno; segno <= lastSegno; segno++) {
    if (window.hasSeen(segno)) continue;
    const bytes = await window.load(segno);
    if (!Buffer.isBuffer(bytes)) problems.push(bytes);
  }
  return {
    ok: problems.length === 0, problems, recordsChecked: walker.recordsChecked, firstRecordLsn: walker.firstRecordLsn,
    lastRecordEndLsn: walker.nextRecordLsn, segments,
  };
}
