import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cp, readFile, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { toolPath } from '../../../src/cluster/binaries.ts';
import { formatLsn, parseLsn, segmentOf, walFileName, type Lsn } from '../../../src/util/lsn.ts';
import { verifyWalRange, walDirectorySource, type WalRangeReport } from '../../../src/wal/index.ts';
import { flip } from '../../unit/wal/wal-builder.ts';
import { majorMatrix, psql, runTool, startCluster, startPgbench, tmpDir, type TestCluster, type ToolRun } from '../harness.ts';

const SEGMENT_BYTES = 16 << 20;
const SETTINGS = { wal_keep_size: '2GB', max_wal_size: '4GB', checkpoint_timeout: '1h' };

/** pg_basebackup / pg_waldump with a connect timeout, so a stuck server fails the test instead of hanging it. */
function run(path: string, args: string[]): Promise<ToolRun> {
  return runTool(path, args, { env: { ...process.env, PGCONNECT_TIMEOUT: '10' } });
}

async function lsnOf(cluster: TestCluster, sql: string): Promise<Lsn> {
  const [[text] = []] = await psql(cluster, sql);
  return parseLsn(text as string);
}

async function timed(dir: string, tli: number, startLsn: Lsn, endLsn: Lsn, systemId?: string): Promise<WalRangeReport & { ms: number }> {
  const started = performance.now();
  const report = await verifyWalRange({
    source: walDirectorySource(dir), segmentBytes: SEGMENT_BYTES, tli, startLsn, endLsn,
    ...(systemId === undefined ? {} : { systemId }),
  });
  return { ...report, ms: performance.now() - started };
}

function waldumpArgs(dir: string, tli: number, startLsn: Lsn, endLsn: Lsn, extra: string[]): string[] {
  return [...extra, `--path=${dir}`, `--timeline=${tli}`, `--start=${formatLsn(startLsn)}`, `--end=${formatLsn(endLsn)}`];
}

/** pg_waldump's record count for the range (its --stats total). */
async function waldumpCount(waldump: string, dir: string, tli: number, startLsn: Lsn, endLsn: Lsn): Promise<number> {
  const result = await run(waldump, waldumpArgs(dir, tli, startLsn, endLsn, ['--stats']));
  assert.equal(result.status, 0, result.stderr);
  const total = /^Total\s+(\d+)/m.exec(result.stdout);
  assert.ok(total !== null, result.stdout);
  return Number(total[1]);
}

/** Varied WAL: DDL, bulk insert (records spanning pages and segments), updates, a switch, vacuum, a checkpoint. */
async function writeWal(cluster: TestCluster): Promise<void> {
  await psql(cluster, 'create table if not exists w (id int primary key, t text)');
  await psql(cluster, "insert into w select g, repeat(md5(g::text), 8) from generate_series(1, 60000) g on conflict do nothing");
  await psql(cluster, 'select pg_switch_wal()');
  await psql(cluster, "update w set t = t || 'x' where id % 7 = 0");
  await psql(cluster, "select pg_logical_emit_message(false, 'pgconvoy', repeat('m', 100000))");
  await psql(cluster, 'vacuum w');
  await psql(cluster, 'checkpoint');
  await psql(cluster, "insert into w select g, repeat('y', 3000) from generate_series(60001, 62000) g");
}

for (const { major, skip } of majorMatrix()) {
  test(`PostgreSQL ${major}: real WAL verifies, and matches pg_waldump's record count where it exists`, { skip }, async (t) => {
    const cluster = await startCluster({ major, settings: SETTINGS });
    try {
      const [[systemId] = []] = await psql(cluster, 'select system_identifier::text from pg_control_system()');
      const startLsn = await lsnOf(cluster, 'select pg_current_wal_insert_lsn()');
      await writeWal(cluster);
      const endLsn = await lsnOf(cluster, 'select pg_switch_wal()');
      const walDir = join(cluster.dataDir, 'pg_wal');
      const report = await timed(walDir, 1, startLsn, endLsn, systemId as string);
      assert.deepEqual(report.problems, []);
      assert.equal(report.firstRecordLsn, startLsn);
      assert.ok(report.segments.length >= 3, report.segments.join(' '));
      t.diagnostic(`${report.recordsChecked} records, ${report.segments.length} segments, ${report.ms.toFixed(0)} ms`);
      const waldump = toolPath(cluster.install, 'pg_waldump');
      if (waldump !== null) {
        assert.equal(report.recordsChecked, await waldumpCount(waldump, walDir, 1, startLsn, endLsn));
      } else {
        t.diagnostic(`no pg_waldump ${major}: record count not cross-checked`);
      }
      const other = await timed(walDir, 1, startLsn, endLsn, '1');
      assert.deepEqual(other.problems.map((p) => p.code), ['WAL_SYSTEM_ID_MISMATCH']);
    } finally {
      await cluster.stopAndRemove();
    }
  });
}

const pg15 = majorMatrix().find((entry) => entry.major === 15);
const backupSkip = pg15?.skip ?? 'PostgreSQL 15 is not part of the matrix';

test('PostgreSQL 15: the WAL of a pg_basebackup -X fetch backup verifies; damage is named', { skip: backupSkip }, async (t) => {
  const cluster = await startCluster({ major: 15, settings: SETTINGS });
  try {
    const basebackup = toolPath(cluster.install, 'pg_basebackup') as string;
    const waldump = toolPath(cluster.install, 'pg_waldump') as string;
    await psql(cluster, 'create table w (id int primary key, t text)');
    const root = await tmpDir('wal-backup');
    const backupDir = join(root, 'backup');
    // Throttled so that the WAL written meanwhile (bulk insert, a switch, pgbench) falls inside the backup.
    const backup = run(basebackup, ['-h', cluster.host, '-p', String(cluster.port), '-U', 'postgres', '-D', backupDir,
      '-Fp', '-X', 'fetch', '-c', 'fast', '-r', '4M', '--no-sync']);
    const load = startPgbench(cluster, { seconds: 30, clients: 2 });
    await new Promise((resolve) => setTimeout(resolve, 1500));
    await writeWal(cluster);
    const result = await backup;
    await load.stop();
    assert.equal(result.status, 0, result.stderr);

    const manifest = JSON.parse(await readFile(join(backupDir, 'backup_manifest'), 'utf8')) as
      { 'WAL-Ranges': Array<{ Timeline: number; 'Start-LSN': string; 'End-LSN': string }> };
    const [range] = manifest['WAL-Ranges'];
    assert.ok(range !== undefined);
    const tli = range.Timeline;
    const startLsn = parseLsn(range['Start-LSN']);
    const endLsn = parseLsn(range['End-LSN']);
    const walDir = join(backupDir, 'pg_wal');

    const report = await timed(walDir, tli, startLsn, endLsn);
    assert.deepEqual(report.problems, []);
    assert.equal(report.firstRecordLsn, startLsn);
    assert.ok((report.lastRecordEndLsn as bigint) >= endLsn);
    const waldumpRun = await run(waldump, waldumpArgs(walDir, tli, startLsn, endLsn, ['--quiet']));
    assert.equal(waldumpRun.status, 0, waldumpRun.stderr);
    assert.equal(report.recordsChecked, await waldumpCount(waldump, walDir, tli, startLsn, endLsn));
    t.diagnostic(`backup range ${range['Start-LSN']}..${range['End-LSN']}: ${report.segments.length} segments, ` +
      `${report.recordsChecked} records; pgconvoy ${report.ms.toFixed(0)} ms, pg_waldump --quiet ${waldumpRun.ms.toFixed(0)} ms`);
    assert.ok(report.segments.length >= 2, 'the range should cross a segment boundary');

    // One flipped byte inside a record in the middle of the range.
    const listing = await run(waldump, waldumpArgs(walDir, tli, startLsn, endLsn, []));
    const records = [...listing.stdout.matchAll(/len \(rec\/tot\):\s*\d+\/\s*(\d+), tx:\s*\d+, lsn: ([0-9A-F]+\/[0-9A-F]+)/g)]
      .map((match) => ({ totLen: Number(match[1]), lsn: parseLsn(match[2] as string) }))
      .filter((record) => record.totLen >= 64 && Number(record.lsn % 8192n) < 8192 - 64);
    const victim = records[Math.floor(records.length / 2)];
    assert.ok(victim !== undefined);
    const damagedDir = join(root, 'damaged');
    await cp(walDir, damagedDir, { recursive: true });
    const file = join(damagedDir, walFileName(tli, segmentOf(victim.lsn, SEGMENT_BYTES), SEGMENT_BYTES));
    const bytes = await readFile(file);
    flip(bytes, Number(victim.lsn % BigInt(SEGMENT_BYTES)) + 40, 0x10);
    await writeFile(file, bytes);
    const damaged = await timed(damagedDir, tli, startLsn, endLsn);
    assert.deepEqual(damaged.problems.map((p) => [p.code, p.lsn]), [['WAL_CRC_MISMATCH', victim.lsn]]);
    assert.match(damaged.problems[0]?.message ?? '', new RegExp(`record at ${formatLsn(victim.lsn)} `));
    const waldumpDamaged = await run(waldump, waldumpArgs(damagedDir, tli, startLsn, endLsn, ['--quiet']));
    assert.notEqual(waldumpDamaged.status, 0, 'pg_waldump agrees the WAL is damaged');

    // A needed segment deleted.
    const missingDir = join(root, 'missing');
    await cp(walDir, missingDir, { recursive: true });
    const gone = report.segments[1] as string;
    await unlink(join(missingDir, gone));
    const missing = await timed(missingDir, tli, startLsn, endLsn);
    assert.equal(missing.problems[0]?.code, 'WAL_SEGMENT_MISSING');
    assert.equal(missing.problems[0]?.file, gone);
    assert.match(missing.problems[0]?.message ?? '', new RegExp(`"${gone}" is missing`));
  } finally {
    await cluster.stopAndRemove();
  }
});

test('PostgreSQL 15: speed against pg_waldump on the same segments', { skip: backupSkip }, async (t) => {
  const cluster = await startCluster({ major: 15, settings: SETTINGS });
  try {
    const waldump = toolPath(cluster.install, 'pg_waldump') as string;
    const startLsn = await lsnOf(cluster, 'select pg_current_wal_insert_lsn()');
    await startPgbench(cluster, { seconds: 12, clients: 4 }).done;
    await writeWal(cluster);
    const endLsn = await lsnOf(cluster, 'select pg_switch_wal()');
    const walDir = join(cluster.dataDir, 'pg_wal');
    await run(waldump, waldumpArgs(walDir, 1, startLsn, endLsn, ['--quiet'])); // warm the page cache for both
    const first = await timed(walDir, 1, startLsn, endLsn);
    const ours = await timed(walDir, 1, startLsn, endLsn);
    const theirs = await run(waldump, waldumpArgs(walDir, 1, startLsn, endLsn, ['--quiet']));
    assert.deepEqual(ours.problems, []);
    assert.equal(theirs.status, 0, theirs.stderr);
    const mb = Number(endLsn - startLsn) / (1 << 20);
    t.diagnostic(`${mb.toFixed(0)} MB of WAL, ${ours.segments.length} segments, ${ours.recordsChecked} records: ` +
      `pgconvoy ${first.ms.toFixed(0)} ms on a first run, then ${ours.ms.toFixed(0)} ms ` +
      `(${(mb / (ours.ms / 1000)).toFixed(0)} MB/s), ` +
      `pg_waldump --quiet ${theirs.ms.toFixed(0)} ms (${(mb / (theirs.ms / 1000)).toFixed(0)} MB/s)`);
    assert.ok(ours.ms < theirs.ms * 10 + 2000, 'not dramatically slower than pg_waldump');
  } finally {
    await cluster.stopAndRemove();
  }
});
