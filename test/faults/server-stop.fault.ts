/**
 * PostgreSQL itself going away mid-backup: a fast shutdown (SIGINT to the postmaster: sessions are terminated) or an
 * immediate one (SIGQUIT: a crash), at a random moment of a `pgconvoy backup` under a pgbench write load, with
 * -X fetch and stream, plain and tar, one destination and two.
 *
 * The backup must fail clearly (exit 1, one `pgconvoy: error:` line saying what the server did), and nothing may
 * look complete: no backup_manifest, the destinations removed. A stop that came after the backup completed must
 * leave backups that verify. Then the cluster is started again on its port (crash recovery after an immediate
 * stop) and must hold no backup, slot or walsender of ours. One cluster for the file, restarted by every trial.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { installFor, startCluster, startPgbench, tmpDir, type PgbenchRun, type TestCluster } from '../integration/harness.ts';
import { listDir, serverArgs, startCli } from '../integration/concurrency/helpers.ts';
import { expectClean, expectNothingFalselyComplete, expectRemoved, FaultTally, randomMoment, settle, trials } from './fault-kit.ts';

const skip = installFor(15) === null ? 'PostgreSQL 15 is not installed' : false;
const tally = new FaultTally();
let cluster: TestCluster;
let load: PgbenchRun | null = null;
let root: string;

const MODES = ['fast', 'immediate'] as const;
const VARIANTS = [
  { name: '-X fetch -F p', args: ['-X', 'fetch', '-F', 'p'], destinations: 1 },
  { name: '-X stream -F p', args: ['-X', 'stream', '-F', 'p'], destinations: 1 },
  { name: '-X stream -F t', args: ['-X', 'stream', '-F', 't'], destinations: 1 },
  { name: 'fan-out -X fetch -F t -z', args: ['-X', 'fetch', '-F', 't', '-z'], destinations: 2 },
] as const;
/** The CLI needs most of a second to start; the throttled backup then takes 2 to 3 s. */
const EARLIEST_STOP_MS = 300;
const LATEST_STOP_MS = 4000;
/**
 * What the server's going says to a client: terminated by the shutdown, the connection lost, or a new one (-X
 * stream opens its WAL connection after the start) refused, or failing because the postmaster's socket is gone.
 */
const SERVER_WENT = /terminating connection due to (administrator|immediate shutdown) command|server closed the connection|connection refused|could not connect|the database system is shutting down|connection (was )?(lost|reset|closed)|connection to server (on socket|at) .* failed/i;

function startLoad(): void {
  load = startPgbench(cluster, { clients: 1, seconds: 3600 });
}

before(async () => {
  if (skip !== false) return;
  cluster = await startCluster({ major: 15, settings: { max_wal_size: '64MB', min_wal_size: '32MB' } });
  await startPgbench(cluster, { scale: 3, seconds: 1 }).done;
  startLoad();
  root = await tmpDir('fault-server-stop');
});

after(async () => {
  await load?.stop();
  await cluster?.stopAndRemove();
});

test('PostgreSQL stopped fast or immediate mid-backup: the backup fails clearly, nothing looks complete', {
  skip, timeout: trials(8) * 90_000,
}, async (t) => {
  await tally.run(t, 'server-stop', trials(8), async ({ index, dice, describe, note }) => {
    const mode = MODES[index % MODES.length] as (typeof MODES)[number];
    const variant = VARIANTS[Math.floor(index / MODES.length) % VARIANTS.length] as (typeof VARIANTS)[number];
    const dirs = Array.from({ length: variant.destinations }, (_, n) => join(root, `t${index}-${n}`));
    const backup = startCli(['backup', ...serverArgs(cluster), ...dirs.flatMap((dir) => ['-D', dir]), ...variant.args,
      '-c', 'fast', '-r', '32M', '-l', `fault ${index}`]);
    const atMs = EARLIEST_STOP_MS + await randomMoment(dice, LATEST_STOP_MS - EARLIEST_STOP_MS);
    describe(`${mode} stop after ${atMs} ms, ${variant.name}`);
    const port = cluster.port;
    let result;
    try {
      await cluster.stop(mode);
      result = await backup.result;
    } finally {
      await load?.stop();
      await cluster.start({ port });
      startLoad();
    }
    note(`server clean ${await expectClean(cluster)} ms after the restart`);

    if (result.status === 0) {
      const complete = await expectNothingFalselyComplete(cluster, dirs);
      assert.equal(complete.length, dirs.length, `exit 0 but not every destination holds a backup: ${result.stderr}`);
      return 'completed before the stop, verified';
    }
    assert.equal(result.status, 1, `exit status: ${result.status ?? result.signal}\n${result.stderr}`);
    const errorLine = /^pgconvoy: error: .*$/m.exec(result.stderr)?.[0];
    assert.ok(errorLine !== undefined, `no error line:\n${result.stderr}`);
    assert.doesNotMatch(errorLine, /internal error/, `a bug, not the server's going:\n${result.stderr}`);
    assert.match(result.stderr, SERVER_WENT, `the error says the server went away:\n${result.stderr}`);
    note(errorLine);
    for (const dir of dirs) {
      assert.ok(!((await listDir(dir)) ?? []).includes('backup_manifest'), `"${dir}" holds backup_manifest after a failed run`);
      await expectRemoved(dir, false);
    }
    return 'failed clearly, cleaned';
  }, () => settle(cluster));
});

test('fault counts', { skip }, (t) => {
  tally.print(t);
});
