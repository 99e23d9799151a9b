/**
 * `pgconvoy expire` carried out: reads the catalog and the archive, asks expire-policy.ts what goes, and removes it
 * (or, dry, only reports it). One expire at a time (the `expire` lock of repository-lock.ts, dry runs included: two
 * would plan from one catalog and remove under each other); backups, archive and restores take no lock and go on.
 *
 * Order, so that an interruption at any moment leaves a repository `info` reads and that restores:
 * 1. a backup leaves the catalog by one rename of its tree out of backups/ into trash/ (readers see it whole or not
 *    at all, as publishing it did), and only then are its files deleted; trash left by an interrupted run is deleted
 *    by the next one;
 * 2. WAL goes after the backups that needed it, oldest segment first, so what remains is contiguous from some
 *    segment on and every backup still listed keeps all the WAL it needs.
 *
 * Reads: staging before backups, so a backup published between the two reads is seen in one of them. A backup
 * that starts after the reads starts at a later checkpoint than the newest complete backup, which is always kept,
 * so no WAL it needs is before the kept range.
 */
import { isAbandoned, listBackups, listStaging, BACKUPS_PREFIX } from './backup-catalog.ts';
import { planExpire, type ExpirePlan, type RetentionPolicy } from './expire-policy.ts';
import { acquireLock, type LockHolder } from './repository-lock.ts';
import { requireIdentity } from './repository.ts';
import type { RepositoryStorage } from './storage.ts';
import { WAL_PREFIX } from './wal-catalog.ts';

export const TRASH_PREFIX = 'trash';

export interface ExpireOutcome extends ExpirePlan {
  readonly walSegmentBytes: number;
  /** Trees an interrupted expire left in trash/ (no longer backups), removed before anything else. */
  readonly leftoverTrash: readonly string[];
  /** The ended expire whose lock this one took over, if any. */
  readonly tookOverLock: LockHolder | null;
}

export async function expireRepository(
  storage: RepositoryStorage, policy: RetentionPolicy, options: { readonly dryRun: boolean },
): Promise<ExpireOutcome> {
  const identity = await requireIdentity(storage);
  const lock = await acquireLock(storage, 'expire');
  try {
    const leftoverTrash = await storage.list(TRASH_PREFIX);
    const staging = (await listStaging(storage)).map((record) => ({ startLsn: record.startLsn, abandoned: isAbandoned(record) }));
    const backups = await listBackups(storage);
    const plan = planExpire(backups, staging, await storage.list(WAL_PREFIX), identity.walSegmentBytes, policy);
    if (!options.dryRun) {
      for (const id of leftoverTrash) await storage.deleteTree(`${TRASH_PREFIX}/${id}`);
      for (const backup of plan.removeBackups) {
        await storage.moveTree(`${BACKUPS_PREFIX}/${backup.id}`, `${TRASH_PREFIX}/${backup.id}`);
        await storage.deleteTree(`${TRASH_PREFIX}/${backup.id}`);
      }
      for (const name of plan.removeWal) await storage.delete(`${WAL_PREFIX}/${name}`);
    }
    return { ...plan, walSegmentBytes: identity.walSegmentBytes, leftoverTrash, tookOverLock: lock.tookOver };
  } finally {
    await lock.release();
  }
}
