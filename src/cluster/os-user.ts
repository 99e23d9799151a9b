/**
 * The OS identity PostgreSQL runs as. PostgreSQL refuses to run as root, so when we are root its processes
 * run as the `postgres` user (created when missing) and the files they own are chowned to it; otherwise they
 * run as ourselves and nothing is chowned.
 *
 * Deliberately not here: sudo, capabilities, or changing permissions of directories we did not create (when a
 * path is not reachable for the server user we say so, or copy what we own to a reachable place).
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { cp, chmod, lchown, readdir, rename, rm, stat } from 'node:fs/promises';
import { statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { RecoveryError } from '../errors/index.ts';

/** uid/gid to spawn the server tools with; null means "as the current user". */
export interface RunAs {
  readonly uid: number;
  readonly gid: number;
}

const SERVER_USER = 'postgres';
let cachedRunAs: RunAs | null | undefined;

function idOf(flag: '-u' | '-g'): number | null {
  try {
    return Number(execFileSync('id', [flag, SERVER_USER], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim());
  } catch {
    return null;
  }
}

export function serverRunAs(): RunAs | null {
  if (cachedRunAs !== undefined) return cachedRunAs;
  if (process.getuid?.() !== 0) return (cachedRunAs = null);
  if (idOf('-u') === null) {
    try {
      execFileSync('useradd', ['--system', '--user-group', '--no-create-home', '--shell', '/bin/sh', SERVER_USER], {
        stdio: ['ignore', 'ignore', 'pipe'],
      });
    } catch (cause) {
      throw new RecoveryError('CLUSTER_FAILED', `could not create the "${SERVER_USER}" OS user`, {
        cause,
        hint: 'PostgreSQL refuses to run as root; create an unprivileged "postgres" user.',
      });
    }
  }
  const uid = idOf('-u');
  const gid = idOf('-g');
  if (uid === null || gid === null) {
    throw new RecoveryError('CLUSTER_FAILED', `could not look up the "${SERVER_USER}" OS user`);
  }
  return (cachedRunAs = { uid, gid });
}

/** Gives `path` (and, with `recursive`, everything below it) to the server user. */
export async function chownForServer(path: string, options: { recursive?: boolean; mode?: number } = {}): Promise<void> {
  const runAs = serverRunAs();
  if (runAs !== null) {
    await lchown(path, runAs.uid, runAs.gid);
    if (options.recursive === true) {
      for (const entry of await readdir(path, { recursive: true })) {
        await lchown(join(path, entry), runAs.uid, runAs.gid);
      }
    }
  }
  if (options.mode !== undefined) await chmod(path, options.mode);
}

/** Whether `runAs` may search every directory on the way to `path` (owner, primary group, then other bits). */
export function canTraverse(path: string, runAs: RunAs | null): boolean {
  if (runAs === null) return true;
  for (let dir = dirname(resolve(path)); ; dir = dirname(dir)) {
    let info;
    try {
      info = statSync(dir);
    } catch {
      return false;
    }
    const bit = info.uid === runAs.uid ? 0o100 : info.gid === runAs.gid ? 0o010 : 0o001;
    if ((info.mode & bit) === 0) return false;
    if (dir === dirname(dir)) return true;
  }
}

/**
 * A bindir the server user can execute from. An npm install inside a private directory (say /root/app) is not
 * reachable for `postgres`, so its whole tree (bin/, lib/, share/) is copied once to a shared temp directory.
 */
export async function reachableBindir(bindir: string): Promise<string> {
  const runAs = serverRunAs();
  if (canTraverse(join(bindir, 'postgres'), runAs)) return bindir;
  const installRoot = dirname(resolve(bindir));
  const digest = createHash('sha256').update(installRoot).digest('hex').slice(0, 12);
  const target = join(tmpdir(), `pgconvoy-pg-${digest}`);
  const targetBindir = join(target, 'bin');
  try {
    await stat(join(targetBindir, 'postgres'));
    return targetBindir;
  } catch {
    // not copied yet
  }
  const staging = `${target}.${process.pid}.tmp`;
  await rm(staging, { recursive: true, force: true });
  await cp(installRoot, staging, { recursive: true, verbatimSymlinks: true });
  await chmod(staging, 0o755);
  try {
    await rename(staging, target);
  } catch {
    // another process won the race; its copy is as good as ours
    await rm(staging, { recursive: true, force: true });
  }
  return targetBindir;
}
