/**
 * The WAL safety claim, deterministically: while a -X fetch backup copies files, the server is made to recycle
 * WAL (segment switch + checkpoint, several times, with max_wal_size 64MB / min_wal_size 32MB). pgconvoy's
 * backup holds a temporary RESERVE_WAL slot created on its BASE_BACKUP session before BASE_BACKUP, so its start
 * segment stays in pg_wal and the backup completes; a real pg_basebackup -X fetch treated the same way just
 * before has no slot and loses it. On 14, 15 and 18 (old and new BASE_BACKUP syntax).
 *
 * Also for -X stream: the slot is on the streaming session (pgconvoy_<pid>), and --no-slot creates none; the flush
 * position its status updates report (pg_stat_replication.flush_lsn, and the slot's restart_lsn) is the end of a
 * completed, fsynced segment, never the write position inside the segment being written.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { toolPath } from '../../../src/cluster/binaries.ts';
import { run } from '../verify/tools.ts';
import { majorMatrix, psql, restoreAndStart, startCluster, tmpDir, type TestCluster } from '../harness.ts';
import { expectServerClean, serverArgs, startCli, verifyBackup, waitFor, waitForPhase } from './helpers.ts';

const SETTINGS = { max_wal_size: '64MB', min_wal_size: '32MB' };
const RATE = '16M';

/** Enough data that a backup at RATE copies for several seconds. */
async function ballast(cluster: TestCluster): Promise<void> {
  await psql(cluster, "CREATE TABLE ballast AS SELECT g, repeat('x', 200) AS pad FROM generate_series(1, 160000) g");
}

/** Makes checkpoints remove or recycle every segment no slot holds. */
async function recycleWal(cluster: TestCluster, rounds: number): Promise<void> {
  await psql(cluster, 'CREATE TABLE IF NOT EXISTS churn (x int)');
  for (let i = 0; i < rounds; i += 1) await psql(cluster, 'INSERT INTO churn VALUES (1); SELECT pg_switch_wal(); CHECKPOINT');
}

async function walFileExists(cluster: TestCluster, lsn: string): Promise<boolean> {
  const [[exists] = []] = await psql(cluster, `SELECT EXISTS (SELECT FROM pg_ls_waldir() WHERE name = pg_walfile_name('${lsn}'))`);
  return exists === 't';
}

for (const { major, skip } of majorMatrix()) {
  test(`PostgreSQL ${major}: -X fetch keeps its WAL through forced recycling with a slot on the BASE_BACKUP session`, { skip, timeout: 120_000 }, async (t) => {
    const cluster = await startCluster({ major, settings: SETTINGS });
    try {
      await ballast(cluster);
      const root = await tmpDir('wal-slot');
      // pg_basebackup first and alone: while our slot exists it holds the WAL for every backup on the cluster.
      const pgBasebackup = toolPath(cluster.install, 'pg_basebackup');
      if (pgBasebackup !== null) {
        const theirs = run(pgBasebackup, [...serverArgs(cluster), '-D', join(root, 'theirs'), '-X', 'fetch', '-c', 'fast', '-r', RATE]);
        await waitForPhase(cluster, 'streaming database files');
        await recycleWal(cluster, 2);
        const control = await theirs;
        t.diagnostic(`pg_basebackup -X fetch: exit ${control.status}: ${control.stderr.trim().split('\n')[0] ?? ''}`);
        assert.notEqual(control.status, 0, 'pg_basebackup -X fetch survived the recycling');
        assert.match(control.stderr, /has already been removed|could not find WAL file/);
      }

      const ours = startCli(['backup', ...serverArgs(cluster), '-D', join(root, 'ours'), '-X', 'fetch', '-c', 'fast', '-r', RATE, '--json']);
      await waitForPhase(cluster, 'streaming database files');
      const [[slot, restartLsn, holder, backendPid] = []] = await psql(cluster,
        "SELECT slot_name, restart_lsn, active_pid, (SELECT pid FROM pg_stat_progress_basebackup WHERE pid = active_pid) " +
        "FROM pg_replication_slots WHERE slot_name LIKE 'pgconvoy_fetch_%'");
      assert.ok(slot !== undefined && restartLsn !== null && restartLsn !== undefined, 'a pgconvoy_fetch_ slot with reserved WAL');
      assert.equal(slot, `pgconvoy_fetch_${holder}`);
      assert.equal(backendPid, holder, 'the slot is held by the walsender that runs BASE_BACKUP');
      assert.equal(await walFileExists(cluster, restartLsn), true);

      await recycleWal(cluster, 2);
      assert.equal(await walFileExists(cluster, restartLsn), true, 'the slot kept its segment through two checkpoints');

      const result = await ours.result;
      assert.equal(result.status, 0, result.stderr);
      const { startLsn } = JSON.parse(result.stdout) as { startLsn: string };
      const [[isBefore] = []] = await psql(cluster, `SELECT '${restartLsn}'::pg_lsn <= '${startLsn}'::pg_lsn`);
      assert.equal(isBefore, 't', `slot restart ${restartLsn} is at or before the backup start ${startLsn}`);
      await expectServerClean(cluster, 5_000);

      if (major === 15) {
        await verifyBackup(cluster, join(root, 'ours'));
      } else {
        // No pg_verifybackup of this major here: reaching consistency proves the WAL in the backup is complete.
        const restored = await restoreAndStart(join(root, 'ours'), cluster.install);
        await restored.stop('immediate');
      }
    } finally {
      await cluster.stopAndRemove();
    }
  });
}

/**
 * Waits for the stream's first reported flush position (status updates every second with -s 1) while the backup
 * runs, then checks it: the end of a whole segment (what was fsynced), at or behind the write position, and the
 * slot's restart point.
 */
async function expectFlushAtSegmentEnd(cluster: TestCluster, streamerPid: string): Promise<void> {
  const query = "SELECT flush_lsn, write_lsn, (flush_lsn - '0/0') % (SELECT setting::numeric FROM pg_settings WHERE name = 'wal_segment_size'), " +
    `flush_lsn <= write_lsn, (SELECT restart_lsn FROM pg_replication_slots WHERE active_pid = ${streamerPid}) FROM pg_stat_replication WHERE pid = ${streamerPid}`;
  let row: Array<string | null> = [];
  await waitFor('a flush position from the WAL stream', async () => {
    [row = []] = await psql(cluster, query);
    return row[0] !== null && row[0] !== undefined;
  }, 30_000);
  const [flush, write, offset, isBehind, restart] = row;
  assert.equal(offset, '0', `flush ${flush ?? '?'} (write ${write ?? '?'}) is the end of a segment`);
  assert.equal(isBehind, 't');
  assert.equal(restart, flush, 'the slot advanced to the flush position, no further');
}

test('PostgreSQL 15: -X stream holds its slot on the streaming session; --no-slot creates none', { timeout: 120_000 }, async () => {
  const cluster = await startCluster({ major: 15, settings: SETTINGS });
  try {
    await ballast(cluster);
    const root = await tmpDir('stream-slot');
    for (const [name, extra] of [['with-slot', ['-s', '1']], ['no-slot', ['--no-slot']]] as const) {
      const backup = startCli(['backup', ...serverArgs(cluster), '-D', join(root, name), '-X', 'stream', '-c', 'fast', '-r', RATE, ...extra]);
      await waitForPhase(cluster, 'streaming database files');
      const [[slots, streamer] = []] = await psql(cluster,
        "SELECT (SELECT string_agg(slot_name || ':' || active_pid, ',') FROM pg_replication_slots), " +
        "(SELECT pid FROM pg_stat_replication WHERE pid NOT IN (SELECT pid FROM pg_stat_progress_basebackup))");
      if (name === 'with-slot') assert.equal(slots, `pgconvoy_${streamer}:${streamer}`);
      else assert.equal(slots, null);
      // Without a slot, forced recycling can outrun the stream (as for pg_basebackup --no-slot): only with one.
      if (name === 'with-slot') {
        await recycleWal(cluster, 2); // each switch completes a segment of the stream
        await expectFlushAtSegmentEnd(cluster, streamer as string);
      }
      const result = await backup.result;
      assert.equal(result.status, 0, result.stderr);
      await verifyBackup(cluster, join(root, name));
      await expectServerClean(cluster, 5_000);
    }
  } finally {
    await cluster.stopAndRemove();
  }
});

test('PostgreSQL 15 with max_replication_slots = 0: -X fetch refuses with a hint; with --no-slot it runs unprotected', { timeout: 60_000 }, async () => {
  const cluster = await startCluster({ major: 15, settings: { max_replication_slots: 0 } });
  try {
    const root = await tmpDir('no-slots');
    const refused = await startCli(['backup', ...serverArgs(cluster), '-D', join(root, 'refused'), '-X', 'fetch', '-c', 'fast']).result;
    assert.equal(refused.status, 1);
    assert.match(refused.stderr, /error: could not create a temporary replication slot to protect the backup's WAL: (all replication slots are in use|.*max_replication_slots)/);
    assert.match(refused.stderr, /hint: .*--no-slot/);
    const unprotected = await startCli(['backup', ...serverArgs(cluster), '-D', join(root, 'unprotected'), '-X', 'fetch', '-c', 'fast', '--no-slot']).result;
    assert.equal(unprotected.status, 0, unprotected.stderr);
    await verifyBackup(cluster, join(root, 'unprotected'));
  } finally {
    await cluster.stopAndRemove();
  }
});
