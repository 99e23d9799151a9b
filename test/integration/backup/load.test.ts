/**
 * Backups taken while pgbench writes: a tar/fetch and a plain/stream backup run at the same time under load (one
 * read each, a slot each), then each restored copy must reach consistency and satisfy pgbench's invariant
 * sum(abalance) = sum(tbalance) = sum(bbalance), with the transactions committed before the backup present.
 * PostgreSQL 15 (new BASE_BACKUP wire form, and the real pg_verifybackup) and 18; 14 where installed.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { checkPgbenchInvariant, majorMatrix, psql, startCluster, startPgbench, tmpDir, type LocalCluster } from '../harness.ts';
import { convoyOk, pgVerify, restoreBackup } from './tools.ts';

async function historyCount(cluster: LocalCluster): Promise<number> {
  const [[exists] = []] = await psql(cluster, "select to_regclass('pgbench_history') is not null");
  if (exists !== 't') return -1;
  const [[count] = []] = await psql(cluster, 'select count(*) from pgbench_history');
  return Number(count);
}

for (const { major, skip } of majorMatrix()) {
  test(`PostgreSQL ${major}: tar/fetch and plain/stream backups under pgbench load restore with the invariant intact`, { skip }, async (t) => {
    const cluster = await startCluster({ major });
    try {
      const load = startPgbench(cluster, { scale: 5, clients: 4, seconds: 300 });
      let before = -1;
      const deadline = Date.now() + 120_000;
      while ((before = await historyCount(cluster)) < 200) {
        if (Date.now() > deadline) assert.fail('pgbench did not get going');
        await Promise.race([load.done, new Promise((resolve) => setTimeout(resolve, 100))]);
      }
      const work = await tmpDir(`load-${major}`);
      const tarDir = join(work, 'tar');
      const plainDir = join(work, 'plain');
      try {
        await Promise.all([
          convoyOk(cluster, ['-D', tarDir, '-Ft', '-X', 'fetch']),
          convoyOk(cluster, ['-D', plainDir, '-Fp', '-X', 'stream']),
        ]);
      } finally {
        const after = await historyCount(cluster);
        await load.stop();
        t.diagnostic(`pgbench transactions: ${before} before the backups, ${after} when they had finished`);
        assert.ok(after > before, 'the load ran during the backups');
      }
      await checkPgbenchInvariant(cluster);
      if (major === 15) {
        await pgVerify(cluster, plainDir, { tar: false, parseWal: true });
        await pgVerify(cluster, tarDir, { tar: true, parseWal: true });
      }
      for (const [dir, tar] of [[tarDir, true], [plainDir, false]] as const) {
        const restored = await restoreBackup(dir, cluster, { tar });
        try {
          await checkPgbenchInvariant(restored);
          assert.ok(await historyCount(restored) >= before, `${tar ? 'tar' : 'plain'} copy has the transactions committed before the backup`);
        } finally {
          await restored.stop('immediate');
        }
      }
    } finally {
      await cluster.stopAndRemove();
    }
  });
}
