/**
 * `pgconvoy demo`: the whole story in one command on a machine with nothing but Node.js. A throwaway
 * PostgreSQL from the npm package starts, a bank workload writes, three backups (four copies) are taken at
 * the same moment under that load, then four more at once through `pgconvoy serve` beside the cluster, which
 * shows what it read against what they would have read alone (serve-convoy.ts). Every copy is verified, one
 * backup of each kind is restored and started, and the data is shown to be there and consistent. Then
 * everything is removed. Each step prints one line a newcomer can read, with details under it where they help.
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
import { ACCOUNTS, INITIAL_BALANCE, createBank, readBank, startWorkload, type BankState, type Workload } from './bank-workload.ts';
import { allEnded, backupLine, megabytes, takeBackups, type DemoBackup } from './demo-backup.ts';
import { backupsThroughServe } from './serve-convoy.ts';

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
    const viaServe: DemoBackup[] = [
      { label: 'convoy-1', what: 'plain, WAL streamed', dirs: [join(root, 'convoy-1')], format: 'plain', walMethod: 'stream', gzip: false },
      { label: 'convoy-2', what: 'tar, WAL fetched', dirs: [join(root, 'convoy-2')], format: 'tar', walMethod: 'fetch', gzip: false },
      { label: 'convoy-3', what: 'plain, WAL fetched', dirs: [join(root, 'convoy-3')], format: 'plain', walMethod: 'fetch', gzip: false },
      { label: 'convoy-4', what: 'tar, WAL streamed', dirs: [join(root, 'convoy-4')], format: 'tar', walMethod: 'stream', gzip: false },
    ];
    const convoy = await step('serve', async () => {
      const report = await backupsThroughServe(primary, viaServe, signal);
      return {
        result: report,
        line: `pgconvoy serve beside the cluster (in this process, 127.0.0.1:${report.port}); ${viaServe.length} backups through it at the same moment, same load`,
        details: [
          ...viaServe.map((backup, index) => backupLine(backup, report.outcomes[index] as BackupOutcome)),
          `data directory read by serve for all ${viaServe.length}: ${megabytes(report.serveReadBytes)}; by the same backups on their own: ` +
            `${megabytes(report.aloneReadBytes)} (the data files each received, summed)`,
          'serve stopped: no session, slot or walsender of it is left on the cluster',
        ],
      };
    });
    await workload.stop();
    const allDirs = [...backups, ...viaServe].flatMap((backup) => backup.dirs);
    await step('verify', async () => {
      const reports = await Promise.all(allDirs.map((dir) => verifyBackup(dir)));
      const bad = reports.filter((report) => !report.ok);
      if (bad.length > 0) throw new RecoveryError('RECOVERY_FAILED', `${bad.length} backup(s) failed verification: ${bad.flatMap((r) => r.problems.map((p) => p.message)).join('; ')}`);
      const files = reports.reduce((sum, report) => sum + report.filesChecked, 0);
      return {
        result: null,
        line: `${reports.length}/${reports.length} copies whole (${viaServe.length} of them through serve): ${files} files match their manifest checksums, WAL chains check from start to end`,
      };
    });
    /** Restores the backup labelled `label`, starts it and reads the bank, which must balance. */
    const restoreAndRead = async (label: string): Promise<BankState> => {
      const dataDir = join(root, `restored-${label}`);
      await restoreBackup(join(root, label), { targetDir: dataDir, serverOwner: true, verify: false, sync: false });
      const cluster = LocalCluster.attach({ install, dataDir });
      clusters.push(cluster);
      await cluster.start();
      const state = await readBank(cluster.connectionParams());
      const expected = BigInt(ACCOUNTS * INITIAL_BALANCE);
      if (state.total !== expected) {
        throw new RecoveryError('RECOVERY_FAILED', `restored bank of "${label}" is inconsistent: total ${state.total}, expected ${expected}`);
      }
      return state;
    };
    const toRestore = [{ label: 'standby-1', what: 'tar + gzip, taken directly' }, { label: 'convoy-2', what: 'tar, taken through serve' }];
    const restored = await step('restore', async () => {
      const states = await allEnded(toRestore.map(({ label }) => restoreAndRead(label)));
      return {
        result: states,
        line: `${toRestore.length} backups restored and started: recovery reached consistency, and the bank's total holds in each`,
        details: toRestore.map(({ label, what }, index) => {
          const state = states[index] as BankState;
          return `${label.padEnd(10)} ${what.padEnd(28)} ${state.accounts} accounts, total ${state.total}, ${state.transfers} transfers`;
        }),
      };
    });
    const live = await readBank(params);
    const starts = new Set([...outcomes, ...convoy.outcomes].map((outcome) => outcome.startLsn));
    // one read of the data directory, as big as the mean backup's share of it (the cluster grows under the load)
    const oneRead = convoy.aloneReadBytes / viaServe.length;
    out.write(`\nEach backup had its own label and start point (${starts.size} distinct), its own WAL slot, and ran while money moved.\n`);
    out.write(`Through serve, the ${viaServe.length} backups read the data directory ${(convoy.serveReadBytes / oneRead).toFixed(2)} times between them instead of ${viaServe.length}: one that joins\n`);
    out.write(`the shared read late gets the files it missed when the reader comes round again.\n`);
    out.write(`The primary has ${live.transfers} transfers now; the restored copies have ${restored.map((state) => state.transfers).join(' and ')}, those\n`);
    out.write(`committed before their backups ended, and the bank's total is intact: the copies are consistent.\n\n`);
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
