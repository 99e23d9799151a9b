/**
 * Restore of a plain-format backup: a copy of its directory tree into the new data directory, with the data
 * directory's modes (0700/0600, or 0750/0640 with group access) rather than whatever the copy has now, and each
 * tablespace (pg_tblspc/<oid> -> location) copied into its new location with the link pointed there.
 *
 * Files are copied by the kernel (copyFile, no data through our memory), a few at a time; directories are read
 * with opendir, so memory is bounded by tree depth and the copy queue, never by the size of the backup.
 * Symlinks other than tablespace links (a pg_wal made with --waldir) are copied as what they point to: the
 * restored directory must not depend on the backup's location. backup_manifest describes the backup, not the
 * new cluster, and is not copied.
 *
 * Not here: checking or creating the target roots (target-dirs.ts), deciding where tablespaces go (the caller).
 */
import { promises as fs, constants as fsConstants, type Dirent } from 'node:fs';
import { isAbsolute, join, resolve } from 'node:path';
import { AbortError } from '../errors/index.ts';
import { fsCall, makeDirectory } from '../pipeline/destination/fs-helpers.ts';
import { TaskQueue } from '../pipeline/destination/task-queue.ts';

export interface TablespacePlacement {
  readonly oid: string;
  /** Where the backup keeps the tablespace (plain: the link's target; tar: the tablespace_map location). */
  readonly from: string;
  readonly to: string;
}

export interface CopyTotals {
  files: number;
  bytes: number;
}

const COPIES_IN_FLIGHT = 4;
const SKIPPED_AT_TOP = new Set(['backup_manifest', 'backup_manifest.tmp']);

/** pg_tblspc/<oid> symlinks of a plain backup; in-place tablespaces (real directories) travel with the tree. */
export async function findPlainTablespaces(backupDir: string): Promise<Array<{ oid: string; from: string }>> {
  const tblspc = join(backupDir, 'pg_tblspc');
  let entries: Dirent[];
  try {
    entries = await fs.readdir(tblspc, { withFileTypes: true });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
  const found: Array<{ oid: string; from: string }> = [];
  for (const entry of entries) {
    if (!entry.isSymbolicLink() || !/^[0-9]+$/.test(entry.name)) continue;
    const link = await fsCall('read symbolic link', join(tblspc, entry.name), () => fs.readlink(join(tblspc, entry.name)));
    found.push({ oid: entry.name, from: isAbsolute(link) ? resolve(link) : resolve(tblspc, link) });
  }
  return found.sort((left, right) => Number(left.oid) - Number(right.oid));
}

export async function copyPlainBackup(
  backupDir: string, targetDir: string, tablespaces: readonly TablespacePlacement[], dirMode: number, signal?: AbortSignal,
): Promise<CopyTotals> {
  const fileMode = dirMode & 0o666;
  const totals: CopyTotals = { files: 0, bytes: 0 };
  const queue = new TaskQueue(COPIES_IN_FLIGHT);
  const byOid = new Map(tablespaces.map((placement) => [placement.oid, placement]));

  const copyFile = async (from: string, to: string, size: number): Promise<void> => {
    await queue.run(async () => {
      await fsCall('copy file', from, () => fs.copyFile(from, to, fsConstants.COPYFILE_EXCL));
      await fsCall('change mode of', to, () => fs.chmod(to, fileMode));
      totals.files += 1;
      totals.bytes += size;
    });
  };

  const copyTree = async (fromDir: string, toDir: string, relDir: string): Promise<void> => {
    const handle = await fsCall('open directory', fromDir, () => fs.opendir(fromDir));
    for await (const entry of handle) {
      if (signal?.aborted === true) throw new AbortError('ABORTED', 'restore aborted');
      const rel = relDir === '' ? entry.name : `${relDir}/${entry.name}`;
      if (relDir === '' && SKIPPED_AT_TOP.has(entry.name)) continue;
      const from = join(fromDir, entry.name);
      const to = join(toDir, entry.name);
      const placement = relDir === 'pg_tblspc' && entry.isSymbolicLink() ? byOid.get(entry.name) : undefined;
      if (placement !== undefined) {
        await copyTree(placement.from, placement.to, rel);
        await fsCall('create symbolic link', to, () => fs.symlink(placement.to, to));
        continue;
      }
      const stat = entry.isSymbolicLink() ? await fsCall('stat', from, () => fs.stat(from)) : null;
      if (entry.isDirectory() || stat?.isDirectory() === true) {
        await makeDirectory(to, dirMode);
        await copyTree(stat === null ? from : await fs.realpath(from), to, rel);
      } else if (entry.isFile() || stat?.isFile() === true) {
        const size = stat?.size ?? (await fsCall('stat', from, () => fs.lstat(from))).size;
        await copyFile(from, to, size);
      }
      // Sockets and FIFOs are never part of a base backup; nothing to copy.
    }
  };

  try {
    await copyTree(resolve(backupDir), resolve(targetDir), '');
    await queue.drain();
  } finally {
    await queue.settle();
  }
  return totals;
}
