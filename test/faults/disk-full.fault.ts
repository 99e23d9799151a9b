/**
 * A destination on a small tmpfs that fills up mid-backup (mounted here, so root only; skipped otherwise), under a
 * pgbench write load. Each trial leaves a random amount of space free, so the disk fills at a random point: the
 * first files, the middle of a relation, a WAL segment (-X stream writes pg_wal beside the data), base.tar, or
 * nowhere at all on the larger tmpfs, where some trials have room enough and must then produce a backup that verifies.
 *
 * One destination: the run fails (exit 1) naming the file it could not write and "no space left on device", and
 * removes what it wrote, so the tmpfs holds only the filler again. Fan-out, one destination on the full tmpfs and
 * one on the real disk: pgconvoy's policy (src/pipeline/fan-out.ts, README `-D`, `--json`) is that a failed
 * destination is cleaned and dropped while the others go on: the other backup completes and verifies, --json gives
 * the failed one an "error" (and only it), and the exit status is 1 because one destination failed.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdir, open, rm, statfs } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { after, before, test } from 'node:test';
import { installFor, startCluster, startPgbench, tmpDir, type PgbenchRun, type TestCluster } from '../integration/harness.ts';
import { listDir, serverArgs, startCli } from '../integration/concurrency/helpers.ts';
import { expectClean, expectNothingFalselyComplete, expectRemoved, FaultTally, settle, trials, type Dice } from './fault-kit.ts';

const execFileAsync = promisify(execFile);
const tally = new FaultTally();
const FILLER = 'filler';
const MB = 1024 * 1024;

let skip: string | false = installFor(15) === null ? 'PostgreSQL 15 is not installed' : false;
if (skip === false && process.getuid?.() !== 0) skip = 'mounting a tmpfs needs root';

let cluster: TestCluster;
let load: PgbenchRun;
let root: string;
/** The brief's small tmpfs (20 MB: always fills, early), and one about the backup's size (fills late, or not at all). */
const mounts: { small: string; large: string } = { small: '', large: '' };
const mounted: string[] = [];
/** Root without the right to mount (a container without CAP_SYS_ADMIN): the trials are skipped with this reason. */
let mountFailure: string | null = null;
/** Bytes a backup of this cluster takes on disk, uncompressed and with -z: the large tmpfs's free space is drawn round it. */
const backupBytes = { plain: 0, gzip: 0 };

async function mountTmpfs(dir: string, sizeMb: number): Promise<void> {
  await mkdir(dir, { recursive: true });
  await execFileAsync('mount', ['-t', 'tmpfs', '-o', `size=${sizeMb}m`, 'tmpfs', dir]);
  mounted.push(dir);
}

async function freeBytes(dir: string): Promise<number> {
  const stats = await statfs(dir);
  return stats.bavail * stats.bsize;
}

/** Fills `mount` until `leaveBytes` are free (tmpfs stores the zeros: nothing is sparse). */
async function fillLeaving(mount: string, leaveBytes: number): Promise<void> {
  await rm(join(mount, FILLER), { force: true });
  const fill = Math.max(0, (await freeBytes(mount)) - leaveBytes);
  const handle = await open(join(mount, FILLER), 'w');
  try {
    const chunk = Buffer.alloc(MB);
    for (let done = 0; done < fill; done += chunk.length) {
      await handle.write(chunk, 0, Math.min(chunk.length, fill - done));
    }
  } finally {
    await handle.close();
  }
}

async function duBytes(dir: string): Promise<number> {
  const { stdout } = await execFileAsync('du', ['-sb', dir]);
  return Number(stdout.split('\t')[0]);
}

before(async () => {
  if (skip !== false) return;
  cluster = await startCluster({ major: 15, settings: { max_wal_size: '64MB', min_wal_size: '32MB' } });
  await startPgbench(cluster, { scale: 3, seconds: 1 }).done;
  load = startPgbench(cluster, { clients: 1, seconds: 3600 });
  root = await tmpDir('fault-disk-full');
  for (const [kind, args] of [['plain', ['-X', 'stream']], ['gzip', ['-X', 'fetch', '-F', 't', '-z']]] as const) {
    const probe = join(root, `probe-${kind}`);
    const result = await startCli(['backup', ...serverArgs(cluster), '-D', probe, '-c', 'fast', ...args]).result;
    assert.equal(result.status, 0, result.stderr);
    backupBytes[kind] = await duBytes(probe);
    await rm(probe, { recursive: true });
  }
  mounts.small = join(root, 'small');
  mounts.large = join(root, 'large');
  try {
    await mountTmpfs(mounts.small, 20);
    await mountTmpfs(mounts.large, Math.ceil((backupBytes.plain * 1.5) / MB) + 16);
  } catch (error) {
    mountFailure = `could not mount a tmpfs (${(error as Error).message.split('\n')[0] ?? ''})`;
  }
});

after(async () => {
  await load?.stop();
  for (const dir of mounted) await execFileAsync('umount', [dir]).catch(() => {});
  await cluster?.stopAndRemove();
});

interface Format {
  readonly name: string;
  readonly args: readonly string[];
}

const FORMATS: readonly Format[] = [
  { name: '-X stream -F p', args: ['-X', 'stream', '-F', 'p'] },
  { name: '-X fetch -F p', args: ['-X', 'fetch', '-F', 'p'] },
  { name: '-X stream -F t', args: ['-X', 'stream', '-F', 't'] },
  { name: '-X fetch -F t -z', args: ['-X', 'fetch', '-F', 't', '-z'] },
];

interface Setup {
  readonly mount: string;
  readonly leaveBytes: number;
  readonly format: Format;
}

/**
 * Every format on each tmpfs in turn. Small: 0 to 19 MB free. Large: 60% to 110% of that format's backup size
 * free, so late failures (the last WAL, the manifest) and some successes.
 */
async function prepare(dice: Dice, index: number): Promise<Setup> {
  const format = FORMATS[index % FORMATS.length] as Format;
  const mount = Math.floor(index / FORMATS.length) % 2 === 0 ? mounts.small : mounts.large;
  const size = format.args.includes('-z') ? backupBytes.gzip : backupBytes.plain;
  const leaveBytes = mount === mounts.small ? dice.int(0, 19 * MB) : Math.round(size * (0.6 + 0.5 * dice.unit()));
  await fillLeaving(mount, leaveBytes);
  return { mount, leaveBytes, format };
}

function describeSetup(setup: Setup): string {
  return `${setup.format.name}, ${setup.mount === mounts.small ? '20 MB' : 'large'} tmpfs with ${(setup.leaveBytes / MB).toFixed(1)} MB free`;
}

interface JsonLine { readonly dir: string; readonly error?: string }

test('the only destination fills up: the run fails naming the file, removes what it wrote', { skip, timeout: trials(8) * 90_000 }, async (t) => {
  if (mountFailure !== null) return t.skip(mountFailure);
  await tally.run(t, 'disk-full', trials(8), async ({ index, dice, describe, note }) => {
    const setup = await prepare(dice, index);
    describe(describeSetup(setup));
    const dir = join(setup.mount, `t${index}`);
    const result = await startCli(['backup', ...serverArgs(cluster), '-D', dir, ...setup.format.args, '-c', 'fast']).result;
    await expectClean(cluster);
    if (result.status === 0) {
      assert.deepEqual(await expectNothingFalselyComplete(cluster, [dir]), [dir], `exit 0 without a backup: ${result.stderr}`);
      await rm(dir, { recursive: true });
      return 'had room, verified';
    }
    assert.equal(result.status, 1, `exit status ${result.status ?? result.signal}: ${result.stderr}`);
    const errorLine = /^pgconvoy: error: .*$/m.exec(result.stderr)?.[0] ?? '';
    assert.match(errorLine, /no space left on device/i, `the error says why:\n${result.stderr}`);
    assert.ok(errorLine.includes(`"${dir}`), `the error names the file under "${dir}":\n${result.stderr}`);
    note(errorLine.replace(dir, '<dir>'));
    await expectRemoved(dir, false);
    assert.deepEqual(await listDir(setup.mount), [FILLER], 'the tmpfs holds only the filler again');
    return 'failed naming the file, removed';
  }, () => settle(cluster));
});

test('fan-out with one destination full: the other completes and verifies, the full one is reported and removed', {
  skip, timeout: trials(6) * 90_000,
}, async (t) => {
  if (mountFailure !== null) return t.skip(mountFailure);
  await tally.run(t, 'disk-full fan-out', trials(6), async ({ index, dice, describe, note }) => {
    const setup = await prepare(dice, index);
    describe(describeSetup(setup));
    const full = join(setup.mount, `f${index}`);
    const other = join(root, `other${index}`);
    // the full destination comes first or second: the policy must not depend on the order
    const dirs = dice.chance(0.5) ? [full, other] : [other, full];
    const result = await startCli(['backup', ...serverArgs(cluster), ...dirs.flatMap((dir) => ['-D', dir]),
      ...setup.format.args, '-c', 'fast', '--json']).result;
    await expectClean(cluster);
    const lines = result.stdout.trim().split('\n').filter((line) => line !== '').map((line) => JSON.parse(line) as JsonLine);
    assert.deepEqual(lines.map((line) => line.dir).sort(), [...dirs].sort(), `one JSON line per destination: ${result.stdout}`);
    const byDir = new Map(lines.map((line) => [line.dir, line]));
    assert.equal(byDir.get(other)?.error, undefined, `the destination on the real disk failed: ${result.stderr}`);
    assert.deepEqual(await expectNothingFalselyComplete(cluster, [other]), [other], 'the other destination holds a backup');
    if (result.status === 0) {
      assert.deepEqual(await expectNothingFalselyComplete(cluster, [full]), [full], `exit 0 without a backup in "${full}"`);
      await rm(full, { recursive: true });
      await rm(other, { recursive: true });
      return 'both had room, both verified';
    }
    assert.equal(result.status, 1, `exit status ${result.status ?? result.signal}: ${result.stderr}`);
    const error = byDir.get(full)?.error ?? '';
    assert.match(error, /no space left on device/i, `--json says why the full destination failed: ${result.stdout}`);
    assert.match(result.stderr, new RegExp(`backup to "${full}" failed: .*no space left on device`, 'i'));
    note(error.replace(full, '<full>'));
    await expectRemoved(full, false);
    assert.deepEqual(await listDir(setup.mount), [FILLER], 'the tmpfs holds only the filler again');
    await rm(other, { recursive: true });
    return 'full one reported and removed, other verified';
  }, () => settle(cluster));
});

test('fault counts', { skip }, (t) => {
  tally.print(t);
});
