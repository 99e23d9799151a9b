/**
 * Starts a real postmaster on a restored backup, the only proof that a backup is good. Accepts a plain-format
 * data directory (used in place, as `pg_ctl start` would) or a tar-format backup directory (base.tar[.gz] and
 * pg_wal.tar[.gz], extracted with the system tar into a fresh temp dir, independent of our own tar code).
 *
 * Not supported: tablespace archives (<oid>.tar); tests that need them extract those themselves.
 * "Started" means the postmaster reports ready (or standby): with a backup_label that is only after recovery
 * replayed up to the backup's end, i.e. the copy is consistent.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, readdir, rm } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import type { PgInstall } from '../../../src/cluster/binaries.ts';
import { LocalCluster } from '../../../src/cluster/local-cluster.ts';
import { canTraverse, chownForServer, serverRunAs } from '../../../src/cluster/os-user.ts';

const RESTORE_START_TIMEOUT_MS = 180_000;

function findArchive(dir: string, name: string): string | null {
  for (const candidate of [`${name}.tar`, `${name}.tar.gz`]) {
    if (existsSync(join(dir, candidate))) return join(dir, candidate);
  }
  return null;
}

async function extractTarBackup(backupDir: string, into: string): Promise<void> {
  const base = findArchive(backupDir, 'base');
  if (base === null) throw new Error(`"${backupDir}" holds neither a data directory (PG_VERSION) nor base.tar`);
  const tablespaces = (await readdir(backupDir)).filter((name) => /^\d+\.tar(\.gz)?$/.test(name));
  if (tablespaces.length > 0) throw new Error(`restoreAndStart does not handle tablespace archives: ${tablespaces.join(', ')}`);
  await mkdir(into, { recursive: true });
  await promisify(execFile)('tar', ['-xf', base, '-C', into]);
  const wal = findArchive(backupDir, 'pg_wal');
  if (wal !== null) {
    await mkdir(join(into, 'pg_wal'), { recursive: true });
    await promisify(execFile)('tar', ['-xf', wal, '-C', join(into, 'pg_wal')]);
  }
}

/**
 * `scratchDir` receives the extracted copy of a tar backup; it must be reachable for the server user (the
 * harness passes a tmpDir()).
 */
export async function restoreAndStartIn(
  backupDirOrDataDir: string, install: PgInstall, scratchDir: () => Promise<string>, opts: { timeoutMs?: number } = {},
): Promise<LocalCluster> {
  let dataDir = resolve(backupDirOrDataDir);
  if (!existsSync(join(dataDir, 'PG_VERSION'))) {
    const target = join(await scratchDir(), 'data');
    await extractTarBackup(dataDir, target);
    dataDir = target;
  }
  if (!canTraverse(dataDir, serverRunAs())) {
    throw new Error(`the postgres OS user cannot reach "${dataDir}"; put backups under a tmpDir() of the harness`);
  }
  // A copy of a running cluster may carry its lock file; the server would refuse to start while it exists.
  await rm(join(dataDir, 'postmaster.pid'), { force: true });
  await chownForServer(dataDir, { recursive: true, mode: 0o700 });
  const cluster = LocalCluster.attach({ install, dataDir });
  await cluster.start({ timeoutMs: opts.timeoutMs ?? RESTORE_START_TIMEOUT_MS });
  return cluster;
}
