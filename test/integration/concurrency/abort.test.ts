/**
 * Clean aborts: SIGINT, SIGTERM or SIGKILL of a running `pgconvoy backup`. Within a few seconds the server runs
 * no backup (pg_stat_progress_basebackup is empty) and holds no pgconvoy_ slot; the destination is removed, or
 * with --no-clean left without backup_manifest. Ctrl-C says what was aborted and exits with status 1.
 *
 * The spread start checkpoint is the hard moment: the walsender waits for it without looking at its socket, so
 * only a CancelRequest ends it early. SIGINT/SIGTERM send one; after SIGKILL the run's guardian process does,
 * and it also cleans the destination the killed run left behind.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { test } from 'node:test';
import { psql, startCluster, startPgbench, tmpDir, type TestCluster } from '../harness.ts';
import {
  expectRemoved, expectServerClean, listDir, seededRandom, serverArgs, startCli, verifyBackup, waitFor, waitForPhase,
} from './helpers.ts';

/** A start checkpoint that takes minutes: many dirty buffers, written over 27 minutes, no bgwriter help. */
const SLOW_CHECKPOINT = {
  checkpoint_timeout: '30min', checkpoint_completion_target: 0.9, shared_buffers: '128MB', bgwriter_lru_maxpages: 0,
};

async function dirtyBuffers(cluster: TestCluster): Promise<void> {
  await psql(cluster, "CREATE TABLE IF NOT EXISTS filler (g int, pad text); INSERT INTO filler SELECT g, repeat('x', 100) FROM generate_series(1, 200000) g");
}

test('SIGINT and SIGTERM during a spread start checkpoint: cancelled within seconds, output removed', { timeout: 120_000 }, async () => {
  const cluster = await startCluster({ major: 15, settings: SLOW_CHECKPOINT });
  try {
    const root = await tmpDir('abort-checkpoint');
    for (const signal of ['SIGINT', 'SIGTERM'] as const) {
      await dirtyBuffers(cluster);
      const dir = join(root, signal);
      const backup = startCli(['backup', ...serverArgs(cluster), '-D', dir, '-X', 'stream', '-c', 'spread', '-l', `slow ${signal}`]);
      await waitForPhase(cluster, 'waiting for checkpoint to finish');
      await sleep(300);
      backup.child.kill(signal);
      const result = await backup.result;
      assert.equal(result.status, signal === 'SIGINT' ? 130 : 143, result.stderr);
      assert.match(result.stderr,
        new RegExp(`error: interrupted by ${signal}: backup "slow ${signal}" aborted while the server was running its start checkpoint; partial output removed from "${dir}"`));
      await expectServerClean(cluster, 5_000);
      assert.equal(await listDir(dir), null);
    }
  } finally {
    await cluster.stopAndRemove();
  }
});

test('SIGKILL during a spread start checkpoint: the guardian cancels it, the server forgets the backup within seconds', {
  timeout: 90_000,
}, async (t) => {
  const cluster = await startCluster({ major: 15, settings: SLOW_CHECKPOINT });
  try {
    const root = await tmpDir('kill-checkpoint');
    // -X stream also has the streaming session (and its slot); its -D exists, empty, before the run: it stays.
    for (const method of ['fetch', 'stream'] as const) {
      await dirtyBuffers(cluster);
      const dir = join(root, method);
      if (method === 'stream') await mkdir(dir);
      const backup = startCli(['backup', ...serverArgs(cluster), '-D', dir, '-X', method, '-c', 'spread']);
      await waitForPhase(cluster, 'waiting for checkpoint to finish');
      await sleep(300);
      backup.child.kill('SIGKILL');
      const result = await backup.result;
      assert.equal(result.signal, 'SIGKILL');
      const cleanMs = await expectServerClean(cluster, 5_000);
      t.diagnostic(`-X ${method}: server clean ${cleanMs} ms after the SIGKILL was reaped`);
      // The guardian cancels first and cleans after, so the server can be clean a moment before the directory.
      await expectRemoved(dir, method === 'stream', 5_000);
    }
  } finally {
    await cluster.stopAndRemove();
  }
});

test('SIGTERM while copying with --no-clean: files stay, without backup_manifest', { timeout: 60_000 }, async () => {
  const cluster = await startCluster({ major: 15 });
  try {
    await psql(cluster, "CREATE TABLE ballast AS SELECT g, repeat('x', 200) AS pad FROM generate_series(1, 100000) g");
    const dir = join(await tmpDir('no-clean'), 'b');
    const backup = startCli(['backup', ...serverArgs(cluster), '-D', dir, '-X', 'fetch', '-c', 'fast', '-r', '4M', '--no-clean']);
    await waitForPhase(cluster, 'streaming database files');
    await sleep(1000);
    backup.child.kill('SIGTERM');
    const result = await backup.result;
    assert.equal(result.status, 143);
    assert.match(result.stderr, /interrupted by SIGTERM: backup ".*" aborted while copying \(started at [0-9A-F]+\/[0-9A-F]+, .* received\); partial output left in ".*" without backup_manifest/);
    await expectServerClean(cluster, 5_000);
    const files = await listDir(dir);
    assert.ok(files?.includes('base') === true, `partial files kept: ${files?.join(' ') ?? 'none'}`);
    assert.ok(!files.includes('backup_manifest') && !files.includes('backup_manifest.tmp'));
  } finally {
    await cluster.stopAndRemove();
  }
});

test('killed at random moments (seeded), repeated: the server forgets each backup, nothing looks complete', { timeout: 180_000 }, async (t) => {
  const seed = Number(process.env['PGCONVOY_KILL_SEED'] ?? 20261125);
  const random = seededRandom(seed);
  const cluster = await startCluster({ major: 15, settings: { max_wal_size: '64MB', min_wal_size: '32MB' } });
  try {
    await startPgbench(cluster, { scale: 3, seconds: 1 }).done;
    const load = startPgbench(cluster, { clients: 1, seconds: 150 });
    const root = await tmpDir('random-kill');
    const signals = ['SIGKILL', 'SIGINT', 'SIGTERM'] as const;
    for (let i = 0; i < 9; i += 1) {
      const signal = signals[i % signals.length] as NodeJS.Signals;
      const method = i % 2 === 0 ? 'fetch' : 'stream';
      const format = i % 4 < 2 ? 'p' : 't';
      const noClean = i % 5 === 2 || i % 5 === 3; // rounds 2, 3, 7, 8: with SIGTERM, SIGKILL, SIGINT, SIGTERM
      const delayMs = Math.round(random() * 4000);
      const dir = join(root, `k${i}`);
      const backup = startCli(['backup', ...serverArgs(cluster), '-D', dir, '-X', method, '-F', format, '-c', 'fast', '-r', '8M',
        ...(noClean ? ['--no-clean'] : [])]);
      await sleep(delayMs);
      backup.child.kill(signal);
      const result = await backup.result;
      const cleanMs = await expectServerClean(cluster, 5_000);
      const files = await listDir(dir);
      const said = /aborted (while [a-z ]+)/.exec(result.stderr)?.[1] ?? '';
      t.diagnostic(`seed ${seed} round ${i}: ${signal} after ${delayMs} ms, -X ${method} -F ${format}${noClean ? ' --no-clean' : ''}: ` +
        `${result.status === null ? `killed by ${result.signal ?? '?'}` : `exit ${result.status}`} ${said}; server clean after ${cleanMs} ms`);
      if (result.status === 0) {
        // The signal came after the backup was complete: then it must be a good one.
        await verifyBackup(cluster, dir);
        continue;
      }
      assert.ok(files === null || !files.includes('backup_manifest'), `round ${i}: ${files?.join(' ') ?? ''}`);
      // As shells report a death by signal: 128 + its number, once the CLI has taken over the signal.
      if (result.status === 128 + (signal === 'SIGINT' ? 2 : 15)) {
        assert.match(result.stderr, new RegExp(`interrupted by ${signal}: backup ".*" aborted`));
        if (!noClean) assert.equal(files, null, `round ${i}: removed`);
      } else {
        assert.equal(result.signal, signal, `round ${i}: ${result.stderr}`);
        if (signal !== 'SIGKILL') {
          assert.equal(existsSync(dir), false, 'killed before the CLI took over its signals');
          continue;
        }
        // The killed run could not clean up: its guardian does, as the run's own failure path would have.
        const guardedMs = await waitFor(`round ${i}: the guardian to clean "${dir}"`, async () => {
          const left = await listDir(dir);
          return noClean ? !(left ?? []).some((file) => file.startsWith('backup_manifest')) : left === null;
        }, 5_000);
        t.diagnostic(`round ${i}: destination ${noClean ? 'without backup_manifest' : 'removed'} after ${guardedMs} ms more`);
      }
    }
    await load.stop();
  } finally {
    await cluster.stopAndRemove();
  }
});
