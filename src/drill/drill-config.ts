/**
 * How a drill's server is set up: which PostgreSQL binaries start the backup, and the settings that make a
 * production configuration safe and observable on a scratch copy. The settings are appended to
 * postgresql.auto.conf by restore (last, so they win over the backup's own postgresql.conf and ALTER SYSTEM).
 *
 * Safety: archive_mode off (a drill must never push WAL into the production archive), no standby or recovery
 * signal unless the drill was given a restore command (a -R backup must not start streaming from the
 * primary), ssl off, and a pg_hba.conf of our own allowing only local socket connections: the server's socket
 * lives in LocalCluster's private directory, so nobody but us reaches the restored data.
 * Observability: log_line_prefix '%m [%p] ' in UTC, so server-log.ts can time recovery.
 * Only parameters that exist in every supported major (13-18) are set: an unknown one is FATAL at startup.
 */
import { existsSync, promises as fs } from 'node:fs';
import { join } from 'node:path';
import { findInstall, findInstalls, type PgInstall } from '../cluster/binaries.ts';
import { chownForServer } from '../cluster/os-user.ts';
import type { SettingValue } from '../cluster/server-files.ts';
import { RecoveryError, UsageError } from '../errors/index.ts';

export const DRILL_HBA_FILE = 'drill_hba.conf';
export const DRILL_IDENT_FILE = 'drill_ident.conf';

export function drillSettings(scratchDir: string, overrides: Readonly<Record<string, SettingValue>>): Record<string, SettingValue> {
  return {
    archive_mode: 'off',
    fsync: false,
    ssl: false,
    huge_pages: 'try',
    external_pid_file: '',
    hba_file: join(scratchDir, DRILL_HBA_FILE),
    ident_file: join(scratchDir, DRILL_IDENT_FILE),
    cluster_name: 'pgconvoy-drill',
    log_line_prefix: '%m [%p] ',
    log_timezone: 'UTC',
    log_min_messages: 'warning',
    ...overrides,
  };
}

/** The authentication files the drill settings point at, readable by the server user. */
export async function writeDrillAuthFiles(scratchDir: string): Promise<void> {
  const files: Array<[string, string]> = [
    [DRILL_HBA_FILE, '# pgconvoy drill: the private Unix socket only\nlocal all all trust\n'],
    [DRILL_IDENT_FILE, ''],
  ];
  for (const [name, text] of files) {
    const path = join(scratchDir, name);
    await fs.writeFile(path, text, { mode: 0o600 });
    await chownForServer(path);
  }
}

/**
 * A backup of a cluster whose configuration lives elsewhere (Debian keeps it in /etc/postgresql) has no
 * postgresql.conf; PostgreSQL will not start without one, so an empty one means "defaults plus ours".
 */
export async function ensureMainConfig(dataDir: string): Promise<boolean> {
  const path = join(dataDir, 'postgresql.conf');
  if (existsSync(path)) return false;
  await fs.writeFile(path, '# pgconvoy drill: the backup had no postgresql.conf\n', { mode: 0o600 });
  await chownForServer(path);
  return true;
}

/** The install that starts a backup of `major`: --pg-bindir if given (and of that major), else discovery's. */
export function pickInstall(major: number | null, bindir: string | undefined): PgInstall {
  if (major === null) throw new RecoveryError('RECOVERY_FAILED', 'the restored backup has no PG_VERSION file');
  if (bindir !== undefined) {
    const given = findInstall({ bindir });
    if (given === null) throw new UsageError('OPTION_INVALID', `no PostgreSQL server found in "${bindir}"`);
    if (given.major !== major) {
      throw new UsageError('OPTION_CONFLICT', `"${bindir}" holds PostgreSQL ${given.major}, but the backup is from PostgreSQL ${major}`);
    }
    return given;
  }
  const install = findInstall({ major });
  if (install !== null) return install;
  const available = findInstalls().map((other) => `PostgreSQL ${other.major} in "${other.bindir}"`);
  throw new RecoveryError('CLUSTER_FAILED', `no PostgreSQL ${major} installation found to start the backup`, {
    details: { detail: available.length === 0 ? 'no PostgreSQL installation was found at all' : `installed: ${available.join(', ')}` },
    hint: `Install PostgreSQL ${major}, or give its bin directory with --pg-bindir.`,
  });
}
