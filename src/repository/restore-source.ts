/**
 * Where a restore from a repository starts, for `restore --repo` and `drill --repo` alike (one module, so the two
 * can never choose differently): the backup chosen for the target (backup-choice.ts), its directory inside the
 * repository, and the restore_command through which PostgreSQL fetches the repository's WAL (`pgconvoy
 * archive-get`, which decompresses as needed). It restores nothing itself.
 *
 * The restore_command is run later by PostgreSQL's startup process as the server's OS user, so it is this very
 * pgconvoy by absolute paths (cli/self-command.ts), and a repository that user cannot reach is worth a warning:
 * not an error, since the restored files may be given to another user that can.
 */
import { join, resolve } from 'node:path';
import { canTraverse, serverRunAs } from '../cluster/os-user.ts';
import { selfCommand, shellQuote } from '../cli/self-command.ts';
import type { RecoveryTarget } from '../restore/index.ts';
import { BACKUP_DIR_NAME, BACKUPS_PREFIX, listBackups, type BackupRecord } from './backup-catalog.ts';
import { chooseBackup } from './backup-choice.ts';
import { LocalStorage } from './storage.ts';
import { WAL_PREFIX } from './wal-catalog.ts';

export interface RepositoryRestoreSource {
  readonly backup: BackupRecord;
  /** The chosen backup's files, to restore from as from any backup directory. */
  readonly backupDir: string;
  readonly restoreCommand: string;
  readonly warnings: readonly string[];
}

export async function repositoryRestoreSource(repoDir: string, target: RecoveryTarget | undefined): Promise<RepositoryRestoreSource> {
  const storage = new LocalStorage(resolve(repoDir));
  const backup = chooseBackup(await listBackups(storage), target, storage.location);
  const warnings = canTraverse(join(storage.location, WAL_PREFIX, 'segment'), serverRunAs()) ? []
    : [`the postgres OS user cannot reach "${storage.location}": its restore_command will fail`];
  return {
    backup,
    backupDir: storage.directoryFor(`${BACKUPS_PREFIX}/${backup.id}/${BACKUP_DIR_NAME}`),
    restoreCommand: selfCommand(['archive-get', '--repo', shellQuote(storage.location), '%f', '%p']),
    warnings,
  };
}

/** One line naming the backup a repository restore or drill started from. */
export function describeRepositoryBackup(backup: BackupRecord): string {
  return `repository backup ${backup.id} ("${backup.label}", ended ${backup.endLsn} at ${backup.endTime})`;
}
