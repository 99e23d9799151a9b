/**
 * What `pgconvoy expire` removes, decided from the catalog and the archive's names alone. Pure: no I/O, so every
 * rule is tested on hand-built catalogs (expire.ts carries the plan out).
 *
 * Policies: `count` keeps the newest N complete backups; `days` keeps every backup that completed within the last
 * D days plus the newest one that completed before that, so every moment of those D days stays restorable (a
 * backup must end before a recovery target). Either way the newest complete backup is kept.
 *
 * WAL: every segment (any timeline; completed, compressed or partial) before the first segment some kept backup or
 * running backup needs goes; everything from that segment on stays, so what remains of the archive is contiguous from the
 * oldest kept backup's start. A running backup protects WAL from its start segment on; one whose start LSN is not
 * known yet protects all WAL, since nothing says yet which WAL it needs. An abandoned staging tree protects nothing:
 * its process is gone. Timeline history files are never removed: they are tiny, and recovery to the latest timeline reads the
 * whole chain of them to find its way from a kept backup's timeline to the newest.
 */
import { parseLsn, segmentOf } from '../util/lsn.ts';
import type { BackupRecord } from './backup-catalog.ts';
import { compareWalFiles, parseArchivedName } from './wal-catalog.ts';

export type RetentionPolicy =
  | { readonly kind: 'count'; readonly keep: number }
  | { readonly kind: 'days'; readonly days: number; readonly now: Date };

export interface StagingFacts {
  readonly startLsn: string | null;
  readonly abandoned: boolean;
}

export interface ExpirePlan {
  /** Oldest first: the order they are removed in, so an interruption leaves the newest ones. */
  readonly removeBackups: readonly BackupRecord[];
  readonly keepBackups: readonly BackupRecord[];
  /** Names under wal/, oldest segment first, for the same reason: what remains never has a gap at its start. */
  readonly removeWal: readonly string[];
  /** First segment number kept, or null when no WAL goes (nothing kept needs a limit, or all is protected). */
  readonly walKeptFromSegno: bigint | null;
}

const DAY_MS = 24 * 60 * 60 * 1000;

/** `backups`: complete ones, oldest first (listBackups); `walNames`: the names under wal/. */
export function planExpire(
  backups: readonly BackupRecord[], staging: readonly StagingFacts[], walNames: readonly string[], segmentBytes: number,
  policy: RetentionPolicy,
): ExpirePlan {
  if (backups.length === 0) return { removeBackups: [], keepBackups: [], removeWal: [], walKeptFromSegno: null };
  const keepFrom = firstKeptIndex(backups, policy);
  const keepBackups = backups.slice(keepFrom);
  const removeBackups = backups.slice(0, keepFrom);

  const running = staging.filter((record) => !record.abandoned);
  const starts = [...keepBackups, ...running].map((record) => record.startLsn);
  // A running backup before its start point (or a complete record lacking one) may need any WAL: all of it stays.
  if (starts.includes(null)) return { removeBackups, keepBackups, removeWal: [], walKeptFromSegno: null };
  const keptFrom = starts.map((startLsn) => segmentOf(parseLsn(startLsn as string), segmentBytes)).reduce((a, b) => (b < a ? b : a));

  const files = walNames.flatMap((name) => {
    const parsed = parseArchivedName(name, segmentBytes);
    return parsed === null || parsed.kind === 'history' || parsed.segno >= keptFrom ? [] : [{ file: parsed, name }];
  });
  files.sort((a, b) => compareWalFiles(a.file, b.file) || (a.name < b.name ? -1 : 1));
  return { removeBackups, keepBackups, removeWal: files.map((file) => file.name), walKeptFromSegno: keptFrom };
}

/** Index of the oldest backup the policy keeps; never past the newest. */
function firstKeptIndex(backups: readonly BackupRecord[], policy: RetentionPolicy): number {
  const newest = backups.length - 1;
  if (policy.kind === 'count') return Math.max(0, Math.min(newest, backups.length - policy.keep));
  const cutoffMs = policy.now.getTime() - policy.days * DAY_MS;
  const recent = backups.findIndex((backup) => backup.endTime !== null && Date.parse(backup.endTime) >= cutoffMs);
  // The newest backup completed before the cutoff is what a target just after the cutoff restores from.
  return recent === -1 ? newest : Math.max(0, recent - 1);
}
