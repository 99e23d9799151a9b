/**
 * `restore` against real backups from the real pg_basebackup 15, started with the real postgres 15: plain, tar.gz,
 * tar.lz4 and server-compressed tar.zst backups with a tablespace relocated by -T; refusals (non-empty target, tablespace onto the backup's own
 * copy, no backup_manifest, a damaged file); point-in-time recovery to an LSN between two commits, from a WAL
 * archive and from the backup's own (staged) WAL; and a standby that follows its primary through a slot.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { cp, lstat, open, readFile, readdir, readlink, rm, stat } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { installFor, LocalCluster, majorMatrix, psql, startCluster, tmpDir, type TestCluster } from '../harness.ts';
import { basebackup } from '../verify/tools.ts';
import { runCommand } from './cli-runner.ts';

const skip = majorMatrix().find((entry) => entry.major === 15)?.skip ?? 'PostgreSQL 15 is not installed';

let primary: TestCluster;
let work: string;
let archive: string;
let tablespace: string;
let plainTablespaceCopy: string;
/** LSNs taken right after the commits of rows 1, 2 and 3 of table "pitr". */
const commitLsns: string[] = [];
const started: LocalCluster[] = [];

before(async () => {
  if (skip !== false) return;
  archive = await tmpDir('restore-archive');
  primary = await startCluster({
    major: 15,
    settings: { archive_mode: 'on', archive_command: `test ! -f '${archive}/%f' && cp '%p' '${archive}/%f'`, wal_keep_size: '256MB' },
  });
  work = await tmpDir('restore-work');
  tablespace = await tmpDir('restore-ts');
  plainTablespaceCopy = join(work, 'plain-ts');
  await psql(primary, 'create table t as select g from generate_series(1, 100) g');
  await psql(primary, `create tablespace ts location '${tablespace}'`);
  await psql(primary, 'create table in_ts tablespace ts as select g from generate_series(1, 50) g');
  await psql(primary, 'create table pitr (id int primary key)');
  await basebackup(primary, join(work, 'plain'), ['-X', 'stream', '-T', `${tablespace}=${plainTablespaceCopy}`]);
  await basebackup(primary, join(work, 'tar'), ['-X', 'stream', '-Ft', '-z']);
  await basebackup(primary, join(work, 'tar-lz4'), ['-X', 'fetch', '-Ft', '-Z', 'lz4']);
  await basebackup(primary, join(work, 'tar-zstd'), ['-X', 'fetch', '-Ft', '-Z', 'server-zstd']);
  for (const id of [1, 2, 3]) {
    await psql(primary, `insert into pitr values (${id})`);
    const [[lsn] = []] = await psql(primary, 'select pg_current_wal_lsn()');
    commitLsns.push(lsn as string);
  }
  const [[segment] = []] = await psql(primary, 'select pg_walfile_name(pg_switch_wal())');
  await waitFor(async () => existsSync(join(archive, segment as string)), 'the segment holding the rows to be archived');
});

after(async () => {
  if (skip !== false) return;
  for (const cluster of started) await cluster.stop('immediate');
  await primary.stopAndRemove();
});

async function waitFor(condition: () => Promise<boolean>, what: string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(100);
  }
}

/**
 * Restored copies get --no-archive: with the primary's archive_command they would archive their own WAL (and, once
 * promoted, a new timeline's history) into the primary's archive, where a later PITR restore with the default
 * recovery_target_timeline = latest would follow that foreign timeline.
 */
async function restore(args: string[]): Promise<{ stdout: string; stderr: string }> {
  const result = await runCommand(['restore', ...args]);
  assert.equal(result.status, 0, `${result.stdout}\n${result.stderr}`);
  return result;
}

async function startRestored(dataDir: string): Promise<LocalCluster> {
  const cluster = LocalCluster.attach({ install: installFor(15) as NonNullable<ReturnType<typeof installFor>>, dataDir });
  started.push(cluster);
  await cluster.start({ timeoutMs: 60_000 });
  return cluster;
}

/** Hot standby opens read-only connections at consistency; a targeted recovery is over once it has promoted. */
async function waitForPromotion(cluster: LocalCluster): Promise<void> {
  await waitFor(async () => (await cluster.sql('select pg_is_in_recovery()'))[0]?.[0] === 'f', 'promotion at the recovery target');
}

async function count(cluster: LocalCluster, table: string): Promise<number> {
  const [[value] = []] = await cluster.sql(`select count(*) from ${table}`);
  return Number(value);
}

test('a plain backup restores with data directory modes and a relocated tablespace, and starts', { skip }, async () => {
  const target = join(work, 'r-plain');
  const newTablespace = join(work, 'r-plain-ts');
  const { stdout } = await restore([join(work, 'plain'), '-D', target, '-T', `${plainTablespaceCopy}=${newTablespace}`, '--owner', 'postgres', '--no-archive']);
  assert.match(stdout, /restored plain backup .* \(PostgreSQL 15, start [0-9A-F]+\/[0-9A-F]+ on timeline 1\)/);
  assert.equal((await stat(target)).mode & 0o777, 0o700);
  assert.equal((await stat(join(target, 'PG_VERSION'))).mode & 0o777, 0o600);
  assert.equal((await stat(join(target, 'base'))).mode & 0o777, 0o700);
  assert.equal(existsSync(join(target, 'backup_manifest')), false, 'backup_manifest describes the backup, not the new cluster');
  const [oid] = await readdir(join(target, 'pg_tblspc'));
  assert.equal(await readlink(join(target, 'pg_tblspc', oid as string)), newTablespace);
  const cluster = await startRestored(target);
  assert.equal(await count(cluster, 't'), 100);
  assert.equal(await count(cluster, 'in_ts'), 50);
  await cluster.stop();
});

test('a tar.gz backup restores: tablespace archive into its -T location, links instead of tablespace_map', { skip }, async () => {
  const target = join(work, 'r-tar');
  const newTablespace = join(work, 'r-tar-ts');
  const { stdout } = await restore([join(work, 'tar'), '-D', target, '-T', `${tablespace}=${newTablespace}`, '--owner', 'postgres', '--no-archive', '--json']);
  const summary = JSON.parse(stdout) as { format: string; major: number; tablespaces: Array<{ from: string; to: string }>; signalFile: unknown };
  assert.equal(summary.format, 'tar');
  assert.equal(summary.major, 15);
  assert.deepEqual(summary.tablespaces.map(({ from, to }) => [from, to]), [[tablespace, newTablespace]]);
  assert.equal(summary.signalFile, null);
  assert.equal(existsSync(join(target, 'tablespace_map')), false);
  const [oid] = await readdir(join(target, 'pg_tblspc'));
  assert.ok((await lstat(join(target, 'pg_tblspc', oid as string))).isSymbolicLink());
  assert.ok((await readdir(join(target, 'pg_wal'))).some((name) => /^[0-9A-F]{24}$/.test(name)), 'pg_wal.tar.gz extracted into pg_wal');
  const cluster = await startRestored(target);
  assert.equal(await count(cluster, 't'), 100);
  assert.equal(await count(cluster, 'in_ts'), 50);
  await cluster.stop();
});

test('lz4 (client) and zstd (server) compressed tar backups with WAL inside base.tar restore and start', { skip }, async () => {
  for (const name of ['tar-lz4', 'tar-zstd']) {
    const suffix = name === 'tar-lz4' ? '.tar.lz4' : '.tar.zst';
    assert.ok((await readdir(join(work, name))).includes(`base${suffix}`), `${name} holds base${suffix}`);
    const target = join(work, `r-${name}`);
    await restore([join(work, name), '-D', target, '-T', `${tablespace}=${target}-ts`, '--owner', 'postgres', '--no-archive']);
    const cluster = await startRestored(target);
    assert.equal(await count(cluster, 't'), 100, name);
    assert.equal(await count(cluster, 'in_ts'), 50, name);
    await cluster.stop();
  }
});

test('refuses a non-empty target and a tablespace that would land on the backup\'s own copy', { skip }, async () => {
  const busy = join(work, 'busy');
  await cp(join(work, 'tar', 'backup_manifest'), join(busy, 'something'), { recursive: true });
  const notEmpty = await runCommand(['restore', join(work, 'tar'), '-D', busy]);
  assert.equal(notEmpty.status, 1);
  assert.match(notEmpty.stderr, /pgconvoy: error: directory ".*busy" exists but is not empty/);
  assert.deepEqual(await readdir(busy), ['something']);

  const target = join(work, 'r-no-mapping');
  const onCopy = await runCommand(['restore', join(work, 'plain'), '-D', target]);
  assert.equal(onCopy.status, 1);
  assert.match(onCopy.stderr, /tablespace directory ".*plain-ts" exists but is not empty/);
  assert.match(onCopy.stderr, /hint: .*-T OLDDIR=NEWDIR/);
  assert.equal(existsSync(target), false, 'the target created before the refusal is removed again');
});

test('refuses a backup without backup_manifest and a damaged one, naming the problem, before writing', { skip }, async () => {
  const unfinished = join(work, 'unfinished');
  await cp(join(work, 'tar'), unfinished, { recursive: true });
  await rm(join(unfinished, 'backup_manifest'));
  const noManifest = await runCommand(['restore', unfinished, '-D', join(work, 'r-unfinished')]);
  assert.equal(noManifest.status, 1);
  assert.match(noManifest.stderr, /backup ".*unfinished" has no backup_manifest/);
  assert.equal(existsSync(join(work, 'r-unfinished')), false);

  const damaged = join(work, 'damaged');
  await cp(join(work, 'plain'), damaged, { recursive: true });
  const [[relation] = []] = await psql(primary, "select pg_relation_filepath('t')");
  const handle = await open(join(damaged, relation as string), 'r+');
  const byte = Buffer.alloc(1);
  await handle.read(byte, 0, 1, 4000);
  await handle.write(Buffer.from([byte[0] as number ^ 0xff]), 0, 1, 4000);
  await handle.close();
  const result = await runCommand(['restore', damaged, '-D', join(work, 'r-damaged'), '-T', `${plainTablespaceCopy}=${join(work, 'r-damaged-ts')}`]);
  assert.equal(result.status, 1);
  assert.match(result.stderr, new RegExp(`failed verification: checksum mismatch for file "${relation}"`));
  assert.equal(existsSync(join(work, 'r-damaged')), false);
});

test('PITR to an LSN between two commits, WAL from the archive: exactly the rows before it', { skip }, async () => {
  for (const [index, expected] of [[0, [1]], [1, [1, 2]]] as const) {
    const target = join(work, `r-pitr-${index}`);
    const { stdout } = await restore([
      join(work, 'plain'), '-D', target, '-T', `${plainTablespaceCopy}=${target}-ts`, '--owner', 'postgres', '--no-archive',
      '--target-lsn', commitLsns[index] as string, '--restore-command', `cp '${archive}/%f' '%p'`,
    ]);
    assert.match(stdout, /recovery: +recovery\.signal/);
    assert.match(stdout, new RegExp(`recovery_target_lsn = '${commitLsns[index]}'`));
    const cluster = await startRestored(target);
    await waitForPromotion(cluster);
    const rows = (await cluster.sql('select id from pitr order by id')).map(([id]) => Number(id));
    assert.deepEqual(rows, expected, `target ${commitLsns[index]}`);
    await cluster.stop();
  }
});

test('a target without --restore-command replays the backup\'s own WAL, staged in pg_wal_restore', { skip }, async () => {
  const target = join(work, 'r-immediate');
  const { stdout } = await restore([join(work, 'tar'), '-D', target, '-T', `${tablespace}=${target}-ts`, '--owner', 'postgres', '--no-archive', '--target-immediate']);
  assert.match(stdout, /WAL: +\d+ files moved to ".*pg_wal_restore"/);
  assert.match(await readFile(join(target, 'postgresql.auto.conf'), 'utf8'), /restore_command = 'cp "pg_wal_restore\/%f" "%p"'\nrecovery_target = 'immediate'\nrecovery_target_action = 'promote'\n/);
  assert.equal((await readdir(join(target, 'pg_wal'))).some((name) => /^[0-9A-F]{24}$/.test(name)), false);
  const cluster = await startRestored(target);
  await waitForPromotion(cluster);
  assert.equal(await count(cluster, 't'), 100);
  const [[timeline] = []] = await cluster.sql('select timeline_id from pg_control_checkpoint()');
  assert.equal(timeline, '2', 'promotion after targeted recovery starts a new timeline');
  await cluster.stop();
});

test('--standby follows its primary through a replication slot', { skip }, async () => {
  await psql(primary, "select pg_create_physical_replication_slot('restore_standby')");
  const target = join(work, 'r-standby');
  const conninfo = `host=127.0.0.1 port=${primary.port} user=postgres application_name=restored_standby`;
  const { stdout } = await restore([
    join(work, 'plain'), '-D', target, '-T', `${plainTablespaceCopy}=${target}-ts`, '--owner', 'postgres', '--no-archive',
    '--standby', '--primary-conninfo', conninfo, '--slot', 'restore_standby',
  ]);
  assert.match(stdout, /recovery: +standby\.signal/);
  assert.match(stdout, /primary_slot_name = 'restore_standby'/);
  const standby = await startRestored(target);
  assert.deepEqual(await standby.sql('select pg_is_in_recovery()'), [['t']]);
  await psql(primary, 'create table after_restore as select 42 as answer');
  await waitFor(async () => (await standby.sql("select count(*) from pg_class where relname = 'after_restore'"))[0]?.[0] === '1', 'the new table on the standby');
  assert.deepEqual(await standby.sql('select answer from after_restore'), [['42']]);
  assert.deepEqual(await psql(primary, "select active from pg_replication_slots where slot_name = 'restore_standby'"), [['t']]);
  await standby.stop();
});

test('drill --restore-command replays archived WAL past the end of the backup, then checks the later rows', { skip }, async () => {
  const result = await runCommand(['drill', join(work, 'plain'), '--json', '--restore-command', `cp '${archive}/%f' '%p'`, '--check', 'select count(*) = 3 from pitr']);
  assert.equal(result.status, 0, `${result.stdout}\n${result.stderr}`);
  const report = JSON.parse(result.stdout) as { ok: boolean; recovery: { timeline: number; walReplayedBytes: number }; checks: Array<{ ok: boolean }> };
  assert.equal(report.ok, true);
  assert.equal(report.recovery.timeline, 2, 'archive recovery ends with promotion to a new timeline');
  assert.ok(report.recovery.walReplayedBytes > 16 << 20, 'more than the backup\'s own segment was replayed');
});
