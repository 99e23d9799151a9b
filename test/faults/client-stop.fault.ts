/**
 * `pgconvoy backup` frozen with SIGSTOP mid-copy, then continued (SIGCONT), beside PostgreSQL 15 with
 * wal_sender_timeout = 6 s under a pgbench write load, -X stream and fetch.
 *
 * Shorter than the timeout (0.2 to 1.5 s): the server sends a keepalive asking for a reply once half the timeout
 * passed without one, so at the moment of the stop the last reply is at most about 3 s old; 1.5 s more stays well
 * inside 6 s. Such a stall must cost nothing: the backup completes and verifies.
 *
 * Longer (9 to 12 s): the server may end the replication connection (for -X stream it does, under load: "terminating
 * walsender process due to replication timeout" in its log, a plain EOF for the client; BASE_BACKUP itself has no
 * timeout, so -X fetch usually survives). Either the backup completes and verifies, or it fails cleanly: exit 1,
 * nothing looks complete, and, when the server timed the stream out, the error says so rather than calling it an
 * abnormal server end (issue 8, defect 4). Both ways the server holds nothing of ours afterwards.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, test } from 'node:test';
import { installFor, startCluster, startPgbench, tmpDir, type PgbenchRun, type TestCluster } from '../integration/harness.ts';
import { listDir, serverArgs, startCli, waitForPhase } from '../integration/concurrency/helpers.ts';
import { expectClean, expectNothingFalselyComplete, expectRemoved, FaultTally, randomMoment, settle, trials, type TrialContext } from './fault-kit.ts';

const skip = installFor(15) === null ? 'PostgreSQL 15 is not installed' : false;
const tally = new FaultTally();
const WAL_SENDER_TIMEOUT_S = 6;
let cluster: TestCluster;
let load: PgbenchRun;
let root: string;
/** Where the server log's replication-timeout lines end so far: each trial looks only at its own. */
let logSeen = 0;

before(async () => {
  if (skip !== false) return;
  cluster = await startCluster({
    major: 15, settings: { max_wal_size: '64MB', min_wal_size: '32MB', wal_sender_timeout: `${WAL_SENDER_TIMEOUT_S}s` },
  });
  await startPgbench(cluster, { scale: 3, seconds: 1 }).done;
  load = startPgbench(cluster, { clients: 1, seconds: 3600 });
  root = await tmpDir('fault-client-stop');
});

after(async () => {
  await load?.stop();
  await cluster?.stopAndRemove();
});

const METHODS = ['stream', 'fetch'] as const;

async function serverTimedOut(): Promise<boolean> {
  const log = await cluster.logText();
  const fresh = log.slice(logSeen);
  logSeen = log.length;
  return /terminating walsender process due to replication timeout/.test(fresh);
}

/** One stop of `stopMs` at a random moment of the copy; returns how the backup ended. */
async function stoppedBackup(trial: TrialContext, method: (typeof METHODS)[number], stopMs: number): Promise<{ status: number | null; stderr: string; dir: string; timedOut: boolean }> {
  logSeen = (await cluster.logText()).length;
  const dir = join(root, `${method}-${stopMs}-${trial.index}`);
  // 16 MB/s: the copy takes about 4 s, so the stop lands inside it
  const backup = startCli(['backup', ...serverArgs(cluster), '-D', dir, '-X', method, '-c', 'fast', '-r', '16M']);
  await waitForPhase(cluster, 'streaming database files');
  const atMs = await randomMoment(trial.dice, 1500);
  trial.describe(`-X ${method}, stopped ${(stopMs / 1000).toFixed(1)} s from ${atMs} ms into the copy`);
  backup.child.kill('SIGSTOP');
  try {
    await sleep(stopMs);
  } finally {
    backup.child.kill('SIGCONT');
  }
  const result = await backup.result;
  trial.note(`server clean ${await expectClean(cluster)} ms after the exit`);
  return { status: result.status, stderr: result.stderr, dir, timedOut: await serverTimedOut() };
}

test(`SIGSTOP shorter than wal_sender_timeout: the backup completes and verifies`, { skip, timeout: trials(4) * 90_000 }, async (t) => {
  await tally.run(t, 'client-stop short', trials(4), async (trial) => {
    const method = METHODS[trial.index % METHODS.length] as (typeof METHODS)[number];
    const stopMs = trial.dice.int(200, 1500);
    const outcome = await stoppedBackup(trial, method, stopMs);
    assert.equal(outcome.status, 0, `a ${stopMs} ms stall failed the backup:\n${outcome.stderr}`);
    assert.deepEqual(await expectNothingFalselyComplete(cluster, [outcome.dir]), [outcome.dir]);
    return 'completed, verified';
  }, () => settle(cluster));
});

test(`SIGSTOP longer than wal_sender_timeout: completes and verifies, or fails cleanly saying it timed out`, {
  skip, timeout: trials(2) * 120_000,
}, async (t) => {
  await tally.run(t, 'client-stop long', trials(2), async (trial) => {
    const method = METHODS[trial.index % METHODS.length] as (typeof METHODS)[number];
    const stopMs = trial.dice.int((WAL_SENDER_TIMEOUT_S + 3) * 1000, (WAL_SENDER_TIMEOUT_S + 6) * 1000);
    const outcome = await stoppedBackup(trial, method, stopMs);
    if (outcome.status === 0) {
      assert.deepEqual(await expectNothingFalselyComplete(cluster, [outcome.dir]), [outcome.dir]);
      return outcome.timedOut ? 'completed despite the server timeout, verified' : 'completed, verified';
    }
    assert.equal(outcome.status, 1, outcome.stderr);
    assert.ok(!((await listDir(outcome.dir)) ?? []).includes('backup_manifest'));
    await expectRemoved(outcome.dir, false);
    const errorLine = /^pgconvoy: error: .*$/m.exec(outcome.stderr)?.[0] ?? '';
    assert.ok(errorLine !== '' && !errorLine.includes('internal error'), `no error line, or a bug's:\n${outcome.stderr}`);
    trial.note(errorLine);
    if (outcome.timedOut) {
      assert.match(outcome.stderr, /wal_sender_timeout|timed out|timeout/i,
        `the server ended the stream for wal_sender_timeout (its log says so); the error should say it timed out because the client stopped reading:\n${outcome.stderr}`);
    }
    return outcome.timedOut ? 'timed out by the server, failed cleanly' : 'failed cleanly';
  }, () => settle(cluster));
});

test('fault counts', { skip }, (t) => {
  tally.print(t);
});
