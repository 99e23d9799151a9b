/**
 * File-system helpers shared by the terminal stages of a destination: FsError wrapping, writes that go on after
 * short ones, directory creation with exact modes, emptiness checks, removal of what a destination created, and
 * the end-of-backup fsync walk.
 *
 * Modes are applied exactly (chmod when the process umask would strip bits), because a restored data directory
 * must be 0700/0750 or PostgreSQL refuses to start.
 */
import { promises as fs, constants as fsConstants, writevSync } from 'node:fs';
import { join } from 'node:path';
import { fsError } from '../../errors/index.ts';

type PathLike = string | Buffer;

let cachedUmask: number | null = null;
function umask(): number {
  // Reading the umask means setting it; do it once, before any concurrent file creation starts.
  cachedUmask ??= process.umask();
  return cachedUmask;
}

export function needsChmod(mode: number): boolean {
  return (mode & ~umask()) !== mode;
}

/** Runs a file-system call, turning Node errno errors into FsError (`could not <action> "<path>"`). */
export async function fsCall<T>(action: string, path: PathLike, call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (error) {
    throw fsError(action, path.toString(), error);
  }
}

/**
 * mkdir that tolerates an existing directory (pg_wal, pg_tblspc, archive_status are pre-created), also one reached
 * through a symlink: with --waldir, pg_wal is our own symlink to the WAL directory. (Symlinks an archive creates are
 * refused before anything is written through them, see extract-sink.ts.)
 */
export async function makeDirectory(path: PathLike, mode: number): Promise<void> {
  try {
    await fs.mkdir(path, { mode });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') {
      const stat = await fsCall('stat', path, () => fs.stat(path));
      if (stat.isDirectory()) return;
    }
    throw fsError('create directory', path.toString(), error);
  }
  if (needsChmod(mode)) await fsCall('change mode of', path, () => fs.chmod(path, mode));
}

export type DirectoryStatus = 'missing' | 'empty' | 'not-empty' | 'not-directory';

/** What is at `path`: 'not-directory' also when a parent is not a directory, as opendir's ENOTDIR says. */
export async function directoryStatus(path: string): Promise<DirectoryStatus> {
  try {
    const entries = await fs.readdir(path);
    return entries.length === 0 ? 'empty' : 'not-empty';
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return 'missing';
    if (code === 'ENOTDIR') return 'not-directory';
    throw fsError('access directory', path, error);
  }
}

/** Removes a directory's contents but keeps the directory (it existed, empty, before we wrote into it). */
export async function emptyDirectory(path: string): Promise<void> {
  let entries: string[];
  try {
    entries = await fs.readdir(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw fsError('open directory', path, error);
  }
  await Promise.all(entries.map((entry) => fsCall('remove', join(path, entry), () => fs.rm(join(path, entry), { recursive: true, force: true }))));
}

export async function removeIfExists(path: string): Promise<void> {
  await fsCall('remove file', path, () => fs.rm(path, { force: true }));
}

const SYNC_CONCURRENCY = 16;

/**
 * fsyncs every regular file and directory below `root` (symlinks are not followed: tablespace targets are synced
 * as their own roots), directories after their contents, as PostgreSQL's fsync_pgdata does.
 */
export async function syncTree(root: string): Promise<void> {
  const files: string[] = [];
  const directories: string[] = [];
  const walk = async (dir: string): Promise<void> => {
    const entries = await fsCall('open directory', dir, () => fs.readdir(dir, { withFileTypes: true }));
    for (const entry of entries) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) await walk(path);
      else if (entry.isFile()) files.push(path);
    }
    directories.push(dir);
  };
  await walk(root);
  await syncPaths(files);
  await syncPaths(directories);
}

export async function syncPaths(paths: readonly string[]): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < paths.length) {
      const path = paths[next++] as string;
      await syncPath(path);
    }
  };
  await Promise.all(Array.from({ length: Math.min(SYNC_CONCURRENCY, paths.length) }, worker));
}

export async function syncPath(path: string): Promise<void> {
  const handle = await fsCall('open', path, () => fs.open(path, fsConstants.O_RDONLY));
  try {
    await fsCall('fsync', path, () => handle.sync());
  } finally {
    await handle.close();
  }
}

/**
 * Writes all of `buffers` (`bytes` in total) with writevSync, at `position` or, when null, at the descriptor's own
 * offset, going on after short writes. Errors are FsError `could not <action> "<path>"`.
 */
export function writevAllSync(fd: number, buffers: Buffer[], bytes: number, position: number | null, action: string, path: string): void {
  let rest = buffers;
  let at = position;
  let left = bytes;
  while (left > 0) {
    let written: number;
    try {
      written = at === null ? writevSync(fd, rest) : writevSync(fd, rest, at);
    } catch (error) {
      throw fsError(action, path, error);
    }
    if (written === 0) throw noProgressError(action, path);
    left -= written;
    if (at !== null) at += written;
    if (left > 0) rest = dropBytes(rest, written);
  }
}

/** A write that makes no progress is a full disk, as PostgreSQL treats short writes. */
export function noProgressError(action: string, path: string): unknown {
  return fsError(action, path, Object.assign(new Error('ENOSPC: no space left on device'), { code: 'ENOSPC' }));
}

/** What is left of `buffers` after their first `count` bytes were written (a short write). */
export function dropBytes(buffers: Buffer[], count: number): Buffer[] {
  let left = count;
  const rest: Buffer[] = [];
  for (const buffer of buffers) {
    if (left >= buffer.length) left -= buffer.length;
    else {
      rest.push(left > 0 ? buffer.subarray(left) : buffer);
      left = 0;
    }
  }
  return rest;
}
