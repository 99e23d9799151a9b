/**
 * Loss of the server connection mid-backup: the BASE_BACKUP walsender terminated, the WAL-streaming walsender
 * terminated, or the whole server stopped with -m immediate. Each time: a clear error, exit status 1, the
 * destination removed, and nothing of ours left on the server (no backup in progress, no pgconvoy_ slot).
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { psql, startCluster, tmpDir, type TestCluster } from '../harness.ts';
import { expectServerClean, listDir, serverArgs, serverBackupState, startCli, waitForPhase } from './helpers.ts';

async function ballastCluster(): Promise<TestCluster> {
  const cluster = await startCluster({ major: 15 });
  await psql(cluster, "CREATE TABLE ballast AS SELECT g, repeat('x', 200) AS pad FROM generate_series(1, 100000) g");
  return cluster;
}

/**
 * Starts a slowed backup, lets `interrupt` cut the server side once files are streaming, and checks the failure
 * is one clear error line with exit status 1 and no destination left behind.
 */
async function interruptedBackup(t: TestContext, cluster: TestCluster, name: string, args: string[],
  interrupt: () => Promise<void>, error: RegExp): Promise<void> {
  const dir = join(await tmpDir(name), 'b');
  const backup = startCli(['backup', ...serverArgs(cluster), '-D', dir, '-c', 'fast', '-r', '4M', ...args]);
  await waitForPhase(cluster, 'streaming database files');
  await interrupt();
  const result = await backup.result;
  t.diagnostic(result.stderr.trim());
  assert.equal(result.status, 1);
  assert.match(result.stderr, error);
  assert.equal(await listDir(dir), null);
}

const TERMINATED = /^pgconvoy: error: (error during base backup: )?terminating connection due to administrator command$/m;

test('pg_terminate_backend of the BASE_BACKUP walsender: clear error, exit 1, cleaned', { timeout: 60_000 }, async (t) => {
  const cluster = await ballastCluster();
  try {
    await interruptedBackup(t, cluster, 'terminate-main', ['-X', 'fetch'], async () => {
      await psql(cluster, 'SELECT pg_terminate_backend(pid) FROM pg_stat_progress_basebackup');
    }, TERMINATED);
    await expectServerClean(cluster, 5_000);
  } finally {
    await cluster.stopAndRemove();
  }
});

test('pg_terminate_backend of the WAL-streaming walsender (-X stream): clear error, exit 1, cleaned', { timeout: 60_000 }, async (t) => {
  const cluster = await ballastCluster();
  try {
    await interruptedBackup(t, cluster, 'terminate-stream', ['-X', 'stream', '-F', 't'], async () => {
      const [[terminated] = []] = await psql(cluster, 'SELECT count(pg_terminate_backend(pid)) FROM pg_stat_replication ' +
        'WHERE pid NOT IN (SELECT pid FROM pg_stat_progress_basebackup)');
      assert.equal(terminated, '1');
    }, TERMINATED);
    await expectServerClean(cluster, 5_000);
  } finally {
    await cluster.stopAndRemove();
  }
});

test('server stopped with -m immediate mid-backup: clear error, exit 1, cleaned, nothing left after restart', { timeout: 60_000 }, async (t) => {
  const cluster = await ballastCluster();
  try {
    await interruptedBackup(t, cluster, 'server-gone', ['-X', 'stream'], () => cluster.stop('immediate'),
      /^pgconvoy: error: (server closed the connection unexpectedly|terminating connection because of crash of another server process)/m);
    await cluster.start({ port: cluster.port });
    assert.deepEqual(await serverBackupState(cluster), { backups: 0, phases: [], slots: [], walsenders: 0 });
  } finally {
    await cluster.stopAndRemove();
  }
});
