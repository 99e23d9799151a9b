/**
 * One read, many copies: `-D` given several times runs ONE BASE_BACKUP (one walsender, one progress row on the
 * server) and writes it to every destination, each a complete backup that pg_verifybackup accepts. A destination
 * on a tiny tmpfs fills up: it is reported in --json with "error", cleaned, the exit status is 1, and the others
 * complete. Memory stays bounded: the peak RSS of a 4-destination run is close to that of a 1-destination run.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { promisify } from 'node:util';
import {
  checkPgbenchInvariant, psql, restoreAndStart, startCluster, startPgbench, tmpDir, type TestCluster,
} from '../harness.ts';
import { expectServerClean, listDir, serverArgs, serverBackupState, startCli, verifyBackup, waitForPhase } from './helpers.ts';

const execFileAsync = promisify(execFile);

interface JsonLine { dir: string; label: string; startLsn: string; endLsn: string; error?: string }

function jsonLines(stdout: string): JsonLine[] {
  return stdout.trim().split('\n').map((line) => JSON.parse(line) as JsonLine);
}

async function ballast(cluster: TestCluster): Promise<void> {
  await psql(cluster, "CREATE TABLE ballast AS SELECT g, repeat('x', 200) AS pad FROM generate_series(1, 160000) g");
}

test('three plain destinations from one BASE_BACKUP: one walsender, one server backup, three verified copies', { timeout: 120_000 }, async () => {
  const cluster = await startCluster({ major: 15 });
  try {
    await ballast(cluster);
    const root = await tmpDir('fan-out-plain');
    const dirs = ['a', 'b', 'c'].map((name) => join(root, name));
    const backup = startCli(['backup', ...serverArgs(cluster), ...dirs.flatMap((dir) => ['-D', dir]),
      '-X', 'fetch', '-c', 'fast', '-r', '16M', '-l', 'fan-out', '--json']);
    await waitForPhase(cluster, 'streaming database files');
    const during = await serverBackupState(cluster);
    assert.equal(during.backups, 1, 'one backup on the server');
    assert.equal(during.walsenders, 1, 'one walsender reads the cluster');
    const result = await backup.result;
    assert.equal(result.status, 0, result.stderr);
    const lines = jsonLines(result.stdout);
    assert.deepEqual(lines.map((line) => [line.dir, line.label, line.error]), dirs.map((dir) => [dir, 'fan-out', undefined]));
    assert.equal(new Set(lines.map((line) => `${line.startLsn}..${line.endLsn}`)).size, 1);
    for (const dir of dirs) await verifyBackup(cluster, dir);
    await expectServerClean(cluster, 5_000);
  } finally {
    await cluster.stopAndRemove();
  }
});

test('tar -X stream to three destinations, one on a full disk: reported, cleaned, the others complete', { timeout: 120_000 }, async (t) => {
  const root = await tmpDir('fan-out-full');
  const tiny = join(root, 'tiny');
  await mkdir(tiny);
  try {
    await execFileAsync('mount', ['-t', 'tmpfs', '-o', 'size=6m', 'tmpfs', tiny]);
  } catch (error) {
    t.skip(`cannot mount a tmpfs here (${(error as Error).message.split('\n')[0] ?? ''})`);
    return;
  }
  const cluster = await startCluster({ major: 15 });
  try {
    await startPgbench(cluster, { scale: 2, seconds: 1 }).done;
    const dirs = [join(root, 'first'), join(tiny, 'full'), join(root, 'last')];
    const load = startPgbench(cluster, { seconds: 60 });
    const result = await startCli(['backup', ...serverArgs(cluster), ...dirs.flatMap((dir) => ['-D', dir]),
      '-F', 't', '-X', 'stream', '-c', 'fast', '-l', 'disk full', '--json']).result;
    await load.stop();
    assert.equal(result.status, 1, result.stderr);
    const lines = jsonLines(result.stdout);
    assert.deepEqual(lines.map((line) => line.dir), dirs);
    assert.equal(lines[0]?.error, undefined);
    assert.match(lines[1]?.error ?? '', /no space left on device/i);
    assert.equal(lines[2]?.error, undefined);
    assert.match(result.stderr, /backup to ".*full" failed: .*no space left on device/i);
    assert.deepEqual(await listDir(tiny), [], 'the failed destination was removed');
    for (const dir of [dirs[0], dirs[2]] as string[]) await verifyBackup(cluster, dir);
    const restored = await restoreAndStart(dirs[2] as string, cluster.install);
    try {
      await checkPgbenchInvariant(restored);
    } finally {
      await restored.stop('immediate');
    }
    await expectServerClean(cluster, 5_000);
  } finally {
    await cluster.stopAndRemove();
    await execFileAsync('umount', [tiny]);
  }
});

test('memory is bounded: peak RSS with four destinations stays close to one destination', { timeout: 240_000 }, async (t) => {
  const scale = Number(process.env['PGCONVOY_RSS_SCALE'] ?? 10);
  const cluster = await startCluster({ major: 15 });
  try {
    await startPgbench(cluster, { scale, seconds: 1 }).done;
    const root = await tmpDir('fan-out-rss');
    const peaks: number[] = [];
    for (const count of [1, 4]) {
      const dirs = Array.from({ length: count }, (_, i) => join(root, `n${count}-${i}`));
      const backup = startCli(['backup', ...serverArgs(cluster), ...dirs.flatMap((dir) => ['-D', dir]), '-X', 'fetch', '-c', 'fast', '-N'],
        { measureRss: true, timeoutMs: 200_000 });
      const result = await backup.result;
      assert.equal(result.status, 0, result.stderr);
      peaks.push((await backup.peakRssKb()) ?? Number.NaN);
      await verifyBackup(cluster, dirs[count - 1] as string);
    }
    const [one = 0, four = 0] = peaks;
    const [[size] = []] = await psql(cluster, "SELECT pg_size_pretty(pg_database_size('postgres'))");
    t.diagnostic(`pgbench scale ${scale} (${size}): peak RSS 1 destination ${Math.round(one / 1024)} MiB, 4 destinations ${Math.round(four / 1024)} MiB`);
    assert.ok(four < one + 64 * 1024, `4 destinations ${four} kB vs 1 destination ${one} kB`);
  } finally {
    await cluster.stopAndRemove();
  }
});
