/**
 * `pgconvoy backup` ended by SIGKILL, SIGINT or SIGTERM at a random moment (connecting, start checkpoint, copying,
 * finishing, or after it completed), beside PostgreSQL 15 under a pgbench write load: -X fetch and stream, plain
 * and tar, gzip (-z), and fan-out to two -D; sometimes --no-clean, sometimes into a -D that existed (empty) before.
 *
 * After every trial: the server runs no backup and holds no slot and no walsender of ours; a run that exited 0 left
 * complete backups that pg_verifybackup accepts; a run that SIGINT or SIGTERM ended exited 130 or 143, said what it
 * aborted and left no backup_manifest anywhere; after SIGKILL the guardian cleaned what the run could not. Only a
 * directory that verifies may hold backup_manifest; the rest is removed (emptied if it existed, kept without
 * backup_manifest with --no-clean).
 *
 * concurrency/abort.test.ts pins the individual moments (spread checkpoint, --no-clean messages); this file counts.
 * One cluster for the file: every trial leaves it as it found it, which is what the trial checks.
 */
import assert from 'node:assert/strict';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { installFor, startCluster, startPgbench, tmpDir, type PgbenchRun, type TestCluster } from '../integration/harness.ts';
import { listDir, serverArgs, startCli } from '../integration/concurrency/helpers.ts';
import {
  expectClean, expectNothingFalselyComplete, expectRemoved, FaultTally, randomMoment, settle, trials, waitFor,
  SETTLE_CEILING_MS,
} from './fault-kit.ts';

const skip = installFor(15) === null ? 'PostgreSQL 15 is not installed' : false;
const tally = new FaultTally();
let cluster: TestCluster;
let load: PgbenchRun;
let root: string;

interface Variant {
  readonly name: string;
  readonly args: readonly string[];
  readonly destinations: number;
}

const VARIANTS: readonly Variant[] = [
  { name: '-X fetch -F p', args: ['-X', 'fetch', '-F', 'p'], destinations: 1 },
  { name: '-X stream -F p', args: ['-X', 'stream', '-F', 'p'], destinations: 1 },
  { name: '-X stream -F t -z', args: ['-X', 'stream', '-F', 't', '-z'], destinations: 1 },
  { name: 'fan-out -X stream -F p', args: ['-X', 'stream', '-F', 'p'], destinations: 2 },
  { name: 'fan-out -X fetch -F t -z', args: ['-X', 'fetch', '-F', 't', '-z'], destinations: 2 },
];
const SIGNALS = ['SIGKILL', 'SIGINT', 'SIGTERM'] as const;
/** A throttled backup of this cluster takes about 2 to 3 s; signals fall anywhere in it, and a little after. */
const RATE = '32M';
const LATEST_SIGNAL_MS = 4500;

before(async () => {
  if (skip !== false) return;
  cluster = await startCluster({ major: 15, settings: { max_wal_size: '64MB', min_wal_size: '32MB' } });
  await startPgbench(cluster, { scale: 3, seconds: 1 }).done;
  load = startPgbench(cluster, { clients: 1, seconds: 3600 });
  root = await tmpDir('fault-signals');
});

after(async () => {
  await load?.stop();
  await cluster?.stopAndRemove();
});

test('backup killed by a signal at a random moment: nothing left on the server, nothing that looks complete', {
  skip, timeout: trials(15) * 60_000,
}, async (t) => {
  await tally.run(t, 'backup-signal', trials(15), async ({ index, dice, describe, note }) => {
    // every signal with every variant once per 15 trials; the moment and the options are the dice's
    const signal = SIGNALS[index % SIGNALS.length] as NodeJS.Signals;
    const variant = VARIANTS[Math.floor(index / SIGNALS.length) % VARIANTS.length] as Variant;
    const noClean = dice.chance(0.25);
    const existed = dice.chance(0.25);
    const dirs = Array.from({ length: variant.destinations }, (_, n) => join(root, `t${index}-${n}`));
    if (existed) for (const dir of dirs) await mkdir(dir);
    const backup = startCli(['backup', ...serverArgs(cluster), ...dirs.flatMap((dir) => ['-D', dir]), ...variant.args,
      '-c', 'fast', '-r', RATE, '-l', `fault ${index}`, ...(noClean ? ['--no-clean'] : [])]);
    const atMs = await randomMoment(dice, LATEST_SIGNAL_MS);
    describe(`${signal} after ${atMs} ms, ${variant.name}${noClean ? ' --no-clean' : ''}${existed ? ', -D existed' : ''}`);
    backup.child.kill(signal);
    const result = await backup.result;
    const said = /aborted (while [a-z ]*[a-z])/.exec(result.stderr)?.[1];
    const exit = result.status === null ? `killed by ${result.signal ?? '?'}` : `exit ${result.status}`;

    note(`server clean ${await expectClean(cluster)} ms after the exit`);
    if (result.status === 0) {
      const complete = await expectNothingFalselyComplete(cluster, dirs);
      assert.equal(complete.length, dirs.length, `exit 0 but not every destination holds a backup: ${result.stderr}`);
      return 'completed before the signal, verified';
    }
    if (result.status === 128 + (signal === 'SIGINT' ? 2 : 15) && signal !== 'SIGKILL') {
      assert.match(result.stderr, new RegExp(`interrupted by ${signal}: backup "fault ${index}" aborted`), 'says what it aborted');
      for (const dir of dirs) {
        const files = await listDir(dir);
        assert.ok(!(files ?? []).includes('backup_manifest'), `an aborted run left backup_manifest in "${dir}"`);
        if (!noClean) await expectRemoved(dir, existed);
      }
      note(`aborted ${said ?? '(no phase said)'}`);
      return 'aborted (exit 130/143), cleaned';
    }
    assert.equal(result.signal, signal, `neither success, nor the abort, nor death by the signal: ${exit}\n${result.stderr}`);
    // Died at once (SIGKILL, or a signal before the CLI took it over): the guardian cleans in the run's place,
    // except a destination already complete, which must then be a good backup.
    const complete = await expectNothingFalselyComplete(cluster, dirs);
    for (const dir of dirs.filter((dir) => !complete.includes(dir))) {
      if (noClean) {
        await waitFor(`the guardian to take backup_manifest.tmp out of "${dir}"`, async () =>
          !((await listDir(dir)) ?? []).some((file) => file.startsWith('backup_manifest')), SETTLE_CEILING_MS);
      } else {
        await expectRemoved(dir, existed);
      }
    }
    note(exit);
    return complete.length > 0 ? 'died, complete destination(s) verified' : 'died at once, cleaned by the guardian';
  }, () => settle(cluster));
});

test('fault counts', { skip }, (t) => {
  tally.print(t);
});
