/**
 * The directories a restore writes into (the new data directory and one per tablespace): checked before any
 * byte is written (missing or empty, as pg_basebackup's -D), created with the data directory mode, and undone
 * after a failure (directories we created are removed, pre-existing empty ones emptied), so a failed restore
 * never leaves something that looks like a data directory.
 *
 * Also the ownership pass: a recursive lchown that walks with opendir, so memory stays bounded by the depth of
 * the tree, not by the number of files. Symlinks are never followed (tablespace links are chowned as links;
 * their targets are separate roots).
 */
import { promises as fs } from 'node:fs';
import { join, resolve } from 'node:path';
import { UsageError, fsError } from '../errors/index.ts';
import { refuseTarget } from '../pipeline/destination/claim.ts';
import { directoryStatus, emptyDirectory, fsCall } from '../pipeline/destination/fs-helpers.ts';

interface Root {
  readonly path: string;
  readonly wasCreated: boolean;
}

export class TargetDirs {
  readonly #roots: Root[] = [];
  readonly dirMode: number;

  constructor(dirMode: number) {
    this.dirMode = dirMode;
  }

  /** Refuses a non-empty path (TARGET_NOT_EMPTY) or a non-directory (TARGET_NOT_DIRECTORY); creates a missing one. */
  async prepare(path: string, what: string): Promise<void> {
    const absolute = resolve(path);
    const status = await directoryStatus(absolute);
    if (status === 'not-directory') throw refuseTarget(absolute, status, what);
    if (status === 'not-empty') {
      throw new UsageError('TARGET_NOT_EMPTY', `${what} "${absolute}" exists but is not empty`, {
        details: { path: absolute },
        ...(what === 'tablespace directory' ? { hint: 'Give the tablespace a new location with -T OLDDIR=NEWDIR.' } : {}),
      });
    }
    if (status === 'missing') await fsCall('create directory', absolute, () => fs.mkdir(absolute, { recursive: true, mode: this.dirMode }));
    // The exact mode despite the umask, also for an existing empty directory: PostgreSQL refuses a data
    // directory with other modes.
    await fsCall('change mode of', absolute, () => fs.chmod(absolute, this.dirMode));
    this.#roots.push({ path: absolute, wasCreated: status === 'missing' });
  }

  /** Never throws: a failure to clean up must not hide the error that made the restore fail. */
  async undo(): Promise<void> {
    for (const root of [...this.#roots].reverse()) {
      try {
        if (root.wasCreated) await fs.rm(root.path, { recursive: true, force: true });
        else await emptyDirectory(root.path);
      } catch {
        // best effort
      }
    }
    this.#roots.length = 0;
  }
}

/** lchown of `root` and everything below it. */
export async function chownTree(root: string, uid: number, gid: number): Promise<void> {
  await fsCall('change owner of', root, () => fs.lchown(root, uid, gid));
  const walk = async (dir: string): Promise<void> => {
    const handle = await fsCall('open directory', dir, () => fs.opendir(dir));
    for await (const entry of handle) {
      const path = join(dir, entry.name);
      await fsCall('change owner of', path, () => fs.lchown(path, uid, gid));
      if (entry.isDirectory()) await walk(path);
    }
  };
  const stat = await fsCall('stat', root, () => fs.lstat(root));
  if (stat.isDirectory()) await walk(root);
}

/** 0700 or 0750 (group access, initdb -g), read from the backup's own top directory or first member. */
export function dataDirectoryMode(mode: number): 0o700 | 0o750 {
  return (mode & 0o040) !== 0 ? 0o750 : 0o700;
}

export async function removeFile(path: string): Promise<void> {
  try {
    await fs.rm(path, { force: true });
  } catch (error) {
    throw fsError('remove file', path, error);
  }
}
