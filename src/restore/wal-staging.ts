/**
 * WAL staging for a recovery target without --restore-command. PostgreSQL 12+ refuses recovery.signal without
 * restore_command, and a target needs recovery.signal; so the backup's own WAL is moved out of pg_wal into
 * <data>/pg_wal_restore and restore_command copies it back one segment at a time (recovery-settings.ts writes the
 * command, with paths relative to the data directory, the startup process's working directory, so the restored
 * directory may still be moved before it is started).
 *
 * Moving, not copying: the WAL then exists once, and pg_wal starts empty as in any archive recovery. Segments and
 * timeline history files move; backup history files (.backup) and archive_status markers of moved files do not
 * matter to recovery and are dropped or left. The directory may be deleted once recovery has finished.
 */
import { promises as fs } from 'node:fs';
import { join } from 'node:path';
import { fsCall, makeDirectory } from '../pipeline/destination/fs-helpers.ts';
import { STAGED_WAL_DIR } from './recovery-settings.ts';

const STAGED_NAME = /^(?:[0-9A-F]{24}|[0-9A-F]{8}\.history)$/;

export interface StagedWal {
  /** Absolute path of the staging directory. */
  readonly dir: string;
  readonly files: number;
}

export async function stageBackupWal(dataDir: string, dirMode: number, fileMode: number): Promise<StagedWal> {
  const walDir = join(dataDir, 'pg_wal');
  const staged = join(dataDir, STAGED_WAL_DIR);
  await makeDirectory(staged, dirMode);
  const names: string[] = [];
  const handle = await fsCall('open directory', walDir, () => fs.opendir(walDir));
  for await (const entry of handle) {
    if (entry.isFile() && STAGED_NAME.test(entry.name)) names.push(entry.name);
  }
  for (const name of names.sort()) {
    const target = join(staged, name);
    await fsCall('move file', join(walDir, name), () => fs.rename(join(walDir, name), target));
    await fsCall('change mode of', target, () => fs.chmod(target, fileMode));
    for (const marker of [`${name}.done`, `${name}.ready`]) await fs.rm(join(walDir, 'archive_status', marker), { force: true });
  }
  return { dir: staged, files: names.length };
}
