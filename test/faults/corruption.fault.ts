/**
 * Damage to finished backups: a flipped byte, a truncation or a deletion, at a random position of a random file,
 * in a plain backup (-X stream), a tar backup with pg_wal.tar (-X stream) and a tar backup with its WAL inside
 * base.tar (-X fetch), all made by `pgconvoy backup` under a pgbench write load and checked whole first.
 *
 * For every change that matters `pgconvoy verify` must exit 1 and name the file: any byte inside a file's manifest
 * size (a file listed in the manifest, or its tar member), any byte of backup_manifest its checksum covers, any
 * tar header byte, any WAL byte recovery checks between the start and the end LSN (wal-bytes.ts says which, from
 * the documented WAL layout), a cut below the last such byte, a deleted file, segment or archive. Changes that do
 * not matter (alignment padding, WAL after the end LSN, tar padding) are counted with whatever verify said.
 * Each trial undoes its change before the next, so the three backups serve every trial; a last check verifies
 * them intact again.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { installFor, psql, runCli, startCluster, startPgbench, tmpDir, type PgbenchRun, type TestCluster } from '../integration/harness.ts';
import { serverArgs, startCli, verifyBackup, waitForPhase } from '../integration/concurrency/helpers.ts';
import { applyDamage, chooseChange, studyBackup, type BackupUnderTest } from './backup-damage.ts';
import { FaultTally, trials } from './fault-kit.ts';

const skip = installFor(15) === null ? 'PostgreSQL 15 is not installed' : false;
const tally = new FaultTally();
let cluster: TestCluster;
let load: PgbenchRun;
let stash: string;
const backups: BackupUnderTest[] = [];

before(async () => {
  if (skip !== false) return;
  cluster = await startCluster({ major: 15, settings: { max_wal_size: '64MB', min_wal_size: '32MB' } });
  // scale 1: verify reads every byte of a backup in every trial, so the backups are kept small
  await startPgbench(cluster, { scale: 1, seconds: 1 }).done;
  load = startPgbench(cluster, { clients: 1, seconds: 3600 });
  const root = await tmpDir('fault-corruption');
  stash = await tmpDir('fault-corruption-stash');
  // throttled, so the write load spreads the WAL over many pages, and a segment switch mid-copy makes the range
  // span two segments (with an XLOG_SWITCH record and the unused rest of the first segment in between)
  const kinds = [
    { name: 'plain -X stream', format: 'plain', args: ['-F', 'p', '-X', 'stream'] },
    { name: 'tar -X stream', format: 'tar', args: ['-F', 't', '-X', 'stream'] },
    { name: 'tar -X fetch', format: 'tar', args: ['-F', 't', '-X', 'fetch'] },
  ] as const;
  for (const kind of kinds) {
    const dir = join(root, kind.name.replaceAll(' ', ''));
    const backup = startCli(['backup', ...serverArgs(cluster), '-D', dir, ...kind.args, '-c', 'fast', '-r', '16M']);
    await waitForPhase(cluster, 'streaming database files');
    await psql(cluster, 'SELECT pg_switch_wal()');
    const result = await backup.result;
    assert.equal(result.status, 0, result.stderr);
    await verifyBackup(cluster, dir);
    backups.push(await studyBackup(kind.name, dir, kind.format));
  }
  await load.stop();
});

after(async () => {
  await load?.stop();
  await cluster?.stopAndRemove();
});

interface VerifyJson {
  readonly ok: boolean;
  readonly problems: Array<{ code: string; path?: string; message: string }>;
}

test('damaged backups: verify fails for every change that matters and names the file', { skip, timeout: trials(30) * 30_000 }, async (t) => {
  for (const backup of backups) {
    t.diagnostic(`${backup.name}: ${backup.files.size} files, WAL ${backup.wal.segments.join(', ')}`);
  }
  await tally.run(t, 'corruption', trials(30), async ({ index, dice, describe, note }) => {
    const backup = backups[index % backups.length] as BackupUnderTest;
    const change = chooseChange(backup, dice);
    describe(`${backup.name}: ${change.text}`);
    const undo = await applyDamage(change.damage, stash, index);
    let result;
    const startedMs = Date.now();
    try {
      result = await runCli(['verify', backup.dir, '--json']);
      note(`verify ran ${Date.now() - startedMs} ms`);
    } finally {
      await undo();
    }
    assert.ok(result.status === 0 || result.status === 1, `verify exit status ${result.status ?? result.signal}: ${result.stderr}`);
    assert.doesNotMatch(result.stderr, /internal error/, result.stderr);
    let report: VerifyJson | null = null;
    try {
      report = JSON.parse(result.stdout) as VerifyJson;
    } catch {
      // an error before any report (e.g. no manifest at all) is one stderr line
    }
    const said = report === null ? [result.stderr] : report.problems.map((problem) => `${problem.path ?? ''} ${problem.message}`);
    note(`${said.length} problem(s); first: ${(said[0] ?? 'none').trim().slice(0, 160)}`);
    if (!change.matters) return result.status === 0 ? 'irrelevant change, verify passed' : 'irrelevant change, verify failed';
    assert.equal(result.status, 1, `verify passed a change that matters: ${change.text}\n${result.stdout}`);
    assert.ok(report === null || !report.ok, 'the report says the backup is not whole');
    assert.ok(said.some((text) => change.names.some((name) => text.includes(name))),
      `verify does not name ${change.names.slice(0, 5).join(' or ')}${change.names.length > 5 ? ' ...' : ''}: ${said.slice(0, 5).join(' | ')}`);
    return 'caught, file named';
  });
  for (const backup of backups) {
    const intact = await runCli(['verify', backup.dir]);
    assert.equal(intact.status, 0, `${backup.name} after the trials, every change undone: ${intact.stderr}`);
  }
});

test('fault counts', { skip }, (t) => {
  tally.print(t);
});
