/**
 * The repository faulted on purpose, beside PostgreSQL 15.
 *
 * Disk full: `archive` into a repository on a small tmpfs (mounted here, so root only; skipped otherwise), filled to
 * leave a random amount free, so the disk fills at a random point: repository.json, the first partial segment, the
 * middle of a later one. The run must stop with exit 1 and an error that names the file and "no space left on
 * device", and lose nothing already archived: every complete segment is byte-identical to the server's pg_wal copy
 * (wal_keep_size keeps them) and to what it held before the disk filled; the partial is a prefix of the server's
 * copy. Once the filler is removed, a restart on the same slot resumes: no gap (`info`), still identical.
 *
 * Expire killed: a repository written by archive and three backups under pgbench load; on a fresh copy of it,
 * `expire --keep 1` is sent SIGKILL (the pgconvoy node process itself) at a random moment of its run, drawn round
 * how long an expire takes here. What is left must be read by `info` (exit 0, no gap, every listed backup's WAL
 * held), must restore with `restore --repo` to the end of the archive on a real postgres (the marked rows and the
 * pgbench invariant), and the next expire must complete (taking over the killed one's lock if it held it), leaving
 * the policy's backups, no trash and no lock.
 *
 * After every trial, as in every fault file: the cluster holds no walsender, backup or slot of ours.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, open, readdir, readFile, rm, statfs } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { after, before, test } from 'node:test';
import { chownForServer } from '../../src/cluster/os-user.ts';
import type { RepositoryInfo } from '../../src/repository/repository-info.ts';
import { readWalListing } from '../../src/repository/wal-catalog.ts';
import {
  checkPgbenchInvariant, installFor, psql, restoreAndStart, startCluster, startPgbench, tmpDir, type PgInstall, type TestCluster,
} from '../integration/harness.ts';
import { startCli, type RunningCli } from '../integration/concurrency/helpers.ts';
import { expectClean, FaultTally, trials, waitFor, SETTLE_CEILING_MS } from './fault-kit.ts';

const execFileAsync = promisify(execFile);
const tally = new FaultTally();
const MB = 1024 * 1024;
const SEGMENT_BYTES = 16 * MB;
/** Room for the filler, the up to 40 MB left free, and the segments a restart writes once the filler is gone. */
const TMPFS_MB = 96;
const FILLER = 'filler';

const skip = installFor(15) === null ? 'PostgreSQL 15 is not installed' : false;
let cluster: TestCluster;
let root: string;
let mountDir = '';
let mountFailure: string | null = process.getuid?.() === 0 ? null : 'mounting a tmpfs needs root';
const running = new Set<RunningCli>();

before(async () => {
  if (skip !== false) return;
  cluster = await startCluster({ major: 15, settings: { wal_keep_size: '2GB', wal_sender_timeout: '60s' } });
  await psql(cluster, 'CREATE TABLE fault_marks (id int)');
  root = await tmpDir('fault-repository');
  if (mountFailure !== null) return;
  mountDir = join(root, 'tmpfs');
  try {
    await mkdir(mountDir);
    await execFileAsync('mount', ['-t', 'tmpfs', '-o', `size=${TMPFS_MB}m`, 'tmpfs', mountDir]);
  } catch (error) {
    mountFailure = `could not mount a tmpfs (${(error as Error).message.split('\n')[0] ?? ''})`;
    mountDir = '';
  }
});

after(async () => {
  for (const run of running) run.child.kill('SIGKILL');
  if (mountDir !== '') await execFileAsync('umount', [mountDir]).catch(() => {});
  await cluster?.stopAndRemove();
});

function cli(args: string[]): RunningCli {
  const run = startCli(args);
  running.add(run);
  void run.result.finally(() => running.delete(run));
  return run;
}

function conninfo(applicationName: string): string {
  return `host=${cluster.host} port=${cluster.port} user=postgres application_name=${applicationName}`;
}

async function flushLsnReached(applicationName: string, lsn: string): Promise<boolean> {
  const rows = await psql(cluster, `SELECT flush_lsn >= '${lsn}' FROM pg_stat_replication WHERE application_name = '${applicationName}'`);
  return rows[0]?.[0] === 't';
}

async function startArchive(repo: string, name: string): Promise<RunningCli> {
  const run = cli(['archive', '--repo', repo, '-d', conninfo(name), '--slot', name, '--create-slot']);
  await waitFor(`archive "${name}" to stream`, async () => {
    if (run.child.exitCode !== null) return true; // judged by the caller (a full disk may end it before streaming)
    const rows = await psql(cluster, `SELECT state FROM pg_stat_replication WHERE application_name = '${name}'`);
    return rows[0]?.[0] === 'streaming';
  }, SETTLE_CEILING_MS);
  return run;
}

/** Ends the current segment (after a little WAL) and waits until the archive flushed it, or exited. */
async function switchSegment(run: RunningCli, name: string): Promise<void> {
  await psql(cluster, 'INSERT INTO fault_marks SELECT g FROM generate_series(1, 1000) g');
  const [[lsn] = []] = await psql(cluster, 'SELECT pg_switch_wal()');
  try {
    await waitFor(`archive "${name}" to flush ${lsn} or stop`, async () =>
      run.child.exitCode !== null || await flushLsnReached(name, lsn as string), SETTLE_CEILING_MS);
  } catch (error) {
    run.child.kill('SIGKILL');
    throw new Error(`${(error as Error).message}; its stderr:\n${(await run.result).stderr}`);
  }
}

async function stopArchive(run: RunningCli): Promise<void> {
  run.child.kill('SIGTERM');
  const result = await run.result;
  assert.equal(result.status, 0, `archive after SIGTERM: ${result.stderr}`);
}

/** Once its walsender has gone (a stopped or failed archive's may take a moment). */
async function dropSlot(slot: string): Promise<void> {
  await waitFor(`slot "${slot}" to be released`, async () =>
    (await psql(cluster, `SELECT active FROM pg_replication_slots WHERE slot_name = '${slot}'`))[0]?.[0] !== 't', SETTLE_CEILING_MS);
  await psql(cluster, `SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name = '${slot}'`);
}

async function info(repo: string): Promise<RepositoryInfo> {
  const result = await cli(['info', '--repo', repo, '--json']).result;
  assert.equal(result.status, 0, `info --repo: ${result.stdout}${result.stderr}`);
  return JSON.parse(result.stdout) as RepositoryInfo;
}

const sha256 = (bytes: Buffer): string => createHash('sha256').update(bytes).digest('hex');

/** Hash of every complete segment in the repository. */
async function segmentHashes(repo: string): Promise<Map<string, string>> {
  const names = await readdir(join(repo, 'wal')).catch(() => []);
  const hashes = new Map<string, string>();
  for (const segment of readWalListing(names, SEGMENT_BYTES).segments) {
    hashes.set(segment.name, sha256(await readFile(join(repo, 'wal', segment.name))));
  }
  return hashes;
}

/**
 * Nothing lost: each segment seen before is still there with the same bytes, every complete segment equals the
 * server's pg_wal copy, and the partial is a prefix of it. Returns the segments compared.
 */
async function expectNothingLost(repo: string, seen: ReadonlyMap<string, string>): Promise<number> {
  const now = await segmentHashes(repo);
  for (const [name, hash] of seen) assert.equal(now.get(name), hash, `segment ${name} changed or went missing`);
  for (const [name, hash] of now) {
    const theirs = await readFile(join(cluster.dataDir, 'pg_wal', name));
    assert.equal(hash, sha256(theirs), `segment ${name} differs from the server's pg_wal copy`);
  }
  const names = await readdir(join(repo, 'wal')).catch(() => []);
  for (const partial of readWalListing(names, SEGMENT_BYTES).partials) {
    const ours = await readFile(join(repo, 'wal', `${partial.name}.partial`));
    const theirs = await readFile(join(cluster.dataDir, 'pg_wal', partial.name));
    assert.ok(ours.equals(theirs.subarray(0, ours.length)), `${partial.name}.partial is not a prefix of the server's copy`);
  }
  return now.size;
}

async function freeBytes(dir: string): Promise<number> {
  const stats = await statfs(dir);
  return stats.bavail * stats.bsize;
}

/** Fills the tmpfs until `leaveBytes` are free (tmpfs stores the zeros). */
async function fillLeaving(leaveBytes: number): Promise<void> {
  const fill = Math.max(0, (await freeBytes(mountDir)) - leaveBytes);
  const handle = await open(join(mountDir, FILLER), 'w');
  try {
    const chunk = Buffer.alloc(MB);
    for (let done = 0; done < fill; done += chunk.length) await handle.write(chunk, 0, Math.min(chunk.length, fill - done));
  } finally {
    await handle.close();
  }
}

test('archive into a repository on a full disk: stops naming the disk full, loses nothing, resumes without a gap once there is room', {
  skip, timeout: trials(4) * 90_000,
}, async (t) => {
  if (mountFailure !== null) return t.skip(mountFailure);
  await tally.run(t, 'repository archive disk-full', trials(4), async ({ index, dice, describe, note }) => {
    const leaveBytes = dice.int(0, 40 * MB);
    describe(`${TMPFS_MB} MB tmpfs with ${(leaveBytes / MB).toFixed(1)} MB free`);
    const repo = join(mountDir, `repo${index}`);
    const slot = `fault_full_${index}`;
    try {
      await fillLeaving(leaveBytes);
      // A new slot reserves WAL from the last checkpoint's redo: without one, each trial would start further back.
      await psql(cluster, 'CHECKPOINT');
      let run = await startArchive(repo, slot);
      const seen = new Map<string, string>();
      for (let round = 0; round < 8 && run.child.exitCode === null; round += 1) {
        await switchSegment(run, slot);
        for (const [name, hash] of await segmentHashes(repo)) seen.set(name, hash);
      }
      assert.notEqual(run.child.exitCode, null, `archive still runs after 8 segments into ${(leaveBytes / MB).toFixed(1)} MB`);
      const result = await run.result;
      assert.equal(result.status, 1, `exit status ${result.status ?? result.signal}: ${result.stderr}`);
      const errorLine = /^pgconvoy: error: .*$/m.exec(result.stderr)?.[0] ?? '';
      assert.match(errorLine, /no space left on device/i, `the error says the disk is full:\n${result.stderr}`);
      assert.ok(errorLine.includes(`"${repo}/`), `the error names the file under "${repo}":\n${result.stderr}`);
      note(errorLine.replace(repo, '<repo>'));
      const before = await expectNothingLost(repo, seen);

      await rm(join(mountDir, FILLER));
      run = await startArchive(repo, slot);
      if (run.child.exitCode !== null) assert.fail(`the restart did not stream: ${(await run.result).stderr}`);
      await switchSegment(run, slot);
      await stopArchive(run);
      const resumed = await info(repo);
      assert.deepEqual(resumed.wal.gaps, []);
      assert.ok(resumed.wal.segments >= 1 && resumed.wal.segments > before, `${resumed.wal.segments} segments after the restart, ${before} before`);
      if (seen.size > 0) assert.equal(resumed.wal.firstSegment, [...seen.keys()].sort()[0]);
      await expectNothingLost(repo, seen);
      await expectClean(cluster);
      return before === 0 ? 'stopped before a segment was complete, resumed' : 'stopped with segments kept, resumed';
    } finally {
      await rm(repo, { recursive: true, force: true });
      await rm(join(mountDir, FILLER), { force: true });
      await dropSlot(slot);
    }
  });
});

/** A repository of three backups under load and the archive around them: copied afresh for every trial. */
async function buildRepository(): Promise<{ repo: string; backups: string[] }> {
  const repo = join(root, 'base-repo');
  const run = await startArchive(repo, 'fault_expire');
  const load = startPgbench(cluster, { seconds: 12, clients: 2 });
  const backups: string[] = [];
  for (const label of ['one', 'two', 'three']) {
    const result = await cli(['backup', '--repo', repo, '-d', conninfo(`backup_${label}`), '-c', 'fast', '-l', label, '--json']).result;
    assert.equal(result.status, 0, result.stderr);
    backups.push((JSON.parse(result.stdout) as { id: string }).id);
    await psql(cluster, 'SELECT pg_switch_wal()');
  }
  await load.done;
  await psql(cluster, 'CREATE TABLE expire_marks AS SELECT g AS id FROM generate_series(1, 10) g');
  await switchSegment(run, 'fault_expire');
  await stopArchive(run);
  await dropSlot('fault_expire');
  await chownForServer(repo, { recursive: true }); // archive-get runs as the postgres OS user
  return { repo, backups };
}

async function copyRepository(from: string, to: string): Promise<void> {
  await execFileAsync('cp', ['-a', from, to]);
}

/** Milliseconds until `run` held the expire lock of `repo` (polled every millisecond), or null if it exited first. */
async function lockTaken(repo: string, run: RunningCli): Promise<number | null> {
  const started = performance.now();
  while (!existsSync(join(repo, 'expire.lock'))) {
    if (run.child.exitCode !== null) return null;
    await sleep(1);
  }
  return performance.now() - started;
}

/** Where the killed expire got to, from what it left. */
async function whereKilled(repo: string, base: { backups: number; wal: number }): Promise<string> {
  const backups = (await readdir(join(repo, 'backups'))).length;
  const trash = (await readdir(join(repo, 'trash')).catch(() => [])).length;
  const wal = (await readdir(join(repo, 'wal'))).length;
  if (trash > 0) return 'killed with a backup in trash/';
  if (backups === base.backups && wal === base.wal) return 'killed before it removed anything';
  if (wal === base.wal) return 'killed after backups, before WAL';
  return 'killed while removing WAL';
}

test('expire killed with SIGKILL at random moments: info reads what is left, restore --repo restores it, the next expire completes', {
  skip, timeout: 120_000 + trials(4) * 60_000,
}, async (t) => {
  const install = installFor(15) as PgInstall;
  const base = await buildRepository();
  const baseCounts = { backups: base.backups.length, wal: (await readdir(join(base.repo, 'wal'))).length };
  // How long an expire takes here, before it holds its lock (node's start-up, mostly) and while it holds it.
  const probe = join(root, 'probe-repo');
  await copyRepository(base.repo, probe);
  const probeStarted = performance.now();
  const probeRun = cli(['expire', '--repo', probe, '--keep', '1']);
  const lockedAtMs = (await lockTaken(probe, probeRun)) ?? assert.fail('the probe expire never held its lock');
  const probed = await probeRun.result;
  const workMs = performance.now() - probeStarted - lockedAtMs;
  assert.equal(probed.status, 0, probed.stderr);
  await rm(probe, { recursive: true });
  t.diagnostic(`an expire --keep 1 of ${baseCounts.backups} backups and ${baseCounts.wal} WAL files here: ` +
    `its lock after ${lockedAtMs.toFixed(0)} ms, then ${workMs.toFixed(0)} ms of work`);

  await tally.run(t, 'repository expire SIGKILL', trials(4), async ({ index, dice, describe, note }) => {
    const keep = 1; // the most to remove (two backups, most of the WAL), so the most moments to be killed at
    // Most kills land while it removes (after it took its lock, within the probe's time of work), some before.
    const whileWorking = dice.chance(0.75);
    const killAfterMs = Math.floor((whileWorking ? workMs : lockedAtMs) * dice.unit());
    describe(`expire --keep ${keep} killed ${killAfterMs} ms after ${whileWorking ? 'it took its lock' : 'its start'}`);
    const repo = join(root, `expire${index}`);
    const restoreRoot = await tmpDir('fault-expire-restore');
    try {
      await copyRepository(base.repo, repo);
      const run = cli(['expire', '--repo', repo, '--keep', String(keep)]);
      if (whileWorking) await lockTaken(repo, run);
      await sleep(killAfterMs);
      run.child.kill('SIGKILL');
      const killed = await run.result;
      const where = killed.signal === 'SIGKILL' ? await whereKilled(repo, baseCounts) : 'finished before the kill';
      if (killed.signal !== 'SIGKILL') assert.equal(killed.status, 0, killed.stderr);

      const left = await info(repo);
      assert.deepEqual(left.wal.gaps, []);
      assert.ok(left.backups.length >= keep, `${left.backups.length} backups left`);
      assert.equal(left.backups.at(-1)?.id, base.backups.at(-1), 'the newest backup is kept');
      for (const backup of left.backups) assert.equal(backup.walCovered, true, `${backup.id} needs ${backup.walFrom}..${backup.walTo}`);

      const dataDir = join(restoreRoot, 'data');
      const restored = await cli(['restore', '--repo', repo, '-D', dataDir]).result;
      assert.equal(restored.status, 0, restored.stderr);
      const server = await restoreAndStart(dataDir, install);
      try {
        await waitFor('recovery to the end of the archive', async () => (await psql(server, 'SELECT pg_is_in_recovery()'))[0]?.[0] === 'f', 120_000)
          .catch(async (error: unknown) => { throw new Error(`${String(error)}\nserver log:\n${await server.logText()}`); });
        assert.deepEqual(await psql(server, 'SELECT count(*) FROM expire_marks'), [['10']]);
        await checkPgbenchInvariant(server);
      } finally {
        await server.stop('immediate');
      }

      const next = await cli(['expire', '--repo', repo, '--keep', String(keep)]).result;
      assert.equal(next.status, 0, next.stderr);
      if (/took over the lock/.test(next.stderr)) note('the next expire took over the killed one\'s lock');
      const final = await info(repo);
      assert.deepEqual(final.backups.map((backup) => backup.id), base.backups.slice(-keep));
      assert.deepEqual(final.wal.gaps, []);
      assert.deepEqual(await readdir(join(repo, 'trash')).catch(() => []), []);
      assert.deepEqual((await readdir(repo)).filter((name) => name.includes('lock')), [], 'no lock left');
      await expectClean(cluster);
      return where;
    } finally {
      await rm(repo, { recursive: true, force: true });
      await rm(restoreRoot, { recursive: true, force: true });
    }
  });
});

test('fault counts', { skip }, (t) => {
  tally.print(t);
});
