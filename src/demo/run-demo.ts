/**
 * `pgconvoy demo`: the whole story in one command on a machine with nothing but Node.js. A throwaway
 * PostgreSQL from the npm package starts, a bank workload writes, three backups (four copies) are taken at
 * the same moment under that load, every copy is verified, one is restored and started, and the data is
 * shown to be there and consistent. Then everything is removed. Each step prints one line a newcomer can read.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RecoveryError } from '../errors/index.ts';
import { findInstalls, type PgInstall } from '../cluster/binaries.ts';
import { LocalCluster } from '../cluster/local-cluster.ts';
import { chownForServer } from '../cluster/os-user.ts';
import type { BackupOutcome } from '../backup/run-backup.ts';
import { restoreBackup } from '../restore/index.ts';
import { verifyBackup } from '../verify/index.ts';
import { ACCOUNTS, INITIAL_BALANCE, createBank, readBank, startWorkload, type Workload } from './bank-workload.ts';
import { backupLine, takeBackups, type DemoBackup } from './demo-backup.ts';

export interface DemoOutput {
  write(text: string): void;
}

const WORKLOAD_CLIENTS = 4;

export async function runDemo(out: DemoOutput, signal: AbortSignal): Promise<boolean> {
  const install = pickInstall();
  const root = await mkdtemp(join(tmpdir(), 'pgconvoy-demo-'));
  await chownForServer(root);
  const clusters: LocalCluster[] = [];
  const step = stepPrinter(out);
  let workload: Workload | undefined;
  out.write(`pgconvoy demo: a throwaway PostgreSQL ${install.major} (${install.source === 'embedded' ? 'npm package, nothing installed' : install.bindir}) in ${root}\n\n`);
  try {
    const primary = await step('cluster', async () => {
      const cluster = await LocalCluster.init({ install, dataDir: join(root, 'primary'), checksums: true, noSync: true });
      clusters.push(cluster);
      await cluster.configure({ wal_level: 'replica', max_wal_senders: 20, max_replication_slots: 20, max_wal_size: '64MB', min_wal_size: '32MB' });
      await cluster.start();
      return { result: cluster, line: `started PostgreSQL ${install.major} on 127.0.0.1:${cluster.port} (initdb --data-checksums)` };
    });
    const params = primary.connectionParams();
    await step('data', async () => {
      await createBank(params);
      return { result: null, line: `bank: ${ACCOUNTS} accounts holding ${ACCOUNTS * INITIAL_BALANCE} in total, 100000 past transfers; ${WORKLOAD_CLIENTS} clients start moving money` };
    });
    workload = await startWorkload(params, WORKLOAD_CLIENTS);
    const backups: DemoBackup[] = [
      { label: 'nightly', what: 'plain, WAL streamed', dirs: [join(root, 'nightly')], format: 'plain', walMethod: 'stream', gzip: false },
      { label: 'standby-1', what: 'tar + gzip, WAL fetched', dirs: [join(root, 'standby-1')], format: 'tar', walMethod: 'fetch', gzip: true },
      { label: 'clone', what: 'one server read, two copies', dirs: [join(root, 'clone-a'), join(root, 'clone-b')], format: 'plain', walMethod: 'stream', gzip: false },
    ];
    const outcomes = await step('backups', async () => {
      const results = await takeBackups(params, backups, signal);
      const copies = backups.reduce((sum, backup) => sum + backup.dirs.length, 0);
      return {
        result: results,
        line: `${backups.length} backups (${copies} copies) started at the same moment, under that write load`,
        details: backups.map((backup, index) => backupLine(backup, results[index] as BackupOutcome)),
      };
    });
    await workload.stop();
    const allDirs = backups.flatMap((backup) => backup.dirs);
    await step('verify', async () => {
      const reports = await Promise.all(allDirs.map((dir) => verifyBackup(dir)));
      const bad = reports.filter((report) => !report.ok);
      if (bad.length > 0) throw new RecoveryError('RECOVERY_FAILED', `${bad.length} backup(s) failed verification: ${bad.flatMap((r) => r.problems.map((p) => p.message)).join('; ')}`);
      const files = reports.reduce((sum, report) => sum + report.filesChecked, 0);
      return { result: null, line: `${reports.length}/${reports.length} copies whole: ${files} files match their manifest checksums, WAL chains check from start to end` };
    });
    const restored = await step('restore', async () => {
      const dataDir = join(root, 'restored');
      await restoreBackup(join(root, 'standby-1'), { targetDir: dataDir, serverOwner: true, verify: false, sync: false });
      const cluster = LocalCluster.attach({ install, dataDir });
      clusters.push(cluster);
      await cluster.start();
      const state = await readBank(cluster.connectionParams());
      const expected = BigInt(ACCOUNTS * INITIAL_BALANCE);
      if (state.total !== expected) {
        throw new RecoveryError('RECOVERY_FAILED', `restored bank is inconsistent: total ${state.total}, expected ${expected}`);
      }
      return { result: state, line: `"standby-1" (tar + gzip) restored and started: recovery reached consistency, ${state.accounts} accounts, total ${state.total} (invariant holds), ${state.transfers} transfers` };
    });
    const live = await readBank(params);
    const starts = new Set(outcomes.map((outcome) => outcome.startLsn));
    out.write(`\nEach backup had its own label and start point (${starts.size} distinct), its own WAL slot, and ran while money moved.\n`);
    out.write(`The primary has ${live.transfers} transfers now; the restored copy has ${restored.transfers}, those committed before its\n`);
    out.write(`backup ended, and the bank's total is intact: the copy is consistent.\n\n`);
    return true;
  } finally {
    await step('cleanup', async () => {
      // after a failure the workload still runs; what went wrong has been reported by the step that failed
      await workload?.stop().catch(() => {});
      for (const cluster of clusters.reverse()) await cluster.stop('immediate').catch(() => {});
      await rm(root, { recursive: true, force: true });
      return { result: null, line: `stopped ${clusters.length} servers, removed ${root}` };
    }).catch(() => {});
  }
}

/** The newest embedded install (the demo promises no server to install), else the newest system one. */
function pickInstall(): PgInstall {
  const installs = findInstalls();
  const best = [...installs].sort((a, b) => Number(b.source === 'embedded') - Number(a.source === 'embedded') || b.major - a.major)[0];
  if (best === undefined) {
    throw new RecoveryError('CLUSTER_FAILED', 'no PostgreSQL binaries found', { hint: 'Run "npm ci" to install the embedded PostgreSQL package.' });
  }
  return best;
}

type Step = <T>(name: string, work: () => Promise<{ result: T; line: string; details?: string[] }>) => Promise<T>;

function stepPrinter(out: DemoOutput): Step {
  return async (name, work) => {
    const startedAt = performance.now();
    try {
      const { result, line, details } = await work();
      const seconds = ((performance.now() - startedAt) / 1000).toFixed(1).padStart(5);
      out.write(`  ${name.padEnd(8)} ${seconds} s  ${line}\n`);
      for (const detail of details ?? []) out.write(`                    ${detail}\n`);
      return result;
    } catch (error) {
      out.write(`  ${name.padEnd(8)}  FAILED  ${error instanceof Error ? error.message : String(error)}\n`);
      throw error;
    }
  };
}
