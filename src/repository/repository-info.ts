/**
 * What `pgconvoy info` reports about a repository: whose it is, the WAL archive's range, timelines, segment in
 * progress and gaps, the backups (oldest first, the WAL each needs and whether the archive holds it) and what can
 * be restored to. Read-only and built from names and backup records alone (wal-catalog.ts, backup-catalog.ts), so
 * it is cheap on any repository size and safe while `archive` and backups write: every name it sees is a whole
 * published segment or a partial, every backup tree a complete one (staging trees are listed apart).
 *
 * Restorable range: from the end of the oldest backup whose WAL the archive holds, to the end of the archive's
 * segments that follow it without a gap (WAL beyond a gap cannot be replayed). Its time upper bound is not known
 * from names: the archive's last commit lies somewhere in its last segment.
 */
import { formatLsn, parseLsn, segmentOf, walFileName } from '../util/lsn.ts';
import { isAbandoned, listBackups, listStaging, type BackupRecord } from './backup-catalog.ts';
import { requireIdentity } from './repository.ts';
import type { RepositoryStorage } from './storage.ts';
import { readWalListing, WAL_PREFIX, walRange, type WalFile, type WalGap } from './wal-catalog.ts';

export interface BackupInfo extends BackupRecord {
  /** First and last WAL segment the backup needs to be consistent. */
  readonly walFrom: string | null;
  readonly walTo: string | null;
  readonly walCovered: boolean;
}

export interface RepositoryInfo {
  readonly repository: string;
  readonly systemId: string;
  readonly walSegmentBytes: number;
  readonly wal: {
    readonly segments: number;
    /** First and last completed segment; null for an archive without one. */
    readonly firstSegment: string | null;
    readonly lastSegment: string | null;
    /** From the first completed segment's start to the last one's end (gaps inside are listed). */
    readonly startLsn: string | null;
    readonly endLsn: string | null;
    readonly timelines: readonly number[];
    readonly inProgress: string | null;
    readonly gaps: readonly WalGap[];
  };
  readonly backups: readonly BackupInfo[];
  /** Backups being written, or left by a process that died (abandoned: removed by the next backup). */
  readonly running: ReadonlyArray<{ readonly id: string; readonly startLsn: string | null; readonly abandoned: boolean }>;
  /** Null without a backup whose WAL the archive holds. */
  readonly restorable: { readonly fromTime: string | null; readonly fromLsn: string | null; readonly toLsn: string } | null;
}

export async function repositoryInfo(storage: RepositoryStorage): Promise<RepositoryInfo> {
  const identity = await requireIdentity(storage);
  const segmentBytes = BigInt(identity.walSegmentBytes);
  const listing = readWalListing(await storage.list(WAL_PREFIX), identity.walSegmentBytes);
  const range = walRange(listing, identity.walSegmentBytes);
  const backups = (await listBackups(storage)).map((backup) => backupInfo(backup, listing.segments, identity.walSegmentBytes));
  const staging = await listStaging(storage);
  return {
    repository: storage.location,
    systemId: identity.systemId,
    walSegmentBytes: identity.walSegmentBytes,
    wal: {
      segments: listing.segments.length,
      firstSegment: range.first?.name ?? null,
      lastSegment: range.last?.name ?? null,
      startLsn: range.first === null ? null : formatLsn(range.first.segno * segmentBytes),
      endLsn: range.last === null ? null : formatLsn((range.last.segno + 1n) * segmentBytes),
      timelines: range.timelines,
      inProgress: range.inProgress === null ? null : `${range.inProgress.name}.partial`,
      gaps: range.gaps,
    },
    backups,
    running: staging.map((record) => ({ id: record.id, startLsn: record.startLsn, abandoned: isAbandoned(record) })),
    restorable: restorableRange(backups, listing.segments, identity.walSegmentBytes),
  };
}

function neededSegments(backup: BackupRecord, segmentBytes: number): { from: bigint; to: bigint } | null {
  if (backup.startLsn === null || backup.endLsn === null) return null;
  // The end LSN is exclusive: a backup ending exactly on a segment boundary does not need the next segment.
  return { from: segmentOf(parseLsn(backup.startLsn), segmentBytes), to: segmentOf(parseLsn(backup.endLsn) - 1n, segmentBytes) };
}

function backupInfo(backup: BackupRecord, segments: readonly WalFile[], segmentBytes: number): BackupInfo {
  const needed = neededSegments(backup, segmentBytes);
  const tli = backup.timeline ?? 1;
  const held = new Set(segments.map((segment) => segment.segno));
  let walCovered = needed !== null;
  for (let segno = needed?.from ?? 0n; needed !== null && segno <= needed.to; segno += 1n) walCovered &&= held.has(segno);
  return {
    ...backup,
    walFrom: needed === null ? null : walFileName(tli, needed.from, segmentBytes),
    walTo: needed === null ? null : walFileName(tli, needed.to, segmentBytes),
    walCovered,
  };
}

function restorableRange(backups: readonly BackupInfo[], segments: readonly WalFile[], segmentBytes: number): RepositoryInfo['restorable'] {
  const oldest = backups.find((backup) => backup.walCovered);
  const needed = oldest === undefined ? null : neededSegments(oldest, segmentBytes);
  if (oldest === undefined || needed === null) return null;
  let last = needed.to;
  for (const segment of segments) if (segment.segno === last + 1n) last = segment.segno;
  return { fromTime: oldest.endTime, fromLsn: oldest.endLsn, toLsn: formatLsn((last + 1n) * BigInt(segmentBytes)) };
}
