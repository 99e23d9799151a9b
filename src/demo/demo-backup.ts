/**
 * One backup of the demo, taken with pgconvoy's own backup client against whatever answers at `connection`: the
 * throwaway cluster itself or `pgconvoy serve` beside it. Options are the ones a careful operator would pick for a
 * demo (fast checkpoint, manifest, page checksums verified, a temporary slot, no fsync); only the shape of the
 * output varies. Also the one line the demo prints for a finished backup, so both kinds read alike.
 *
 * Backups run all at once, and a failure is reported only when every one of them has ended: the demo's cleanup
 * must not stop servers or remove directories under a backup still writing.
 */
import { connect } from '../client/connection.ts';
import type { ConnectionParams } from '../client/types.ts';
import type { BackupPlan } from '../backup/plan.ts';
import { runBackup, type BackupOutcome } from '../backup/run-backup.ts';
import { openBackupTargets } from '../backup/targets.ts';
import { formatLsn } from '../util/lsn.ts';

export interface DemoBackup {
  readonly label: string;
  readonly what: string;
  readonly dirs: readonly string[];
  readonly format: 'plain' | 'tar';
  readonly walMethod: 'fetch' | 'stream';
  readonly gzip: boolean;
}

/** The outcomes in the order of `backups`, or the first failure once all have ended. */
export function takeBackups(connection: ConnectionParams, backups: readonly DemoBackup[], signal: AbortSignal): Promise<BackupOutcome[]> {
  return allEnded(backups.map((backup) => takeBackup(connection, backup, signal)));
}

/** Promise.all, except that it fails only once every promise has settled (for work the demo's cleanup must not overtake). */
export async function allEnded<T>(work: ReadonlyArray<Promise<T>>): Promise<T[]> {
  const results = await Promise.allSettled(work);
  return results.map((result) => {
    if (result.status === 'rejected') throw result.reason;
    return result.value;
  });
}

async function takeBackup(connection: ConnectionParams, backup: DemoBackup, signal: AbortSignal): Promise<BackupOutcome> {
  const plan: BackupPlan = {
    connection,
    destinations: backup.dirs,
    format: backup.format,
    walMethod: backup.walMethod,
    fastCheckpoint: true,
    label: backup.label,
    estimateSize: true,
    compression: backup.gzip ? { location: 'client', method: 'gzip', level: 1 } : null,
    manifest: true,
    manifestForceEncode: false,
    writeRecoveryConf: false,
    createSlot: false,
    useTemporarySlot: true,
    tablespaceMappings: [],
    verifyChecksums: true,
    noClean: false,
    sync: false,
    statusIntervalMs: 10_000,
  };
  // A signal of its own, following the demo's: a backup listens on its signal once per connection, and several
  // backups at once on the demo's one signal would pass Node's listener-leak warning limit.
  const own = AbortSignal.any([signal]);
  return runBackup(plan, { connect, openTargets: (facts, onClaim) => openBackupTargets(plan, facts, process.stdout, onClaim), signal: own });
}

export function backupLine(backup: DemoBackup, outcome: BackupOutcome): string {
  return `${backup.label.padEnd(10)} ${backup.what.padEnd(28)} ${formatLsn(outcome.startLsn)}..${formatLsn(outcome.endLsn)}  ${megabytes(outcome.bytes)}`;
}

export function megabytes(bytes: number | bigint): string {
  return `${(Number(bytes) / 1048576).toFixed(1)} MB`;
}
