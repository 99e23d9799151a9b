/**
 * serve itself going away mid-backup, beside a PostgreSQL 15 cluster under a pgbench write load: stopped by
 * SIGTERM (it tells its clients, aborts their backups, closes every upstream session and exits) and killed by
 * SIGKILL (nothing runs; every session it held ends with its socket). Either way, within 5 s the cluster has no
 * backup in progress, no slot and no walsender of serve's, and no client takes its output for a complete backup.
 * The clients are throttled (MAX_RATE) so that both backups are surely mid-copy when serve goes; one streams its
 * WAL (a relayed walsender), one fetches it. One cluster for the file, one serve per test.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, test } from 'node:test';
import { startCluster, startPgbench, tmpDir, type PgbenchRun, type TestCluster } from '../harness.ts';
import { expectClusterClean, pgBasebackup, startServe } from './serve-harness.ts';

let cluster: TestCluster;
let load: PgbenchRun;

before(async () => {
  cluster = await startCluster({ major: 15 });
  await startPgbench(cluster, { scale: 2, seconds: 1 }).done;
  load = startPgbench(cluster, { clients: 1, seconds: 600 });
});

after(async () => {
  await load?.stop();
  await cluster?.stopAndRemove();
});

for (const signal of ['SIGTERM', 'SIGKILL'] as const) {
  test(`serve ${signal === 'SIGTERM' ? 'stopped by SIGTERM' : 'killed by SIGKILL'} mid-backup: the clients fail, the cluster is clean within 5 s`, { timeout: 120_000 }, async () => {
    const root = await tmpDir(`serve-${signal}`);
    const serve = await startServe(cluster);
    try {
      const dirs = { streamed: join(root, 'streamed'), fetched: join(root, 'fetched') };
      const streamed = pgBasebackup(cluster, serve, ['-D', dirs.streamed, '-X', 'stream', '-c', 'fast', '-r', '1M', '-l', 'streamed']);
      const fetched = pgBasebackup(cluster, serve, ['-D', dirs.fetched, '-F', 't', '-X', 'fetch', '-c', 'fast', '-r', '1M', '-l', 'fetched']);
      for (const label of ['streamed', 'fetched']) {
        await serve.waitForEvent((event) => event.event === 'backup-start' && event['label'] === label);
      }
      // a second of copying, so that archive data is on its way to both
      await sleep(1_000);

      const exit = await serve.stop(signal);
      if (signal === 'SIGTERM') {
        assert.equal(exit.status, 0, `serve's exit after SIGTERM; log:\n${serve.log()}`);
        assert.ok(serve.events.some((event) => event.event === 'shutting-down'));
        assert.ok(serve.events.some((event) => event.event === 'stopped'));
      } else {
        assert.equal(exit.signal, 'SIGKILL');
      }
      await expectClusterClean(cluster, 5_000, false);

      for (const [name, run] of Object.entries({ streamed, fetched })) {
        const result = await run.result;
        assert.notEqual(result.status, 0, `${name}: pg_basebackup must not report success:\n${result.stderr}`);
        const dir = dirs[name as keyof typeof dirs];
        assert.equal(existsSync(join(dir, 'backup_manifest')), false, `${name}: nothing looks complete`);
      }
      if (signal === 'SIGTERM') {
        const result = await streamed.result;
        assert.match(result.stderr, /terminating connection due to administrator command|server closed the connection/,
          'the client was told why');
      }
    } finally {
      await serve.stop('SIGKILL');
    }
  });
}
