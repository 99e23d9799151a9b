/**
 * serve beyond a PostgreSQL 15 primary: beside a PostgreSQL 18 cluster, with pgconvoy's own client (the 15
 * pg_basebackup refuses a newer server), and beside a PostgreSQL 15 standby, with the real pg_basebackup, its
 * WAL streamed through serve from the standby's walsender. Both under a pgbench write load (on the primary for
 * the standby); each backup verifies and a real postgres started on it reaches consistency with pgbench's
 * invariant holding. A cluster or two per test.
 */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import {
  checkPgbenchInvariant, majorMatrix, psql, restoreAndStart, runCli, runTool, startCluster, startPgbench, tmpDir,
} from '../harness.ts';
import { clientToolEnv, requireTool } from '../harness/psql.ts';
import { pgVerifybackup } from '../verify/tools.ts';
import { expectClusterClean, pgBasebackupOk, startServe } from './serve-harness.ts';

const pg18 = majorMatrix().find((entry) => entry.major === 18);

test('PostgreSQL 18: pgconvoy backup through serve, tar with streamed WAL; verifies and recovers', { skip: pg18?.skip ?? 'no 18 in the matrix', timeout: 240_000 }, async () => {
  const cluster = await startCluster({ major: 18 });
  const load = startPgbench(cluster, { scale: 2, clients: 2, seconds: 600 });
  const serve = await startServe(cluster);
  try {
    const dir = join(await tmpDir('serve-pg18'), 'b');
    const backup = await runCli(['backup', '-h', serve.host, '-p', String(serve.port), '-U', 'postgres', '-D', dir,
      '-F', 't', '-X', 'stream', '-c', 'fast', '-l', 'eighteen'], { timeoutMs: 180_000 });
    assert.equal(backup.status, 0, `${backup.stderr}\nserve log:\n${serve.log()}`);
    const end = await serve.waitForEvent((event) => event.event === 'backup-end' && event['label'] === 'eighteen');
    assert.ok(Number(end['sharedBytes']) + Number(end['aloneBytes']) > 0, JSON.stringify(end));
    const verify = await runCli(['verify', dir]);
    assert.equal(verify.status, 0, verify.stderr);
    const restored = await restoreAndStart(dir, cluster.install);
    try {
      await checkPgbenchInvariant(restored);
    } finally {
      await restored.stop('immediate');
    }
    await expectClusterClean(cluster, 5_000, true);
  } finally {
    await load.stop();
    await serve.stop();
    await cluster.stopAndRemove();
  }
});

test('PostgreSQL 15 standby: pg_basebackup -X stream through serve beside it; BACKUP FROM standby, verifies, recovers', { timeout: 300_000 }, async () => {
  const primary = await startCluster({ major: 15 });
  await startPgbench(primary, { scale: 2, seconds: 1 }).done;
  const load = startPgbench(primary, { clients: 2, seconds: 600 });
  const standbyCopy = join(await tmpDir('serve-standby'), 'data');
  const clone = await runTool(requireTool(primary, 'pg_basebackup'), [
    '-h', primary.host, '-p', String(primary.port), '-U', 'postgres', '-D', standbyCopy, '-X', 'stream', '-c', 'fast', '-R',
  ], { env: clientToolEnv() });
  assert.equal(clone.status, 0, clone.stderr);
  const standby = await restoreAndStart(standbyCopy, primary.install);
  const serve = await startServe(standby);
  try {
    assert.deepEqual(await psql(standby, 'SELECT pg_is_in_recovery()'), [['t']]);
    const dir = join(await tmpDir('serve-standby-backup'), 'b');
    await pgBasebackupOk(standby, serve, ['-D', dir, '-X', 'stream', '-c', 'fast', '-l', 'from the standby']);
    assert.match(await readFile(join(dir, 'backup_label'), 'utf8'), /^BACKUP FROM: standby$/m);
    const verify = await pgVerifybackup(primary, dir);
    assert.equal(verify.status, 0, `pg_verifybackup: ${verify.stderr}${verify.stdout}`);
    const restored = await restoreAndStart(dir, primary.install);
    try {
      await checkPgbenchInvariant(restored);
    } finally {
      await restored.stop('immediate');
    }
    await expectClusterClean(standby, 5_000, true);
  } finally {
    await load.stop();
    await serve.stop();
    await standby.stop('immediate');
    await primary.stopAndRemove();
  }
});
