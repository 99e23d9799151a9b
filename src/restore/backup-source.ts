/**
 * What restore learns about a backup directory before writing anything: its format, its backup_label, its
 * tablespaces and where they were, and the data directory mode to give the copy. Read-only.
 *
 * Format detection is verify's (PG_VERSION at the top = plain; otherwise base.tar[.*] = tar). For a tar backup
 * only the head of base.tar is read (tar-restore.ts), never the whole archive.
 */
import { promises as fs, existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { UsageError, fsError } from '../errors/index.ts';
import { isTarBackup } from '../verify/tar-backup.ts';
import { parseBackupLabel, parseTablespaceMap, type BackupLabel } from './backup-files.ts';
import { findPlainTablespaces } from './plain-copy.ts';
import { dataDirectoryMode } from './target-dirs.ts';
import { listTarArchives, readBaseHead, type TarArchiveFile } from './tar-restore.ts';

export interface BackupSource {
  readonly dir: string;
  readonly format: 'plain' | 'tar';
  readonly label: BackupLabel | null;
  /** Tablespaces by OID with their location at backup time (plain: the copy the link points to). */
  readonly tablespaces: ReadonlyArray<{ readonly oid: string; readonly from: string }>;
  readonly dirMode: 0o700 | 0o750;
  /** Tar format only. */
  readonly archives: readonly TarArchiveFile[];
}

export async function inspectBackup(backupDir: string): Promise<BackupSource> {
  const dir = resolve(backupDir);
  let stat;
  try {
    stat = await fs.stat(dir);
  } catch (error) {
    throw fsError('open directory', dir, error);
  }
  if (!stat.isDirectory()) throw new UsageError('OPTION_INVALID', `"${dir}" is not a directory`);
  if (isTarBackup(dir)) {
    const archives = listTarArchives(dir);
    const base = archives.find((archive) => archive.kind === 'base') as TarArchiveFile;
    const head = await readBaseHead(base);
    return {
      dir, format: 'tar', archives,
      label: head.backupLabel === null ? null : parseBackupLabel(head.backupLabel),
      tablespaces: head.tablespaceMap === null ? [] : parseTablespaceMap(head.tablespaceMap).map((entry) => ({ oid: entry.oid, from: resolve(entry.location) })),
      dirMode: dataDirectoryMode(head.fileMode ?? 0o600),
    };
  }
  if (!existsSync(join(dir, 'PG_VERSION'))) {
    throw new UsageError('OPTION_INVALID', `"${dir}" is not a base backup: it holds neither PG_VERSION (plain format) nor base.tar (tar format)`);
  }
  let label: BackupLabel | null = null;
  try {
    label = parseBackupLabel(await fs.readFile(join(dir, 'backup_label'), 'utf8'));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw fsError('read file', join(dir, 'backup_label'), error);
  }
  // PG_VERSION has the server's file mode (0600, or 0640 with group access); the directory may have been made by hand.
  const versionMode = (await fs.stat(join(dir, 'PG_VERSION'))).mode;
  return { dir, format: 'plain', archives: [], label, tablespaces: await findPlainTablespaces(dir), dirMode: dataDirectoryMode(versionMode) };
}
