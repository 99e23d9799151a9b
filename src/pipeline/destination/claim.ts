/**
 * Claiming a target directory (-D, a tablespace's target, --waldir) for one run, atomically, so that two runs
 * given the same directory cannot both write into it. A directory is free only while it is missing or empty, and
 * both states can be seen by two runs at once; what decides is a step only one of them can win:
 *
 *   missing: its parents are created, then the directory itself with a non-recursive mkdir (EEXIST: someone
 *            else made it first, so it is treated as found, not as ours);
 *   then, always: CLAIM_FILE_NAME inside it, created with O_EXCL. Whoever creates it owns the directory; the
 *            other run gets EEXIST and is refused, without touching anything (even a directory it made itself,
 *            since the winner is now writing into it).
 *
 * The claim file is the only entry of a directory just claimed (checked once more after creating it, so files
 * put there by another tool in the meantime refuse the claim too). The destination removes it just before
 * backup_manifest appears, so a finished backup holds no trace of it; a directory still holding it belongs to a
 * run in progress or to one that was killed, and is never mistaken for free.
 */
import { constants as fsConstants, promises as fs } from 'node:fs';
import { dirname, join } from 'node:path';
import { UsageError, fsError } from '../../errors/index.ts';
import { directoryStatus, fsCall, needsChmod } from './fs-helpers.ts';

export const CLAIM_FILE_NAME = 'pgconvoy.lock';

export interface Claim {
  readonly path: string;
  /** The run created the directory (removed on failure) rather than finding it empty (emptied on failure). */
  readonly wasCreated: boolean;
}

/** Refuses a path that cannot be a target: not a directory, or not empty (pg_basebackup's wording). */
export function refuseTarget(path: string, status: 'not-empty' | 'not-directory', what = 'directory'): UsageError {
  if (status === 'not-directory') {
    return new UsageError('TARGET_NOT_DIRECTORY', `could not access ${what} "${path}": Not a directory`, { details: { path } });
  }
  return new UsageError('TARGET_NOT_EMPTY', `${what} "${path}" exists but is not empty`, { details: { path } });
}

/**
 * Claims `path` for this run; `mode` for a directory it creates. Throws TARGET_NOT_EMPTY if another run has it.
 * `onCreating` is called just before the directory itself is made, so that whoever cleans up after a killed run
 * knows of it before it exists.
 */
export async function claimDirectory(path: string, mode: number, onCreating?: () => void): Promise<Claim> {
  const status = await directoryStatus(path);
  if (status === 'not-empty' || status === 'not-directory') throw refuseTarget(path, status);
  let wasCreated = false;
  if (status === 'missing') {
    await fsCall('create directory', dirname(path), () => fs.mkdir(dirname(path), { recursive: true, mode }));
    onCreating?.();
    try {
      await fs.mkdir(path, { mode });
      wasCreated = true;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw fsError('create directory', path, error);
    }
    if (wasCreated && needsChmod(mode)) await fsCall('change mode of', path, () => fs.chmod(path, mode));
  }
  const lock = join(path, CLAIM_FILE_NAME);
  let handle: fs.FileHandle;
  try {
    handle = await fs.open(lock, fsConstants.O_WRONLY | fsConstants.O_CREAT | fsConstants.O_EXCL | fsConstants.O_NOFOLLOW, 0o600);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') throw busy(path);
    if (code === 'ENOTDIR') throw refuseTarget(path, 'not-directory');
    throw fsError('create file', lock, error);
  }
  await handle.close();
  const entries = await fsCall('open directory', path, () => fs.readdir(path));
  if (entries.length !== 1) {
    await fs.rm(lock, { force: true });
    throw refuseTarget(path, 'not-empty');
  }
  return { path, wasCreated };
}

/** The claim is over (the backup completed, or is being left as partial output): the lock file goes. */
export async function releaseClaim(path: string): Promise<void> {
  const lock = join(path, CLAIM_FILE_NAME);
  await fsCall('remove file', lock, () => fs.rm(lock, { force: true }));
}

function busy(path: string): UsageError {
  return new UsageError('TARGET_NOT_EMPTY', `directory "${path}" exists but is not empty`, {
    details: { path },
    hint: `Another pgconvoy run is writing into it (it holds "${CLAIM_FILE_NAME}"), or one was killed there.`,
  });
}
