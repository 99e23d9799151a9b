/**
 * The real pg_basebackup 15 through `pgconvoy serve` beside a PostgreSQL 15 cluster under a pgbench write load:
 * plain and tar, -X fetch and -X stream, -c fast, -P, -R, -Z server-zstd, --manifest-checksums=SHA256. Each backup
 * passes the real pg_verifybackup (plain) or `pgconvoy verify` (tar), and restored copies reach consistency with
 * pgbench's invariant holding. One cluster and one serve for the file; each test takes its own backups.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import {
  checkPgbenchInvariant, restoreAndStart, runCli, startCluster, startPgbench, tmpDir, type PgbenchRun, type TestCluster,
} from '../harness.ts';
import { pgVerifybackup } from '../verify/tools.ts';
import { expectClusterClean, pgBasebackupOk, startServe, type RunningServe } from './serve-harness.ts';

let cluster: TestCluster;
let serve: RunningServe;
let load: PgbenchRun;

before(async () => {
  cluster = await startCluster({ major: 15, settings: { max_wal_size: '64MB' } });
  await startPgbench(cluster, { scale: 4, seconds: 1 }).done;
  serve = await startServe(cluster);
  load = startPgbench(cluster, { clients: 2, seconds: 600 });
});

after(async () => {
  await load?.stop();
  await serve?.stop();
  await cluster?.stopAndRemove();
});

async function restoredInvariantHolds(dir: string): Promise<void> {
  const restored = await restoreAndStart(dir, cluster.install);
  try {
    await checkPgbenchInvariant(restored);
  } finally {
    await restored.stop('immediate');
  }
}

async function verifyPlain(dir: string): Promise<void> {
  const result = await pgVerifybackup(cluster, dir);
  assert.equal(result.status, 0, `pg_verifybackup ${dir}: ${result.stderr}${result.stdout}`);
}

async function verifyTar(dir: string): Promise<void> {
  const result = await runCli(['verify', dir]);
  assert.equal(result.status, 0, `pgconvoy verify ${dir}: ${result.stderr}`);
}

test('plain, -X fetch, -P, SHA256 manifest: pg_verifybackup passes and the copy recovers consistent', { timeout: 240_000 }, async () => {
  const dir = join(await tmpDir('serve-plain-fetch'), 'b');
  const result = await pgBasebackupOk(cluster, serve, ['-D', dir, '-X', 'fetch', '-c', 'fast', '-P', '--manifest-checksums=SHA256', '-l', 'through serve']);
  assert.match(result.stderr, /100%|\d+\/\d+ kB/, 'progress was shown');
  await verifyPlain(dir);
  const label = await readFile(join(dir, 'backup_label'), 'utf8');
  assert.match(label, /^LABEL: through serve$/m);
  assert.match(label, /^BACKUP FROM: primary$/m);
  assert.match(await readFile(join(dir, 'backup_manifest'), 'utf8'), /"Checksum-Algorithm": "SHA256"/);
  assert.equal(existsSync(join(cluster.dataDir, 'backup_label')), false, 'never written into the cluster');
  await restoredInvariantHolds(dir);
});

test('plain, -X stream, -R: a standby configuration, and pg_verifybackup passes', { timeout: 240_000 }, async () => {
  const dir = join(await tmpDir('serve-plain-stream'), 'b');
  await pgBasebackupOk(cluster, serve, ['-D', dir, '-X', 'stream', '-c', 'fast', '-R']);
  await verifyPlain(dir);
  assert.equal(existsSync(join(dir, 'standby.signal')), true);
  assert.match(await readFile(join(dir, 'postgresql.auto.conf'), 'utf8'), /primary_conninfo = '.*port=/);
});

test('tar, -X stream, server-side zstd: pgconvoy verify passes and the restored copy recovers', { timeout: 240_000 }, async () => {
  const dir = join(await tmpDir('serve-tar-zstd'), 'b');
  await pgBasebackupOk(cluster, serve, ['-D', dir, '-F', 't', '-X', 'stream', '-c', 'fast', '-Z', 'server-zstd']);
  assert.equal(existsSync(join(dir, 'base.tar.zst')), true);
  await verifyTar(dir);
  const restored = join(await tmpDir('serve-tar-zstd-restored'), 'data');
  const restore = await runCli(['restore', dir, '-D', restored]);
  assert.equal(restore.status, 0, restore.stderr);
  await restoredInvariantHolds(restored);
});

test('tar, -X fetch: WAL inside base.tar, pgconvoy verify passes', { timeout: 240_000 }, async () => {
  const dir = join(await tmpDir('serve-tar-fetch'), 'b');
  await pgBasebackupOk(cluster, serve, ['-D', dir, '-F', 't', '-X', 'fetch', '-c', 'fast']);
  await verifyTar(dir);
  await restoredInvariantHolds(dir);
});

test('serve leaves nothing on the cluster once the backups are done', { timeout: 60_000 }, async () => {
  await expectClusterClean(cluster, 10_000, true);
});
