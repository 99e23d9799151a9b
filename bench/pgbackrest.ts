/**
 * pgBackRest as the second reference for a plain full backup: Debian's `pgbackrest` (installed with apt-get when
 * missing), a throwaway stanza whose repository sits on the same disk as the plain-disk case's output, settings
 * chosen to do the same work as `pgconvoy backup -Fp`: one process (process-max=1), no compression, a fast
 * checkpoint. The cluster archives no WAL (the bench does not turn archive_mode on, which would change every
 * other case), so the archive check is off; pgBackRest then copies the data directory without the WAL, a little
 * less than pgconvoy's backup holds.
 *
 * pgBackRest refuses to run as root, so it runs as the server's OS user with its config, repository, lock and
 * log directories owned by that user. Setting up is fallible by design: anything that fails before the first
 * timed run yields a reason to print and the case is skipped, not the whole bench.
 */
import { execFileSync } from 'node:child_process';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { LocalCluster } from '../src/cluster/local-cluster.ts';
import { chownForServer, serverRunAs, type RunAs } from '../src/cluster/os-user.ts';
import { measure, type Measured } from './measure.ts';

const STANZA = 'bench';

export interface PgBackRest {
  /** the command line of one timed backup, for the report */
  readonly commandLine: string;
  /** one timed full backup */
  backup(): Promise<Measured>;
  /** untimed: an empty repository with the stanza created again, so every timed run starts the same */
  reset(): Promise<void>;
}

function which(tool: string): string | null {
  try {
    return execFileSync('sh', ['-c', `command -v ${tool}`], { encoding: 'utf8' }).trim() || null;
  } catch {
    return null;
  }
}

/** pgbackrest's path, installing Debian's package when it is missing; throws with the reason otherwise. */
function installedPgBackRest(log: (line: string) => void): string {
  const found = which('pgbackrest');
  if (found !== null) return found;
  if (process.getuid?.() !== 0) throw new Error('pgbackrest is not installed, and installing it needs root');
  if (which('apt-get') === null) throw new Error('pgbackrest is not installed, and there is no apt-get to install it');
  log('pgbackrest missing: apt-get install -y pgbackrest');
  const install = (): void => void execFileSync('apt-get', ['install', '-y', 'pgbackrest'], { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
  try {
    install();
  } catch {
    // A fresh image has no package lists yet; one update, then the same install once more.
    execFileSync('apt-get', ['update'], { stdio: ['ignore', 'ignore', 'pipe'] });
    install();
  }
  const path = which('pgbackrest');
  if (path === null) throw new Error('apt-get install pgbackrest succeeded but no pgbackrest is on PATH');
  return path;
}

/**
 * A ready pgBackRest stanza for `cluster` under `root` (a directory on the plain-disk case's file system), or
 * the reason there cannot be one.
 */
export async function setUpPgBackRest(cluster: LocalCluster, root: string, log: (line: string) => void): Promise<PgBackRest | { skipped: string }> {
  try {
    const binary = installedPgBackRest(log);
    const runAs: RunAs | null = serverRunAs();
    const socketDir = cluster.socketDir;
    if (socketDir === null) throw new Error('the cluster has no socket directory (not started?)');
    const repo = join(root, 'repo');
    const config = join(root, 'pgbackrest.conf');
    for (const dir of ['repo', 'log', 'lock', 'spool']) await mkdir(join(root, dir), { recursive: true });
    await writeFile(config, [
      '[global]',
      `repo1-path=${repo}`, `log-path=${join(root, 'log')}`, `lock-path=${join(root, 'lock')}`, `spool-path=${join(root, 'spool')}`,
      'log-level-console=warn', 'log-level-file=off', 'log-level-stderr=warn',
      'compress-type=none', 'process-max=1', 'start-fast=y', 'archive-check=n', 'archive-copy=n',
      // Each run starts from an empty repository (reset), so there is nothing to expire; this only silences the
      // warning about an unset retention.
      'repo1-retention-full=9999',
      `[${STANZA}]`,
      `pg1-path=${cluster.dataDir}`, `pg1-port=${cluster.port}`, `pg1-socket-path=${socketDir}`, 'pg1-user=postgres',
      '',
    ].join('\n'));
    await chownForServer(root, { recursive: true });
    const base = [binary, `--config=${config}`, `--stanza=${STANZA}`];
    // HOME of the server user may not exist; pgBackRest needs none, so the scratch root stands in.
    const run = (args: readonly string[]): Promise<Measured> => measure([...base, ...args], { runAs, cwd: root });
    const backupArgs = ['--type=full', 'backup'];
    const reset = async (): Promise<void> => {
      await rm(repo, { recursive: true, force: true });
      await mkdir(repo);
      await chownForServer(repo);
      await run(['stanza-create']);
    };
    await reset();
    // One untimed backup proves the configuration before any timed run depends on it.
    await run(backupArgs);
    await reset();
    return { commandLine: [...base, ...backupArgs].join(' '), backup: () => run(backupArgs), reset };
  } catch (error) {
    return { skipped: (error instanceof Error ? error.message : String(error)).trim().split('\n').slice(0, 6).join(' | ') };
  }
}
