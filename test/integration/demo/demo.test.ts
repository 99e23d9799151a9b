/**
 * `pgconvoy demo` as a newcomer runs it (the CLI, embedded PostgreSQL 18): it succeeds, says nothing on stderr,
 * tells the serve part of the story with serve's own numbers, and leaves no directory behind. And the serve part
 * interrupted mid-backup (as by Ctrl-C): it ends with ABORTED, serve stops, and the cluster keeps nothing of it.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { test } from 'node:test';
import { createBank } from '../../../src/demo/bank-workload.ts';
import type { DemoBackup } from '../../../src/demo/demo-backup.ts';
import { backupsThroughServe } from '../../../src/demo/serve-convoy.ts';
import { AbortError, type ConvoyError } from '../../../src/errors/index.ts';
import { installFor, psql, runCli, startCluster, tmpDir, type TestCluster } from '../harness.ts';

const skip = installFor(18) === null ? 'PostgreSQL 18 (the embedded package the demo uses) is not installed' : false;

test('pgconvoy demo: backups through serve share its reads, every copy verifies, nothing is left', { skip, timeout: 180_000 }, async (t) => {
  const run = await runCli(['demo'], { timeoutMs: 170_000 });
  assert.equal(run.status, 0, `demo failed:\n${run.stdout}\n${run.stderr}`);
  assert.equal(run.stderr, '', 'the demo writes nothing to stderr (no warnings either)');
  assert.match(run.stdout, /^ {2}serve +[\d.]+ s {2}pgconvoy serve beside the cluster .*4 backups through it/m);
  assert.match(run.stdout, /^ +serve stopped: no session, slot or walsender of it is left on the cluster$/m);
  assert.match(run.stdout, /^ {2}verify +[\d.]+ s {2}8\/8 copies whole \(4 of them through serve\)/m);
  assert.match(run.stdout, /^ +convoy-2 +tar, taken through serve +1000 accounts, total 1000000, \d+ transfers$/m);
  const reads = /the 4 backups read the data directory ([\d.]+) times between them instead of 4/.exec(run.stdout);
  assert.ok(reads !== null, `no read count in:\n${run.stdout}`);
  t.diagnostic(reads[0]);
  // Only this much is certain on a busy machine: serve's start checkpoints come one after another, and when they
  // are slow next to a lap of this small cluster, a backup can miss a lap; but sharing must have saved reads.
  assert.ok(Number(reads[1]) < 4, `four backups through serve read the data directory ${reads[1]} times`);
  const root = /^pgconvoy demo: .* in (\/\S+)$/m.exec(run.stdout)?.[1];
  assert.ok(root !== undefined && !existsSync(root), `the demo's directory "${root ?? '?'}" is removed`);
});

test('the serve part interrupted mid-backup: ABORTED, serve stopped, nothing of it on the cluster', { skip, timeout: 120_000 }, async () => {
  const cluster = await startCluster({ major: 18 });
  try {
    await createBank(cluster.connectionParams());
    const root = await tmpDir('demo-serve-abort');
    const backups: DemoBackup[] = [1, 2, 3].map((n) => ({
      label: `abort-${n}`, what: 'plain', dirs: [join(root, `b${n}`)], format: 'plain', walMethod: 'stream', gzip: false,
    }));
    const interrupt = new AbortController();
    const running = backupsThroughServe(cluster, backups, interrupt.signal);
    const outcome = running.then(() => null, (error: unknown) => error);
    for (let tries = 0; ; tries++) {
      const [[copying = '0'] = []] = await psql(cluster, "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'pgconvoy serve backup'");
      if (copying !== '0') break;
      assert.ok(tries < 300, 'serve never started a backup');
      await sleep(20);
    }
    interrupt.abort(new AbortError('ABORTED', 'interrupted by SIGINT', { details: { signal: 'SIGINT' } }));
    const error = await outcome;
    assert.ok(error !== null, 'the interrupted run rejects');
    assert.equal((error as ConvoyError).code, 'ABORTED');
    // serve's sessions end with their sockets, which a stopped serve has closed; backends take a moment to go
    let left = '';
    for (const deadline = Date.now() + 5_000; Date.now() < deadline; await sleep(100)) {
      left = await footprint(cluster);
      if (left === '0,0,0') break;
    }
    assert.equal(left, '0,0,0', 'serve sessions, replication slots and walsenders left on the cluster');
    for (const backup of backups) {
      for (const dir of backup.dirs) assert.ok(!existsSync(join(dir, 'backup_manifest')), `"${dir}" does not look complete`);
    }
  } finally {
    await cluster.stopAndRemove();
  }
});

/** `sessions,slots,walsenders`: serve's sessions (its own and its backups'), every replication slot, every walsender. */
async function footprint(cluster: TestCluster): Promise<string> {
  const [[counts = ''] = []] = await psql(cluster,
    "SELECT (SELECT count(*) FROM pg_stat_activity WHERE application_name LIKE 'pgconvoy serve%') || ',' || " +
    "(SELECT count(*) FROM pg_replication_slots) || ',' || (SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'walsender')");
  return counts ?? '';
}
