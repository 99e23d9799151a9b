/**
 * The repository against one real PostgreSQL 15 cluster: `archive` under pgbench load (segments byte-identical to
 * the cluster's own pg_wal copies, no gap), killed with SIGKILL and restarted (still no gap), refusing another
 * cluster's repository and a second archive on the same slot, and `--synchronous` as a synchronous standby: a commit
 * waits while the archive is stopped with SIGSTOP and completes after SIGCONT. Backups into the repository: three
 * at once under load beside archive, all in the catalog; a PITR restore through `archive-get` to a time between two
 * batches of marked rows, started on a real postgres; a backup killed with SIGKILL never in the catalog; then
 * `expire --keep 1` keeps the newest backup and its WAL, which restores to the end of the archive with every row.
 * `archive -Z` with each method: compressed segments hold the cluster's bytes, and a restore replays them.
 * `drill --repo` on a repository written by archive + backup --repo: to the end of the archive (every marked row),
 * and to a time between two batches of marked rows (only the first batch); a directory with --repo is refused.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { chownForServer } from '../../../src/cluster/os-user.ts';
import { LocalStorage } from '../../../src/repository/storage.ts';
import { readWalListing } from '../../../src/repository/wal-catalog.ts';
import { readArchived } from '../../../src/repository/wal-objects.ts';
import type { RepositoryInfo } from '../../../src/repository/repository-info.ts';
import {
  checkPgbenchInvariant, installFor, psql, REPO_ROOT, restoreAndStart, runCli, startCluster, startPgbench, tmpDir, type PgInstall, type TestCluster,
} from '../harness.ts';

const SEGMENT_BYTES = 16 * 1024 * 1024;
const skip = installFor(15) === null ? 'PostgreSQL 15 is not installed' : false;
let cluster: TestCluster;

before(async () => {
  if (skip !== false) return;
  cluster = await startCluster({ major: 15, settings: { wal_sender_timeout: '60s' } });
});
after(async () => {
  await cluster?.stopAndRemove();
});

interface ArchiveRun {
  readonly child: ChildProcess;
  readonly exited: Promise<{ status: number | null; signal: NodeJS.Signals | null }>;
  stderr(): string;
}

const running = new Set<ChildProcess>();
after(() => {
  for (const child of running) child.kill('SIGKILL');
});

function conninfo(applicationName: string): string {
  return `host=${cluster.host} port=${cluster.port} user=postgres application_name=${applicationName}`;
}

function startArchive(args: string[]): ArchiveRun {
  return startCli(['archive', ...args]);
}

function startCli(args: string[]): ArchiveRun {
  const env = { ...process.env };
  delete env['NODE_TEST_CONTEXT'];
  const child = spawn(process.execPath, ['--import', import.meta.resolve('tsx'), `${REPO_ROOT}src/cli/main.ts`, ...args], {
    cwd: REPO_ROOT, env, stdio: ['ignore', 'ignore', 'pipe'],
  });
  running.add(child);
  let stderr = '';
  child.stderr?.setEncoding('utf8').on('data', (text: string) => (stderr += text));
  const exited = new Promise<{ status: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once('close', (status, signal) => {
      running.delete(child);
      resolve({ status, signal });
    });
  });
  return { child, exited, stderr: () => stderr };
}

async function waitFor(what: string, check: () => Promise<boolean> | boolean, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(100);
  }
}

async function waitStreaming(run: ArchiveRun, applicationName: string): Promise<void> {
  await waitFor(`archive "${applicationName}" streaming (stderr: ${run.stderr()})`, async () => {
    assert.equal(run.child.exitCode, null, `archive exited early: ${run.stderr()}`);
    const rows = await psql(cluster, `SELECT state FROM pg_stat_replication WHERE application_name = '${applicationName}'`);
    return rows[0]?.[0] === 'streaming';
  });
}

/** Completes the current segment and waits until the archive reported it flushed. */
async function switchAndWaitArchived(applicationName: string): Promise<void> {
  const [[lsn] = []] = await psql(cluster, 'SELECT pg_switch_wal()');
  await waitFor(`archive "${applicationName}" to flush ${lsn}`, async () => {
    const rows = await psql(cluster, `SELECT flush_lsn >= '${lsn}' FROM pg_stat_replication WHERE application_name = '${applicationName}'`);
    return rows[0]?.[0] === 't';
  });
}

async function stopArchive(run: ArchiveRun): Promise<void> {
  run.child.kill('SIGTERM');
  const { status } = await run.exited;
  assert.equal(status, 0, `archive after SIGTERM: ${run.stderr()}`);
}

async function info(repo: string): Promise<{ status: number | null; info: RepositoryInfo }> {
  const result = await runCli(['info', '--repo', repo, '--json']);
  assert.equal(result.stderr, '');
  return { status: result.status, info: JSON.parse(result.stdout) as RepositoryInfo };
}

/** No gap from the first segment to the last (as info says), each segment equal to the cluster's copy while it has one. */
async function checkArchive(repo: string): Promise<{ segments: number; compared: number }> {
  const names = await readdir(join(repo, 'wal'));
  const listing = readWalListing(names, SEGMENT_BYTES);
  const reported = await info(repo);
  assert.equal(reported.status, 0, `info on ${names.join(' ')}`);
  assert.deepEqual(reported.info.wal.gaps, []);
  assert.equal(reported.info.wal.segments, listing.segments.length);
  assert.equal(reported.info.wal.firstSegment, listing.segments[0]?.name);
  assert.equal(reported.info.wal.lastSegment, listing.segments.at(-1)?.name);
  let compared = 0;
  for (const segment of listing.segments) {
    const ours = await readArchived(new LocalStorage(repo), segment.name) ?? Buffer.alloc(0);
    assert.equal(ours.length, SEGMENT_BYTES, segment.name);
    const theirs = await readFile(join(cluster.dataDir, 'pg_wal', segment.name)).catch(() => null);
    if (theirs === null) continue;
    compared += 1;
    assert.ok(ours.equals(theirs), `${segment.name} differs from the cluster's pg_wal copy`);
  }
  for (const partial of listing.partials) {
    const ours = await readFile(join(repo, 'wal', `${partial.name}.partial`));
    const theirs = await readFile(join(cluster.dataDir, 'pg_wal', partial.name)).catch(() => null);
    if (theirs !== null) assert.ok(ours.equals(theirs.subarray(0, ours.length)), `${partial.name}.partial is not a prefix of the cluster's copy`);
  }
  return { segments: listing.segments.length, compared };
}

test('archive under pgbench load: complete segments identical to pg_wal, no gap, SIGTERM exits cleanly', { skip }, async () => {
  const repo = await tmpDir('repo-load');
  const run = startArchive(['--repo', repo, '-d', conninfo('archive_load'), '--slot', 'archive_load', '--create-slot']);
  await waitStreaming(run, 'archive_load');
  await startPgbench(cluster, { seconds: 12, clients: 2 }).done;
  await switchAndWaitArchived('archive_load');
  await stopArchive(run);
  const { segments, compared } = await checkArchive(repo);
  assert.ok(segments >= 2, `${segments} segments archived`);
  assert.ok(compared >= 1, 'at least one segment compared with pg_wal');
  const identity = JSON.parse(await readFile(join(repo, 'repository.json'), 'utf8')) as { systemId: string };
  const [[systemId] = []] = await psql(cluster, 'SELECT system_identifier FROM pg_control_system()');
  assert.equal(identity.systemId, systemId);

  // A second archive on the slot while the first streams is refused; so is this repository for another cluster.
  const first = startArchive(['--repo', repo, '-d', conninfo('archive_load'), '--slot', 'archive_load']);
  await waitStreaming(first, 'archive_load');
  const second = startArchive(['--repo', repo, '-d', conninfo('archive_second'), '--slot', 'archive_load']);
  const refused = await second.exited;
  assert.equal(refused.status, 1, second.stderr());
  assert.match(second.stderr(), /replication slot "archive_load" is already in use/);
  await stopArchive(first);
  await checkArchive(repo);
  await psql(cluster, "SELECT pg_drop_replication_slot('archive_load')");
});

test('a repository of another cluster is refused before anything is written', { skip }, async () => {
  const repo = await tmpDir('repo-other');
  await writeFile(join(repo, 'repository.json'), JSON.stringify({ version: 1, systemId: '1234567890123456789', walSegmentBytes: SEGMENT_BYTES }));
  const run = startArchive(['--repo', repo, '-d', conninfo('archive_other'), '--slot', 'archive_other', '--create-slot']);
  const { status } = await run.exited;
  assert.equal(status, 1, run.stderr());
  assert.match(run.stderr(), /belongs to another cluster/);
  assert.deepEqual(await readdir(repo), ['repository.json']);
  assert.deepEqual(await psql(cluster, "SELECT 1 FROM pg_replication_slots WHERE slot_name = 'archive_other'"), []);
  const backup = await runCli(['backup', '--repo', repo, '-d', conninfo('backup_other'), '-c', 'fast']);
  assert.equal(backup.status, 1, backup.stderr);
  assert.match(backup.stderr, /belongs to another cluster/);
  assert.deepEqual(await readdir(repo), ['repository.json']);
});

test('kill -9 of archive under load, then restart: no gap, segments identical, a restore to the end has every committed row', { skip }, async () => {
  const repo = await tmpDir('repo-kill');
  const args = ['--repo', repo, '-d', conninfo('archive_kill'), '--slot', 'archive_kill', '--create-slot'];
  await psql(cluster, 'CREATE TABLE kill_marks (id int)');
  const first = startArchive(args);
  await waitStreaming(first, 'archive_kill');
  const backup = await runCli(['backup', '--repo', repo, '-d', conninfo('backup_kill'), '-c', 'fast', '--json'], { timeoutMs: 180_000 });
  assert.equal(backup.status, 0, backup.stderr);
  const backupId = (JSON.parse(backup.stdout) as { id: string }).id;
  const load = startPgbench(cluster, { seconds: 25, clients: 2 });
  // rows committed while an archive runs and right after it is killed, before the next one starts: the slot
  // keeps that WAL for the restart
  let marks = 0;
  let run = first;
  for (const pauseMs of [1500, 4000, 2500]) {
    await sleep(pauseMs);
    await psql(cluster, `INSERT INTO kill_marks SELECT g FROM generate_series(${marks + 1}, ${marks + 50}) g`);
    run.child.kill('SIGKILL');
    await run.exited;
    await psql(cluster, `INSERT INTO kill_marks SELECT g FROM generate_series(${marks + 51}, ${marks + 100}) g`);
    marks += 100;
    run = startArchive(args);
    await waitStreaming(run, 'archive_kill');
  }
  await load.done;
  await switchAndWaitArchived('archive_kill');
  await stopArchive(run);
  const { segments } = await checkArchive(repo);
  assert.ok(segments >= 3, `${segments} segments archived`);
  await psql(cluster, "SELECT pg_drop_replication_slot('archive_kill')");
  await chownForServer(repo, { recursive: true }); // archive-get runs as the postgres OS user
  await checkRestoreToEnd(repo, backupId, installFor(15) as PgInstall, { query: 'SELECT count(*), count(DISTINCT id) FROM kill_marks', rows: [[String(marks), String(marks)]] });

  // info finds a segment that goes missing, and says so with its exit status
  const listing = readWalListing(await readdir(join(repo, 'wal')), SEGMENT_BYTES);
  const middle = listing.segments[1]?.name ?? '';
  await rm(join(repo, 'wal', middle));
  const damaged = await info(repo);
  assert.equal(damaged.status, 1);
  assert.deepEqual(damaged.info.wal.gaps, [{ fromName: middle, toName: middle, segments: 1 }]);
});

test('--synchronous as a synchronous standby: a commit waits while archive is stopped (SIGSTOP), completes after SIGCONT', { skip }, async () => {
  const repo = await tmpDir('repo-sync');
  await psql(cluster, 'CREATE TABLE sync_marks (id int)');
  const run = startArchive(['--repo', repo, '-d', conninfo('archive_sync'), '--slot', 'archive_sync', '--create-slot', '--synchronous']);
  await waitStreaming(run, 'archive_sync');
  await psql(cluster, "ALTER SYSTEM SET synchronous_standby_names = 'archive_sync'");
  await psql(cluster, 'SELECT pg_reload_conf()');
  try {
    await waitFor('sync_state = sync', async () =>
      (await psql(cluster, "SELECT sync_state FROM pg_stat_replication WHERE application_name = 'archive_sync'"))[0]?.[0] === 'sync');
    await psql(cluster, 'INSERT INTO sync_marks VALUES (1)'); // returns: the archive acknowledges as it fsyncs

    run.child.kill('SIGSTOP');
    let isCommitted = false;
    const commit = psql(cluster, 'INSERT INTO sync_marks VALUES (2)').then(() => { isCommitted = true; });
    await waitFor('the commit to wait for the synchronous standby', async () =>
      (await psql(cluster, "SELECT count(*) FROM pg_stat_activity WHERE wait_event = 'SyncRep'"))[0]?.[0] === '1');
    await sleep(3000);
    assert.equal(isCommitted, false, 'the commit returned while the synchronous archive was stopped');
    run.child.kill('SIGCONT');
    await commit;
    assert.equal(isCommitted, true);
  } finally {
    run.child.kill('SIGCONT');
    await psql(cluster, 'ALTER SYSTEM RESET synchronous_standby_names');
    await psql(cluster, 'SELECT pg_reload_conf()');
  }
  await stopArchive(run);
  await checkArchive(repo);
  await psql(cluster, "SELECT pg_drop_replication_slot('archive_sync')");
});

test('three backups at once into the repository beside archive under load; PITR through archive-get; a killed backup never listed', { skip }, async () => {
  const repo = await tmpDir('repo-backups');
  const archive = startArchive(['--repo', repo, '-d', conninfo('archive_backups'), '--slot', 'archive_backups', '--create-slot']);
  await waitStreaming(archive, 'archive_backups');
  const load = startPgbench(cluster, { seconds: 15, clients: 2 });
  const backupArgs = (label: string): string[] => ['backup', '--repo', repo, '-d', conninfo(label), '-c', 'fast', '-l', label, '--json'];
  const results = await Promise.all(['one', 'two', 'three'].map((label) => runCli(backupArgs(label), { timeoutMs: 180_000 })));
  for (const result of results) assert.equal(result.status, 0, result.stderr);
  const ids = results.map((result) => (JSON.parse(result.stdout) as { id: string }).id);
  assert.equal(new Set(ids).size, 3);
  await load.done;

  // Marked rows: batch 1, the target time, batch 2; then the WAL after batch 2 is archived so recovery sees past T.
  await psql(cluster, 'CREATE TABLE pitr_marks (id int, batch int)');
  await psql(cluster, 'INSERT INTO pitr_marks SELECT g, 1 FROM generate_series(1, 10) g');
  await sleep(1200);
  const [[targetTime] = []] = await psql(cluster, "SELECT to_char(clock_timestamp() AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.US') || '+00'");
  await sleep(1200);
  await psql(cluster, 'INSERT INTO pitr_marks SELECT g, 2 FROM generate_series(11, 20) g');
  await switchAndWaitArchived('archive_backups');

  const listed = await info(repo);
  assert.equal(listed.status, 0);
  assert.deepEqual(listed.info.backups.map((backup) => backup.id), [...ids].sort());
  assert.deepEqual(listed.info.backups.map((backup) => backup.label).sort(), ['one', 'three', 'two']);
  for (const backup of listed.info.backups) {
    assert.equal(backup.status, 'complete');
    assert.equal(backup.walCovered, true, `${backup.id} needs ${backup.walFrom}..${backup.walTo}`);
    assert.ok((backup.sizeBytes ?? 0) > 0);
  }
  assert.notEqual(listed.info.restorable, null);
  assert.deepEqual(await readdir(join(repo, 'staging')), []);

  // A backup killed with SIGKILL while it copies (rate-limited to stay in that phase) never enters the catalog.
  const killed = startCli(['backup', '--repo', repo, '-d', conninfo('killed'), '-c', 'fast', '-r', '32k', '-l', 'killed']);
  await waitFor('the killed backup to start copying', async () => {
    const staging = (await info(repo)).info.running;
    return staging.some((running) => running.startLsn !== null);
  });
  killed.child.kill('SIGKILL');
  await killed.exited;
  const afterKill = await info(repo);
  assert.equal(afterKill.info.backups.length, 3);
  await waitFor('the killed backup to be reported abandoned', async () => (await info(repo)).info.running.every((running) => running.abandoned));

  await stopArchive(archive);
  await psql(cluster, "SELECT pg_drop_replication_slot('archive_backups')");
  await chownForServer(repo, { recursive: true }); // archive-get runs as the postgres OS user
  await checkPitr(repo, targetTime as string, installFor(15) as PgInstall);

  // expire --keep 1: the newest backup stays, with the WAL from its start segment on, and restores to the end.
  const walBefore = await readdir(join(repo, 'wal'));
  const dry = await runCli(['expire', '--repo', repo, '--keep', '1', '--dry-run']);
  assert.equal(dry.status, 0, dry.stderr);
  assert.match(dry.stdout, /^would remove backup /m);
  assert.deepEqual(await readdir(join(repo, 'wal')), walBefore);
  assert.equal((await info(repo)).info.backups.length, 3);
  const expired = await runCli(['expire', '--repo', repo, '--keep', '1', '--json']);
  assert.equal(expired.status, 0, expired.stderr);
  const newest = [...ids].sort().at(-1) as string;
  assert.deepEqual((JSON.parse(expired.stdout) as { keptBackups: string[] }).keptBackups, [newest]);
  const kept = await info(repo);
  assert.equal(kept.status, 0);
  assert.deepEqual(kept.info.backups.map((backup) => backup.id), [newest]);
  assert.deepEqual(kept.info.wal.gaps, []);
  assert.equal(kept.info.wal.firstSegment, kept.info.backups[0]?.walFrom);
  assert.equal(kept.info.backups[0]?.walCovered, true);
  assert.ok((await readdir(join(repo, 'wal'))).length < walBefore.length, 'expire removed WAL');
  await checkRestoreToEnd(repo, newest, installFor(15) as PgInstall,
    { query: 'SELECT batch, count(*) FROM pitr_marks GROUP BY batch ORDER BY batch', rows: [['1', '10'], ['2', '10']] });
});

/** Without a target: recovery replays the whole archive, promotes, and every committed row is there. */
async function checkRestoreToEnd(
  repo: string, backupId: string, install: PgInstall, marks: { readonly query: string; readonly rows: string[][] },
): Promise<void> {
  const dataDir = join(await tmpDir('restore-end'), 'data');
  const restored = await runCli(['restore', '--repo', repo, '-D', dataDir, '--json']);
  assert.equal(restored.status, 0, restored.stderr);
  assert.equal((JSON.parse(restored.stdout) as { repositoryBackup: string }).repositoryBackup, backupId);
  const server = await restoreAndStart(dataDir, install);
  try {
    await waitFor('recovery to the end of the archive', async () => (await psql(server, 'SELECT pg_is_in_recovery()'))[0]?.[0] === 'f', 120_000)
      .catch(async (error: unknown) => { throw new Error(`${String(error)}\nserver log:\n${await server.logText()}`); });
    assert.deepEqual(await psql(server, marks.query), marks.rows);
    await checkPgbenchInvariant(server);
  } finally {
    await server.stop('immediate');
  }
}

test('archive -Z gzip, lz4 and zstd:3 at once under load: compressed segments hold pg_wal\'s bytes; a restore through archive-get starts', { skip }, async () => {
  const methods = [['gzip', '.gz'], ['lz4', '.lz4'], ['zstd:3', '.zst']] as const;
  const runs = await Promise.all(methods.map(async ([method], index) => {
    const repo = await tmpDir(`repo-z${index}`);
    const name = `archive_z${index}`;
    const run = startArchive(['--repo', repo, '-d', conninfo(name), '--slot', name, '--create-slot', '-Z', method]);
    await waitStreaming(run, name);
    return { repo, name, run };
  }));
  const zstdRepo = runs[2]?.repo as string;
  const load = startPgbench(cluster, { seconds: 10, clients: 2 });
  const backup = await runCli(['backup', '--repo', zstdRepo, '-d', conninfo('backup_z'), '-c', 'fast', '--json'], { timeoutMs: 180_000 });
  assert.equal(backup.status, 0, backup.stderr);
  await load.done;
  await psql(cluster, 'CREATE TABLE z_marks AS SELECT g AS id FROM generate_series(1, 10) g');
  for (const { repo, name, run } of runs) {
    await switchAndWaitArchived(name);
    await stopArchive(run);
    await psql(cluster, `SELECT pg_drop_replication_slot('${name}')`);
    const { segments, compared } = await checkArchive(repo);
    assert.ok(segments >= 2 && compared >= 1, `${repo}: ${segments} segments, ${compared} compared`);
  }
  for (const [index, [, suffix]] of methods.entries()) {
    const names = (await readdir(join(runs[index]?.repo as string, 'wal'))).filter((file) => !file.endsWith('.partial') && !file.endsWith('.history'));
    assert.ok(names.length > 0 && names.every((file) => file.endsWith(suffix)), names.join(' '));
  }
  await chownForServer(zstdRepo, { recursive: true });
  await checkRestoreToEnd(zstdRepo, (JSON.parse(backup.stdout) as { id: string }).id, installFor(15) as PgInstall,
    { query: 'SELECT count(*) FROM z_marks', rows: [['10']] });
});

async function checkPitr(repo: string, targetTime: string, install: PgInstall): Promise<void> {
  const dataDir = join(await tmpDir('pitr'), 'data');
  const restored = await runCli(['restore', '--repo', repo, '-D', dataDir, '--target-time', targetTime, '--json']);
  assert.equal(restored.status, 0, restored.stderr);
  const result = JSON.parse(restored.stdout) as { repositoryBackup: string; settings: Record<string, string> };
  assert.match(result.settings['restore_command'] ?? '', /archive-get --repo '.*' %f %p$/);
  const server = await restoreAndStart(dataDir, install);
  try {
    // Ready means consistent (hot standby); the target is reached, and the server promoted, only later.
    await waitFor(`recovery to reach ${targetTime}`, async () => (await psql(server, 'SELECT pg_is_in_recovery()'))[0]?.[0] === 'f', 120_000)
      .catch(async (error: unknown) => { throw new Error(`${String(error)}\nserver log:\n${await server.logText()}`); });
    assert.deepEqual(await psql(server, 'SELECT batch, count(*) FROM pitr_marks GROUP BY batch ORDER BY batch'), [['1', '10']]);
  } finally {
    await server.stop('immediate');
  }
}

test('drill --repo: to the end of the archive and to a target time, through archive-get; a backup directory with --repo is refused', { skip }, async () => {
  const repo = await tmpDir('repo-drill');
  const archive = startArchive(['--repo', repo, '-d', conninfo('archive_drill'), '--slot', 'archive_drill', '--create-slot']);
  await waitStreaming(archive, 'archive_drill');
  const load = startPgbench(cluster, { seconds: 4, clients: 2 });
  const backup = await runCli(['backup', '--repo', repo, '-d', conninfo('backup_drill'), '-c', 'fast', '--json'], { timeoutMs: 180_000 });
  assert.equal(backup.status, 0, backup.stderr);
  await load.done;
  await psql(cluster, 'CREATE TABLE drill_marks (id int, batch int)');
  await psql(cluster, 'INSERT INTO drill_marks SELECT g, 1 FROM generate_series(1, 10) g');
  await sleep(1200);
  const [[targetTime] = []] = await psql(cluster, "SELECT to_char(clock_timestamp() AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.US') || '+00'");
  await sleep(1200);
  await psql(cluster, 'INSERT INTO drill_marks SELECT g, 2 FROM generate_series(11, 20) g');
  await switchAndWaitArchived('archive_drill');
  await stopArchive(archive);
  await psql(cluster, "SELECT pg_drop_replication_slot('archive_drill')");
  await chownForServer(repo, { recursive: true }); // archive-get runs as the postgres OS user
  const backupId = (JSON.parse(backup.stdout) as { id: string }).id;

  const drill = async (args: string[]): Promise<{ ok: boolean; repositoryBackup: string; target: unknown }> => {
    const result = await runCli(['drill', '--repo', repo, '--json', ...args], { timeoutMs: 300_000 });
    assert.equal(result.status, 0, `${result.stdout}\n${result.stderr}`);
    const report = JSON.parse(result.stdout) as { ok: boolean; repositoryBackup: string; target: unknown };
    return { ok: report.ok, repositoryBackup: report.repositoryBackup, target: report.target };
  };
  const toEnd = await drill(['--check', 'SELECT count(*) FILTER (WHERE batch = 1) = 10 AND count(*) FILTER (WHERE batch = 2) = 10 FROM drill_marks',
    '--check', 'SELECT (SELECT sum(abalance) FROM pgbench_accounts) = (SELECT sum(bbalance) FROM pgbench_branches)']);
  assert.deepEqual(toEnd, { ok: true, repositoryBackup: backupId, target: null });
  const toTime = await drill(['--target-time', targetTime as string,
    '--check', 'SELECT count(*) FILTER (WHERE batch = 1) = 10 AND count(*) FILTER (WHERE batch = 2) = 0 FROM drill_marks']);
  assert.deepEqual(toTime, { ok: true, repositoryBackup: backupId, target: { kind: 'time', value: targetTime } });

  const both = await runCli(['drill', join(repo, 'backups'), '--repo', repo]);
  assert.equal(both.status, 1);
  assert.match(both.stderr, /a backup directory cannot be given with --repo/);
  const tooEarly = await runCli(['drill', '--repo', repo, '--target-time', '2000-01-01 00:00:00+00']);
  assert.equal(tooEarly.status, 1);
  assert.match(tooEarly.stderr, /no backup in repository ".*" ends before recovery target time/);
});
