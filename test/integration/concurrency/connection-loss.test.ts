/**
 * Loss of the server connection mid-backup: the BASE_BACKUP walsender terminated, the WAL-streaming walsender
 * terminated or timed out (wal_sender_timeout, while pgconvoy was stopped with SIGSTOP), or the whole server stopped
 * with -m immediate. Each time: a clear error that says which, exit status 1, the destination removed, and nothing
 * of ours left on the server (no backup in progress, no pgconvoy_ slot). The tests that leave the server running
 * share one cluster.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, test, type TestContext } from 'node:test';
import { psql, startCluster, tmpDir, type TestCluster } from '../harness.ts';
import { expectServerClean, listDir, serverArgs, serverBackupState, startCli, waitFor, waitForPhase, type RunningCli } from './helpers.ts';

async function ballastCluster(): Promise<TestCluster> {
  const cluster = await startCluster({ major: 15 });
  await psql(cluster, "CREATE TABLE ballast AS SELECT g, repeat('x', 200) AS pad FROM generate_series(1, 100000) g");
  return cluster;
}

let shared: Promise<TestCluster> | null = null;
/** The cluster of the tests that leave the server running, started by the first of them. */
function sharedCluster(): Promise<TestCluster> {
  shared ??= ballastCluster();
  return shared;
}

after(async () => {
  await (await shared?.catch(() => null))?.stopAndRemove();
});

/**
 * Starts a slowed backup, lets `interrupt` cut the server side once files are streaming, and checks the failure
 * is one clear error line with exit status 1 and no destination left behind.
 */
async function interruptedBackup(t: TestContext, cluster: TestCluster, name: string, args: string[],
  interrupt: (backup: RunningCli) => Promise<void>, error: RegExp): Promise<string> {
  const dir = join(await tmpDir(name), 'b');
  const backup = startCli(['backup', ...serverArgs(cluster), '-D', dir, '-c', 'fast', '-r', '4M', ...args]);
  await waitForPhase(cluster, 'streaming database files');
  await interrupt(backup);
  const result = await backup.result;
  t.diagnostic(result.stderr.trim());
  assert.equal(result.status, 1);
  assert.match(result.stderr, error);
  assert.equal(await listDir(dir), null);
  return result.stderr;
}

const WAL_STREAMER = 'SELECT pid FROM pg_stat_replication WHERE pid NOT IN (SELECT pid FROM pg_stat_progress_basebackup)';

const TERMINATED = /^pgconvoy: error: (error during base backup: )?terminating connection due to administrator command$/m;

test('pg_terminate_backend of the BASE_BACKUP walsender: clear error, exit 1, cleaned', { timeout: 60_000 }, async (t) => {
  const cluster = await sharedCluster();
  await interruptedBackup(t, cluster, 'terminate-main', ['-X', 'fetch'], async () => {
    await psql(cluster, 'SELECT pg_terminate_backend(pid) FROM pg_stat_progress_basebackup');
  }, TERMINATED);
  await expectServerClean(cluster, 5_000);
});

test('pg_terminate_backend of the WAL-streaming walsender (-X stream): clear error, exit 1, cleaned', { timeout: 60_000 }, async (t) => {
  const cluster = await sharedCluster();
  await interruptedBackup(t, cluster, 'terminate-stream', ['-X', 'stream', '-F', 't'], async () => {
    const [[terminated] = []] = await psql(cluster, `SELECT count(pg_terminate_backend(pid)) FROM (${WAL_STREAMER}) s`);
    assert.equal(terminated, '1');
  }, TERMINATED);
  await expectServerClean(cluster, 5_000);
});

test('pgconvoy stopped (SIGSTOP) for longer than wal_sender_timeout (-X stream): "timed out", and why; exit 1, cleaned', { timeout: 90_000 }, async (t) => {
  const cluster = await sharedCluster();
  const TIMEOUT = '2s';
  await psql(cluster, `ALTER SYSTEM SET wal_sender_timeout = '${TIMEOUT}'`); // not in a transaction: one statement per psql
  await psql(cluster, 'SELECT pg_reload_conf()');
  try {
    await waitFor('new sessions to see the new wal_sender_timeout', async () => (await psql(cluster, 'SHOW wal_sender_timeout'))[0]?.[0] === TIMEOUT);
    const stderr = await interruptedBackup(t, cluster, 'sender-timeout', ['-X', 'stream', '-F', 't'], async (backup) => {
      await waitFor('the WAL-streaming walsender', async () => (await psql(cluster, WAL_STREAMER)).length === 1);
      const [[streamer] = []] = await psql(cluster, WAL_STREAMER);
      backup.child.kill('SIGSTOP');
      try {
        // The walsender gives up after 2 s without a word from us; it is gone long before we resume.
        await waitFor('the walsender to time out', async () => (await psql(cluster, `SELECT 1 FROM pg_stat_replication WHERE pid = ${streamer as string}`)).length === 0, 30_000);
        await sleep(500);
      } finally {
        backup.child.kill('SIGCONT');
      }
    }, /^pgconvoy: error: WAL stream timed out: the server closed it after receiving nothing from this client for \d+\.\d s, longer than its wal_sender_timeout \(2\.0 s\)$/m);
    assert.match(stderr, /^pgconvoy: hint: The client stopped reading and replying .*"terminating walsender process due to replication timeout"/m);
    assert.doesNotMatch(stderr, /terminated abnormally/);
    await expectServerClean(cluster, 5_000);
  } finally {
    await psql(cluster, 'ALTER SYSTEM RESET wal_sender_timeout');
    await psql(cluster, 'SELECT pg_reload_conf()');
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
