/**
 * The headline case: ten `pgconvoy backup` processes started together against one PostgreSQL 15 cluster
 * under a pgbench write load with small WAL settings (max_wal_size 64MB, min_wal_size 32MB, no archiving) all
 * succeed, with -X fetch (plain) and with -X stream (tar). Each has its own label and START WAL LOCATION, passes
 * the real pg_verifybackup, and a few restore to a consistent cluster where pgbench's invariant holds.
 *
 * The -X fetch test first runs ten real pg_basebackup -X fetch under the same load, for comparison only: without a
 * slot they may lose WAL that the checkpoints recycle ("requested WAL segment ... has already been removed"). How
 * many failed is a diagnostic, never asserted: whether they lose depends on timing (once in a clean run none did),
 * and a red result there would hide the check that matters, pgconvoy's own ten. The deterministic proof that a
 * slot-less backup loses WAL and ours does not is in wal-slot.test.ts.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { requireTool } from '../harness/psql.ts';
import { run } from '../verify/tools.ts';
import {
  checkPgbenchInvariant, restoreAndStart, runCli, startCluster, startPgbench, tmpDir, type CliResult, type TestCluster,
} from '../harness.ts';
import { expectServerClean, readBackupLabel, serverArgs, verifyBackup } from './helpers.ts';

const COUNT = 10;
const RESTORED = 3;
const SETTINGS = {
  max_wal_size: '64MB', min_wal_size: '32MB', archive_mode: 'off',
  max_wal_senders: 2 * COUNT + 5, max_replication_slots: COUNT + 5,
};

async function loadedCluster(): Promise<TestCluster> {
  const cluster = await startCluster({ major: 15, settings: SETTINGS });
  await startPgbench(cluster, { scale: 8, seconds: 1 }).done; // pgbench -i -s 8, then a moment of load
  return cluster;
}

async function tenBackups(cluster: TestCluster, root: string, method: 'fetch' | 'stream', format: 'p' | 't'): Promise<CliResult[]> {
  return Promise.all(Array.from({ length: COUNT }, (_, i) => runCli([
    'backup', ...serverArgs(cluster), '-D', join(root, `b${i}`), '-F', format, '-X', method, '-c', 'fast',
    '-l', `${method} backup ${i}`, '--json',
  ], { timeoutMs: 200_000 })));
}

async function judge(cluster: TestCluster, root: string, method: string, results: CliResult[]): Promise<void> {
  for (const [i, result] of results.entries()) {
    assert.equal(result.status, 0, `backup ${i}: ${result.stderr}`);
    const line = JSON.parse(result.stdout) as { dir: string; label: string; startLsn: string; error?: string };
    assert.equal(line.error, undefined);
    assert.equal(line.label, `${method} backup ${i}`);
  }
  const plainDirs: string[] = [];
  for (let i = 0; i < COUNT; i += 1) plainDirs.push(await verifyBackup(cluster, join(root, `b${i}`)));
  const labels = await Promise.all(plainDirs.map(readBackupLabel));
  assert.deepEqual(labels.map((label) => label.label), Array.from({ length: COUNT }, (_, i) => `${method} backup ${i}`));
  assert.equal(new Set(labels.map((label) => label.startWal)).size, COUNT, `distinct START WAL LOCATIONs: ${labels.map((l) => l.startWal).join(' ')}`);
  for (let i = 0; i < RESTORED; i += 1) {
    const restored = await restoreAndStart(join(root, `b${i}`), cluster.install);
    try {
      await checkPgbenchInvariant(restored);
    } finally {
      await restored.stop('immediate');
    }
  }
  await expectServerClean(cluster, 5_000);
}

test('ten -X fetch backups at once under pgbench load, small WAL: all succeed (pg_basebackup -X fetch for comparison)', { timeout: 300_000 }, async (t) => {
  const cluster = await loadedCluster();
  try {
    const control = await tmpDir('pg-basebackup-fetch');
    let load = startPgbench(cluster, { clients: 2, seconds: 120 });
    const theirs = await Promise.all(Array.from({ length: COUNT }, (_, i) => run(requireTool(cluster, 'pg_basebackup'), [
      ...serverArgs(cluster), '-D', join(control, `b${i}`), '-X', 'fetch', '-c', 'fast', '-l', `pg_basebackup ${i}`,
    ])));
    await load.stop();
    const lost = theirs.filter((result) => result.status !== 0 && /has already been removed/.test(result.stderr)).length;
    const errors = theirs.filter((result) => result.status !== 0).map((result) => /error: (.*)/.exec(result.stderr)?.[1] ?? result.stderr);
    t.diagnostic(`pg_basebackup -X fetch under the same load: ${errors.length} of ${COUNT} failed, ${lost} with "requested WAL ` +
      `segment ... has already been removed"; errors: ${[...new Set(errors.map((e) => e.replace(/[0-9A-F]{24}/g, 'N')))].join(' | ')}`);

    const root = await tmpDir('ten-fetch');
    load = startPgbench(cluster, { clients: 2, seconds: 120 });
    const ours = await tenBackups(cluster, root, 'fetch', 'p');
    await load.stop();
    await judge(cluster, root, 'fetch', ours);
  } finally {
    await cluster.stopAndRemove();
  }
});

test('ten -X stream tar backups at once under pgbench load, small WAL: all succeed', { timeout: 300_000 }, async () => {
  const cluster = await loadedCluster();
  try {
    const root = await tmpDir('ten-stream');
    const load = startPgbench(cluster, { clients: 2, seconds: 120 });
    const ours = await tenBackups(cluster, root, 'stream', 't');
    await load.stop();
    await judge(cluster, root, 'stream', ours);
  } finally {
    await cluster.stopAndRemove();
  }
});
