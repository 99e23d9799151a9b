/**
 * `drill` against real backups and the real postgres of each major: good backups pass (15 from pg_basebackup
 * under a pgbench load, with the pgbench invariant as --check; a tar.gz with a tablespace from our own `backup`;
 * 14 from pg_basebackup 15 and 18 from our own `backup`, started with the embedded binaries), and damaged ones
 * fail with the problem named: a flipped byte in a relation file (by verification, and with --no-verify by
 * amcheck), a missing WAL segment (by verification, and with --no-verify by the server's own FATAL).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { cp, open, readFile, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { DrillReport } from '../../../src/drill/index.ts';
import { loadManifest } from '../../../src/manifest/reader.ts';
import { segmentOf, walFileName } from '../../../src/util/lsn.ts';
import { majorMatrix, psql, runCli, startCluster, startPgbench, tmpDir, type TestCluster } from '../harness.ts';
import { basebackup } from '../verify/tools.ts';
import { runCommand } from '../restore/cli-runner.ts';

const matrix = majorMatrix();
const skip15 = matrix.find((entry) => entry.major === 15)?.skip ?? 'PostgreSQL 15 is not installed';
const PGBENCH_INVARIANT = 'select (select sum(abalance) from pgbench_accounts) = (select sum(tbalance) from pgbench_tellers) '
  + 'and (select sum(tbalance) from pgbench_tellers) = (select sum(bbalance) from pgbench_branches)';

let cluster: TestCluster;
let work: string;
let damagedRelation = '';
const SEGMENT_BYTES = 16 << 20;

before(async () => {
  if (skip15 !== false) return;
  cluster = await startCluster({ major: 15, settings: { checkpoint_timeout: '1h' } });
  work = await tmpDir('drill-work');
  const tablespace = await tmpDir('drill-ts');
  await psql(cluster, `create tablespace ts location '${tablespace}'`);
  await psql(cluster, 'create table in_ts tablespace ts as select g, md5(g::text) as h from generate_series(1, 5000) g');
  await psql(cluster, 'create index on in_ts (h)');
  await psql(cluster, 'create table victim as select g, md5(g::text) as h from generate_series(1, 2000) g');
  await psql(cluster, 'checkpoint');
  [[damagedRelation = ''] = []] = (await psql(cluster, "select pg_relation_filepath('victim')")) as string[][];
  await startPgbench(cluster, { scale: 1, transactions: 1, seconds: 1 }).done; // tables filled before the backup starts
  const load = startPgbench(cluster, { scale: 1, clients: 2, seconds: 4 });
  await basebackup(cluster, join(work, 'plain'), ['-X', 'stream', '-T', `${tablespace}=${join(work, 'plain-ts')}`]);
  await load.done;
  // A backup whose WAL spans several segments: switch segments while it runs.
  await psql(cluster, 'create table churn (n int)');
  let isSwitching = true;
  const switcher = (async () => {
    while (isSwitching) await psql(cluster, 'insert into churn values (1); select pg_switch_wal()');
  })();
  await basebackup(cluster, join(work, 'spanning'), ['-X', 'stream', '-T', `${tablespace}=${join(work, 'spanning-ts')}`]);
  isSwitching = false;
  await switcher;
  const ours = await runCli(['backup', '-h', cluster.host, '-p', String(cluster.port), '-U', 'postgres', '-D', join(work, 'ours-tar'), '-c', 'fast', '-Ft', '-z']);
  assert.equal(ours.status, 0, ours.stderr);
});

after(async () => {
  if (skip15 === false) await cluster.stopAndRemove();
});

async function drill(args: string[]): Promise<{ status: number | null; report: DrillReport; stderr: string }> {
  const result = await runCommand(['drill', ...args, '--json']);
  let report: DrillReport;
  try {
    report = JSON.parse(result.stdout) as DrillReport;
  } catch {
    throw new Error(`drill printed no report (status ${result.status}):\n${result.stdout}\n${result.stderr}`);
  }
  return { status: result.status, report, stderr: result.stderr };
}

function assertPassed(outcome: { status: number | null; report: DrillReport; stderr: string }): void {
  assert.equal(outcome.status, 0, JSON.stringify(outcome.report.failure) + outcome.stderr);
  assert.equal(outcome.report.ok, true);
}

test('PostgreSQL 15: a plain backup taken under pgbench load passes, with pg_amcheck and the invariant as a check', { skip: skip15 }, async () => {
  const outcome = await drill([join(work, 'plain'), '--check', PGBENCH_INVARIANT, '--check', 'select count(*) from in_ts']);
  assertPassed(outcome);
  const { report } = outcome;
  assert.equal(report.major, 15);
  assert.equal(report.amcheck?.method, 'pg_amcheck');
  assert.ok(report.recovery !== null && report.recovery.secondsToConsistency !== null, 'time to consistency measured from the log');
  assert.ok((report.recovery?.walReplayedBytes ?? 0) > 0, 'WAL was replayed');
  assert.deepEqual(report.checks.map((check) => [check.ok, check.value]), [[true, 't'], [true, '5000']]);
  assert.equal(report.kept, false);
  await assert.rejects(readdir(report.scratchDir), { code: 'ENOENT' }, 'the scratch directory is removed');
});

test('PostgreSQL 15: a tar.gz backup with a tablespace from our own backup passes, amcheck through SQL', { skip: skip15 }, async () => {
  const outcome = await drill([join(work, 'ours-tar'), '--amcheck', 'sql', '--heapallindexed', '--check', 'select count(*) = 5000 from in_ts']);
  assertPassed(outcome);
  assert.equal(outcome.report.format, 'tar');
  assert.equal(outcome.report.amcheck?.method, 'sql');
  assert.ok((outcome.report.amcheck?.relationsChecked ?? 0) > 100, 'catalogs, tables and indexes of every database');
});

test('a check that returns false, or fails, fails the drill with exit status 1; --keep keeps the evidence', { skip: skip15 }, async () => {
  const outcome = await drill([join(work, 'plain'), '--amcheck', 'off', '--keep', '--check', 'select count(*) = 1 from in_ts', '--check', 'select * from no_such_table']);
  assert.equal(outcome.report.kept, true);
  const kept = await readdir(outcome.report.scratchDir);
  await rm(outcome.report.scratchDir, { recursive: true, force: true });
  assert.ok(kept.includes('data') && kept.includes('server.log'), kept.join(', '));
  assert.equal(outcome.status, 1);
  assert.equal(outcome.report.failure?.stage, 'checks');
  assert.deepEqual(outcome.report.checks.map((check) => check.ok), [false, false]);
  assert.match(outcome.report.checks[1]?.error ?? '', /relation "no_such_table" does not exist/);
  assert.match(outcome.stderr, /pgconvoy: error: drill failed at checks: check failed: select count\(\*\) = 1 from in_ts/);
});

test('a flipped byte in a relation file fails verification, and with --no-verify fails amcheck, naming the file', { skip: skip15 }, async () => {
  const damaged = join(work, 'flipped');
  await cp(join(work, 'plain'), damaged, { recursive: true });
  const handle = await open(join(damaged, damagedRelation), 'r+');
  const byte = Buffer.alloc(1);
  await handle.read(byte, 0, 1, 5000);
  await handle.write(Buffer.from([(byte[0] as number) ^ 0x01]), 0, 1, 5000);
  await handle.close();
  const verified = await drill([damaged]);
  assert.equal(verified.status, 1);
  assert.equal(verified.report.failure?.stage, 'restore');
  assert.match(verified.report.failure?.message ?? '', new RegExp(`checksum mismatch for file "${damagedRelation}"`));

  for (const mode of ['pg_amcheck', 'sql']) {
    const unverified = await drill([damaged, '--no-verify', '--amcheck', mode]);
    assert.equal(unverified.status, 1, mode);
    assert.equal(unverified.report.failure?.stage, 'amcheck', mode);
    const text = [unverified.report.failure?.message, ...(unverified.report.failure?.detail ?? [])].join('\n');
    assert.match(text, new RegExp(damagedRelation), `${mode} names the damaged file:\n${text}`);
  }
});

test('a missing WAL segment fails verification naming it, and with --no-verify the server\'s FATAL', { skip: skip15 }, async () => {
  const manifest = loadManifest(await readFile(join(work, 'spanning', 'backup_manifest')));
  const range = manifest.walRanges[0];
  assert.ok(range !== undefined);
  const segmentOfLsn = (lsn: bigint): string => walFileName(range.tli, segmentOf(lsn, SEGMENT_BYTES), SEGMENT_BYTES);
  const first = segmentOfLsn(range.startLsn);
  const last = segmentOfLsn(range.endLsn - 1n);
  assert.notEqual(first, last, 'the backup spans several segments');
  const expectations = [
    // The start segment holds the redo point, and usually the checkpoint record too (or it is in the next one).
    [first, /the server did not start: FATAL: {2}could not (locate required checkpoint record|find redo location referenced by checkpoint record)/, /HINT: {2}If you are restoring from a backup/],
    [last, /the server did not start: FATAL: {2}WAL ends before end of online backup/, /HINT: {2}All WAL generated while online backup was taken must be available/],
  ] as const;
  for (const [segment, fatal, hint] of expectations) {
    const damaged = join(work, `without-${segment}`);
    await cp(join(work, 'spanning'), damaged, { recursive: true });
    await rm(join(damaged, 'pg_wal', segment));
    const verified = await drill([damaged]);
    assert.equal(verified.status, 1);
    assert.equal(verified.report.failure?.stage, 'restore');
    assert.match([verified.report.failure?.message, ...(verified.report.failure?.detail ?? [])].join('\n'), new RegExp(segment));

    const unverified = await drill([damaged, '--no-verify']);
    assert.equal(unverified.status, 1);
    assert.equal(unverified.report.failure?.stage, 'start');
    assert.match(unverified.report.failure?.message ?? '', fatal);
    assert.match(unverified.report.failure?.detail.join('\n') ?? '', hint);
  }
});

for (const { major, skip } of matrix.filter((entry) => entry.major !== 15)) {
  test(`PostgreSQL ${major}: a backup restores and passes the drill with the matching major`, { skip }, async () => {
    const other = await startCluster({ major });
    try {
      const dir = join(await tmpDir(`drill-${major}`), 'backup');
      await psql(other, 'create table t as select g from generate_series(1, 1000) g');
      if (major < 15) {
        await basebackup(other, dir, ['-X', 'fetch', '-Ft']);
      } else {
        // No pg_basebackup of this major (or newer) here: our own backup command.
        const ours = await runCli(['backup', '-h', other.host, '-p', String(other.port), '-U', 'postgres', '-D', dir, '-c', 'fast']);
        assert.equal(ours.status, 0, ours.stderr);
      }
      const outcome = await drill([dir, '--check', 'select count(*) = 1000 from t']);
      assertPassed(outcome);
      assert.equal(outcome.report.major, major);
      assert.ok(outcome.report.amcheck?.ok);
    } finally {
      await other.stopAndRemove();
    }
  });
}
