/**
 * The convoy with the real pg_basebackup 15, beside a PostgreSQL 15 cluster under a pgbench write load: four and
 * ten backups that overlap share one read of the data directory, each still gets its own start point and its own label, a
 * client that stops reading (SIGSTOP) or dies (SIGKILL) costs the others nothing, and --max-backups queues the
 * rest instead of refusing them. One cluster and one serve for the file (a second serve for --max-backups).
 *
 * Byte counts are serve's own counters (its backup-end log lines); the ratio is printed as a diagnostic and
 * bounded by what the design promises: backups that start during one lap need at most one more lap (four), and
 * ten that start together cost at most 1.5 reads (the bound; PostgreSQL's walsenders read it ten times).
 */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { checkPgbenchInvariant, restoreAndStart, startCluster, startPgbench, tmpDir, type PgbenchRun, type TestCluster } from '../harness.ts';
import { pgVerifybackup } from '../verify/tools.ts';
import {
  expectClusterClean, pgBasebackup, pgBasebackupOk, serveBytesRead, startServe, type RunningServe, type ToolResult,
} from './serve-harness.ts';

let cluster: TestCluster;
let serve: RunningServe;
let load: PgbenchRun;

before(async () => {
  cluster = await startCluster({ major: 15, settings: { max_wal_size: '128MB' } });
  await startPgbench(cluster, { scale: 8, seconds: 1 }).done;
  serve = await startServe(cluster);
  load = startPgbench(cluster, { clients: 2, seconds: 900 });
});

after(async () => {
  await load?.stop();
  await serve?.stop();
  await cluster?.stopAndRemove();
});

async function verified(dir: string): Promise<void> {
  const result = await pgVerifybackup(cluster, dir);
  assert.equal(result.status, 0, `pg_verifybackup ${dir}: ${result.stderr}${result.stdout}`);
}

async function startWalOf(dir: string): Promise<string> {
  const label = await readFile(join(dir, 'backup_label'), 'utf8');
  const match = /^START WAL LOCATION: (\S+)/m.exec(label);
  assert.ok(match !== null, `no START WAL LOCATION in ${dir}/backup_label`);
  return match[1] as string;
}

function ok(result: ToolResult, what: string): void {
  assert.equal(result.status, 0, `${what} failed:\n${result.stderr}\nserve log:\n${serve.log()}`);
}

/** The data-directory bytes serve reads for one backup alone, measured once for the file. */
let single: Promise<number> | undefined;
function oneBackupAlone(): Promise<number> {
  single ??= (async () => {
    const before = serveBytesRead(serve);
    await pgBasebackupOk(cluster, serve, ['-D', join(await tmpDir('serve-convoy-single'), 'single'), '-X', 'fetch', '-c', 'fast']);
    const bytes = serveBytesRead(serve) - before;
    assert.ok(bytes > 0, 'serve counted the bytes it read');
    return bytes;
  })();
  return single;
}

/** n overlapping pg_basebackup -X fetch; returns their directories and the data-directory bytes serve read for them. */
async function overlapping(root: string, n: number): Promise<{ dirs: string[]; read: number }> {
  const before = serveBytesRead(serve);
  const dirs = Array.from({ length: n }, (_, i) => join(root, `b${i}`));
  const runs = dirs.map((dir, i) => pgBasebackup(cluster, serve, ['-D', dir, '-X', 'fetch', '-c', 'fast', '-l', `convoy ${i}`]));
  const results = await Promise.all(runs.map((run) => run.result));
  results.forEach((result, i) => ok(result, `backup ${i}`));
  return { dirs, read: serveBytesRead(serve) - before };
}

test('four pg_basebackup -X fetch at once: distinct start points, all verify, about one read of the cluster', { timeout: 300_000 }, async (t) => {
  const root = await tmpDir('serve-convoy-four');
  const single = await oneBackupAlone();
  const { dirs, read: four } = await overlapping(root, 4);
  t.diagnostic(`data directory read: one backup ${single} bytes; four overlapping ${four} bytes (${(four / single).toFixed(2)} times one)`);
  assert.ok(four < 2 * single, `four overlapping backups read ${four} bytes, one alone ${single}: more than one extra lap`);

  const starts = await Promise.all(dirs.map(startWalOf));
  assert.equal(new Set(starts).size, starts.length, `each backup has its own start point: ${starts.join(', ')}`);
  for (const [n, dir] of dirs.entries()) {
    assert.match(await readFile(join(dir, 'backup_label'), 'utf8'), new RegExp(`^LABEL: convoy ${n}$`, 'm'));
    await verified(dir);
  }
  const shared = serve.events.filter((event) => event.event === 'backup-end').slice(-4).map((event) => Number(event['sharedBytes']));
  assert.ok(shared.some((bytes) => bytes > 0), 'some bytes came from the shared read');
  const restored = await restoreAndStart(dirs[3] as string, cluster.install);
  try {
    await checkPgbenchInvariant(restored);
  } finally {
    await restored.stop('immediate');
  }
  await expectClusterClean(cluster, 5_000, true);
});

test('ten pg_basebackup -X fetch at once: all succeed and verify, distinct start points, at most 1.5 reads of the cluster', { timeout: 600_000 }, async (t) => {
  const root = await tmpDir('serve-convoy-ten');
  const single = await oneBackupAlone();
  const { dirs, read: ten } = await overlapping(root, 10);
  t.diagnostic(`data directory read: one backup ${single} bytes; ten overlapping ${ten} bytes (${(ten / single).toFixed(2)} times one; PostgreSQL's own walsenders would read it 10 times)`);
  assert.ok(ten <= 1.5 * single, `ten overlapping backups read ${ten} bytes, one alone ${single}: more than 1.5 times`);
  const starts = await Promise.all(dirs.map(startWalOf));
  assert.equal(new Set(starts).size, starts.length, `each backup has its own start point: ${starts.join(', ')}`);
  for (const dir of dirs) await verified(dir);
  const restored = await restoreAndStart(dirs[9] as string, cluster.install);
  try {
    await checkPgbenchInvariant(restored);
  } finally {
    await restored.stop('immediate');
  }
  await expectClusterClean(cluster, 5_000, true);
});

test('a client stopped with SIGSTOP does not hold back the other; it finishes alone once resumed', { timeout: 300_000 }, async () => {
  const root = await tmpDir('serve-convoy-stopped');
  const stalled = pgBasebackup(cluster, serve, ['-D', join(root, 'stalled'), '-X', 'fetch', '-c', 'fast', '-l', 'stalled']);
  await serve.waitForEvent((event) => event.event === 'backup-start' && event['label'] === 'stalled');
  stalled.child.kill('SIGSTOP');
  try {
    const other = await pgBasebackup(cluster, serve, ['-D', join(root, 'other'), '-X', 'fetch', '-c', 'fast', '-l', 'other']).result;
    ok(other, 'the backup beside a stopped client');
    assert.equal(stalled.child.exitCode, null, 'the stopped client is still stopped');
  } finally {
    stalled.child.kill('SIGCONT');
  }
  ok(await stalled.result, 'the resumed backup');
  await verified(join(root, 'other'));
  await verified(join(root, 'stalled'));
  await expectClusterClean(cluster, 5_000, true);
});

test('a client killed mid-backup aborts only its own backup; serve keeps nothing of it on the cluster', { timeout: 300_000 }, async () => {
  const root = await tmpDir('serve-convoy-killed');
  const doomed = pgBasebackup(cluster, serve, ['-D', join(root, 'doomed'), '-X', 'stream', '-c', 'fast', '-l', 'doomed']);
  const survivor = pgBasebackup(cluster, serve, ['-D', join(root, 'survivor'), '-X', 'fetch', '-c', 'fast', '-l', 'survivor']);
  await serve.waitForEvent((event) => event.event === 'backup-start' && event['label'] === 'doomed');
  doomed.child.kill('SIGKILL');
  assert.equal((await doomed.result).signal, 'SIGKILL');
  ok(await survivor.result, 'the surviving backup');
  await verified(join(root, 'survivor'));
  await serve.waitForEvent((event) => event.event === 'backup-failed');
  await expectClusterClean(cluster, 5_000, true);
});

test('--max-backups 1: three clients at once are queued, not refused, and all complete', { timeout: 300_000 }, async () => {
  const root = await tmpDir('serve-convoy-queue');
  const limited = await startServe(cluster, { extraArgs: ['--max-backups', '1'] });
  try {
    const dirs = [1, 2, 3].map((n) => join(root, `q${n}`));
    const results = await Promise.all(dirs.map((dir) => pgBasebackup(cluster, limited, ['-D', dir, '-X', 'fetch', '-c', 'fast']).result));
    results.forEach((result, n) => assert.equal(result.status, 0, `queued backup ${n}: ${result.stderr}\n${limited.log()}`));
    assert.ok(limited.events.some((event) => event.event === 'backup-queued'), 'at least one backup waited its turn');
    for (const dir of dirs) await verified(dir);
  } finally {
    await limited.stop();
  }
  await expectClusterClean(cluster, 5_000, true);
});
