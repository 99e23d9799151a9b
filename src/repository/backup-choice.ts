/**
 * Which backup a restore from a repository starts from: the newest complete one that ends before the target, so
 * that recovery is consistent (reaches the backup's end) before it can reach the target. "Ends" is the backup's
 * end LSN for an LSN target, and for a time target its end time as the client recorded it, which is after the
 * server's end of backup, so a backup chosen this way never ends after the target. A restore point name says
 * nothing about where it lies, and immediate or no target wants the newest, so those take the newest backup.
 * Pure.
 */
import { UsageError } from '../errors/index.ts';
import type { RecoveryTarget } from '../restore/index.ts';
import { targetTimeInstant } from '../restore/target-time.ts';
import { parseLsn } from '../util/lsn.ts';
import type { BackupRecord } from './backup-catalog.ts';

/** `backups`: complete ones, oldest first (listBackups). */
export function chooseBackup(backups: readonly BackupRecord[], target: RecoveryTarget | undefined, location: string): BackupRecord {
  const newest = backups.at(-1);
  if (newest === undefined) {
    throw new UsageError('OPTION_INVALID', `repository "${location}" holds no complete backup`, {
      hint: 'Take one with "pgconvoy backup --repo".',
    });
  }
  let endsBefore: ((backup: BackupRecord) => boolean) | null = null;
  if (target?.kind === 'lsn') {
    const targetLsn = parseLsn(target.value);
    endsBefore = (backup) => backup.endLsn !== null && parseLsn(backup.endLsn) <= targetLsn;
  } else if (target?.kind === 'time') {
    const instant = targetTimeInstant(target.value);
    if (instant === null) {
      throw new UsageError('OPTION_INVALID', `recovery target time "${target.value}" has no time zone offset`, {
        hint: 'With --repo the backup is chosen by the time, so give it with an offset or in UTC, such as "2025-01-31 12:00:00+00".',
      });
    }
    endsBefore = (backup) => backup.endTime !== null && Date.parse(backup.endTime) <= instant;
  }
  if (endsBefore === null || target === undefined || target.kind === 'immediate') return newest;
  const chosen = backups.filter(endsBefore).at(-1);
  if (chosen === undefined) {
    throw new UsageError('OPTION_INVALID', `no backup in repository "${location}" ends before recovery target ${target.kind} "${target.value}"`, {
      hint: `The oldest backup ends at ${backups[0]?.endLsn} (${backups[0]?.endTime}).`,
    });
  }
  return chosen;
}
