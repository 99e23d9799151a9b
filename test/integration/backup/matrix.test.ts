/**
 * `pgconvoy backup` against real clusters of PostgreSQL 15 (Debian), 14 and 18 (npm), so both BASE_BACKUP wire
 * forms run for real. For each format and WAL method: the files pg_basebackup would write, modes 0700/0600,
 * the real pg_verifybackup where it applies, and a real postgres started on the restored copy that reaches
 * consistency and still has a row written before the backup.
 *
 * On 15 (with a tablespace) also: base.tar member for member against the real pg_basebackup -Ft (and the plain
 * tree against pg_basebackup -Fp), pg_basebackup's exclusions, -R (a restored copy really streams from the
 * primary), `-D -`, --json with two -D, -P without a terminal, server-side gzip/lz4/zstd, SHA256 manifests,
 * --waldir, and the server-side targets of -t (server:DIR, blackhole).
 *
 * Verification tools: pg_verifybackup 15 is the only one installed. It parses 15's WAL; for 14 it runs with -n
 * (pg_waldump 15 cannot read 14's WAL); 18's manifest (version 2) is beyond it, so 18 backups are judged by
 * `pgconvoy verify` instead and by the restored server.
 */
import { after, test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, readlink, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { chownForServer } from '../../../src/cluster/os-user.ts';
import { majorMatrix, psql, runCli, startCluster, tmpDir, type LocalCluster, type TestCluster } from '../harness.ts';
import { requireTool } from '../harness/psql.ts';
import {
  assertModes, assertOneError, connArgs, convoy, convoyOk, convoyToFile, pgVerify, restoreBackup, run, tarMembers, tarMemberText,
  verifybackupTool, walkTree, type TarMember,
} from './tools.ts';

type Format = 'plain' | 'tar';
type Wal = 'none' | 'fetch' | 'stream';

const MARKER = 'written before the backup';
const TS_MARKER = 'lives in a tablespace';

interface Fixture {
  readonly cluster: TestCluster;
  /** The 15 cluster's tablespace location and OID; null elsewhere. */
  readonly tablespace: { readonly dir: string; readonly oid: string } | null;
  /** Relation file names (base/<db>/<relfilenode>) of the unlogged table, 15 only. */
  readonly unlogged: string | null;
  readonly dbDir: string;
}

const fixtures = new Map<number, Promise<Fixture>>();

after(async () => {
  for (const fixture of fixtures.values()) await (await fixture.catch(() => null))?.cluster.stopAndRemove();
});

function fixture(major: number): Promise<Fixture> {
  let found = fixtures.get(major);
  if (found === undefined) {
    found = setUp(major);
    fixtures.set(major, found);
  }
  return found;
}

async function setUp(major: number): Promise<Fixture> {
  const cluster = await startCluster({ major });
  await psql(cluster, `create table marker (v text); insert into marker values ('${MARKER}')`);
  const [[dbOid] = []] = await psql(cluster, "select oid from pg_database where datname = 'postgres'");
  const dbDir = `base/${dbOid as string}`;
  if (major !== 15) return { cluster, tablespace: null, unlogged: null, dbDir };

  const tablespaceDir = await tmpDir('matrix-ts');
  await psql(cluster, `create tablespace ts location '${tablespaceDir}'`);
  await psql(cluster, `create table in_ts (v text) tablespace ts; insert into in_ts values ('${TS_MARKER}')`);
  const [[tsOid] = []] = await psql(cluster, "select oid from pg_tablespace where spcname = 'ts'");
  await psql(cluster, 'create unlogged table unlogged_t as select g from generate_series(1, 1000) g');
  const [[unlogged] = []] = await psql(cluster, "select pg_relation_filepath('unlogged_t')");
  // What pg_basebackup's TAP test plants: files a backup must leave out (postmaster.opts exists already).
  const planted = {
    'global/pg_internal.init.123': 'x',
    [`${dbDir}/t999_999`]: 'temp relation',
    [`${dbDir}/t9999_999.1`]: 'temp relation',
    [`${dbDir}/t999_9999_vm`]: 'temp relation',
    'postgresql.auto.conf.tmp': 'x',
    'current_logfiles.tmp': 'x',
    'backup_label': 'DONOTCOPY',
    'base/pgsql_tmp/pgsql_tmp999.0': 'spill',
  };
  for (const [path, content] of Object.entries(planted)) {
    const full = join(cluster.dataDir, path);
    await mkdir(join(full, '..'), { recursive: true });
    await writeFile(full, content, { mode: 0o600 });
    await chownForServer(full);
    await chownForServer(join(full, '..'));
  }
  return { cluster, tablespace: { dir: tablespaceDir, oid: tsOid as string }, unlogged: unlogged as string, dbDir };
}

const SUFFIX: Record<string, string> = { '-z': '.gz', 'server-gzip': '.gz', 'server-lz4': '.lz4', 'server-zstd': '.zst', 'zstd': '.zst', 'lz4': '.lz4' };

/** `-D` and, for plain format with a tablespace, the -T mapping into a directory next to it. */
async function target(f: Fixture, format: Format): Promise<{ dir: string; tsDir: string | null; args: string[] }> {
  const work = await tmpDir(`matrix-${f.cluster.major}`);
  const dir = join(work, 'backup');
  const tsDir = f.tablespace !== null && format === 'plain' ? join(work, 'ts') : null;
  const mapping = tsDir === null ? [] : ['-T', `${f.tablespace?.dir as string}=${tsDir}`];
  return { dir, tsDir, args: ['-D', dir, '-F', format, ...mapping] };
}

/** Where the real pg_verifybackup can judge this major's backups, and whether it can parse their WAL. */
async function verifyBackup(f: Fixture, dir: string, format: Format, wal: Wal): Promise<void> {
  const { cluster } = f;
  if (cluster.major === 15) {
    await pgVerify(cluster, dir, { tar: format === 'tar', parseWal: wal !== 'none' });
  } else if (cluster.major < 15 && verifybackupTool(cluster) !== null) {
    await pgVerify(cluster, dir, { tar: format === 'tar', parseWal: false });
  } else {
    const result = await runCli(['verify', ...(wal === 'none' ? ['-n'] : []), dir]);
    assert.equal(result.status, 0, `pgconvoy verify ${dir}:\n${result.stdout}${result.stderr}`);
  }
}

async function assertRestoredRows(restored: LocalCluster, f: Fixture): Promise<void> {
  assert.deepEqual(await psql(restored, 'select v from marker'), [[MARKER]]);
  if (f.tablespace !== null) assert.deepEqual(await psql(restored, 'select v from in_ts'), [[TS_MARKER]]);
}

/** One cell of the matrix: back up, check files and modes, verify, restore (when WAL is included). */
async function matrixCase(t: TestContext, major: number, format: Format, wal: Wal, compression: string[] = []): Promise<void> {
  const f = await fixture(major);
  const { dir, tsDir, args } = await target(f, format);
  await convoyOk(f.cluster, [...args, '-X', wal, ...compression]);

  const sfx = compression.length === 0 ? '' : SUFFIX[compression[compression.length - 1] as string] ?? '';
  const names = (await readdir(dir)).sort();
  if (format === 'tar') {
    const expected = ['backup_manifest', `base.tar${sfx}`];
    if (wal === 'stream') expected.push(`pg_wal.tar${compression.includes('-z') ? '.gz' : ''}`);
    if (f.tablespace !== null) expected.push(`${f.tablespace.oid}.tar${sfx}`);
    assert.deepEqual(names, expected.sort());
  } else {
    for (const name of ['PG_VERSION', 'backup_label', 'backup_manifest', 'global', 'pg_wal']) assert.ok(names.includes(name), `${name} in ${dir}`);
    const segments = (await readdir(join(dir, 'pg_wal'))).filter((name) => /^[0-9A-F]{24}$/.test(name));
    assert.equal(segments.length > 0, wal !== 'none', `WAL segments in pg_wal: ${segments.join(', ')}`);
    if (tsDir !== null && f.tablespace !== null) {
      const [link] = (await walkTree(join(dir, 'pg_tblspc'))).filter((entry) => entry.path === f.tablespace?.oid);
      assert.deepEqual(link && { type: link.type, target: link.target }, { type: 'symlink', target: tsDir });
      await assertModes(tsDir);
    }
  }
  await assertModes(dir);
  await verifyBackup(f, dir, format, wal);
  if (wal === 'none') {
    t.diagnostic('no WAL in the backup: verified, not started');
    return;
  }
  const restored = await restoreBackup(dir, f.cluster, { tar: format === 'tar', tablespaceDirs: tsDir === null ? [] : [tsDir] });
  try {
    await assertRestoredRows(restored, f);
  } finally {
    await restored.stop('immediate');
  }
  await rm(join(dir, '..'), { recursive: true, force: true });
}

const entries = majorMatrix();
const skipOf = (major: number): string | false => entries.find((entry) => entry.major === major)?.skip ?? `PostgreSQL ${major} is not installed`;

for (const { major } of entries) {
  const cases: Array<[Format, Wal, string[]]> = major === 15
    ? [['plain', 'none', []], ['plain', 'fetch', []], ['plain', 'stream', []], ['tar', 'none', []], ['tar', 'fetch', []], ['tar', 'stream', []]]
    : [['plain', 'stream', []], ['tar', 'fetch', []], ['tar', 'stream', ['-z']]];
  test(`PostgreSQL ${major}: format x WAL method, verified and restored`, { skip: skipOf(major) }, async (t) => {
    for (const [format, wal, compression] of cases) {
      await t.test(`-F ${format} -X ${wal} ${compression.join(' ')}`.trim(), (sub) => matrixCase(sub, major, format, wal, compression));
    }
  });
}

const skip15 = skipOf(15);

/** Sorted name/type/mode of the members that must agree between two backups of the same cluster. */
function comparable(members: readonly TarMember[]): string[] {
  return members
    .filter((member) => !/^pg_wal\/.+/.test(member.name)) // WAL segments and their .done markers: other LSNs
    .map((member) => `${member.name} ${member.type} ${member.mode.toString(8)}`)
    .sort();
}

test('PostgreSQL 15: base.tar and <oid>.tar agree with pg_basebackup -Ft member for member; exclusions hold', { skip: skip15 }, async () => {
  const f = await fixture(15);
  const { cluster } = f;
  const tablespace = f.tablespace as NonNullable<Fixture['tablespace']>;
  const work = await tmpDir('matrix-diff');
  const theirs = join(work, 'pg_basebackup');
  const ours = join(work, 'pgconvoy');
  const pgBasebackup = requireTool(cluster, 'pg_basebackup');
  const result = await run(pgBasebackup, [...connArgs(cluster), '-D', theirs, '-Ft', '-X', 'fetch']);
  assert.equal(result.status, 0, result.stderr);
  await convoyOk(cluster, ['-D', ours, '-Ft', '-X', 'fetch']);
  assert.deepEqual((await readdir(ours)).sort(), (await readdir(theirs)).sort());

  for (const [archive, atLeast] of [['base.tar', 900], [`${tablespace.oid}.tar`, 3]] as const) {
    const mine = comparable(await tarMembers(join(ours, archive)));
    assert.ok(mine.length >= atLeast, `${archive} has ${mine.length} members`);
    assert.deepEqual(mine, comparable(await tarMembers(join(theirs, archive))), archive);
  }
  const members = await tarMembers(join(ours, 'base.tar'));
  const names = new Set(members.map((member) => member.name));
  assert.equal(members[0]?.name, 'backup_label');
  assert.doesNotMatch(await tarMemberText(join(ours, 'base.tar'), 'backup_label'), /DONOTCOPY/);
  assert.ok(members.some((member) => /^pg_wal\/[0-9A-F]{24}$/.test(member.name)), '-X fetch puts WAL into base.tar');
  for (const excluded of ['postmaster.opts', 'postmaster.pid', 'postgresql.auto.conf.tmp', 'current_logfiles.tmp', 'global/pg_internal.init',
    'global/pg_internal.init.123', `${f.dbDir}/t999_999`, `${f.dbDir}/t9999_999.1`, `${f.dbDir}/t999_9999_vm`, 'base/pgsql_tmp',
    'base/pgsql_tmp/pgsql_tmp999.0', f.unlogged as string]) {
    assert.ok(!names.has(excluded), `${excluded} must not be in base.tar`);
  }
  assert.ok(names.has(`${f.unlogged as string}_init`), 'the unlogged table\'s init fork travels');
  for (const emptied of ['pg_dynshmem', 'pg_notify', 'pg_replslot', 'pg_serial', 'pg_snapshots', 'pg_stat_tmp', 'pg_subtrans']) {
    assert.ok(names.has(emptied), `${emptied}/ is in base.tar`);
    assert.ok(![...names].some((name) => name.startsWith(`${emptied}/`)), `${emptied}/ travels empty`);
  }
});

test('PostgreSQL 15: the plain tree agrees with pg_basebackup -Fp (names, types, modes)', { skip: skip15 }, async () => {
  const f = await fixture(15);
  const { cluster } = f;
  const tablespace = f.tablespace as NonNullable<Fixture['tablespace']>;
  const work = await tmpDir('matrix-plain-diff');
  const trees: Record<string, string[]> = {};
  for (const who of ['pg_basebackup', 'pgconvoy'] as const) {
    const dir = join(work, who);
    const args = ['-D', dir, '-Fp', '-X', 'none', '-T', `${tablespace.dir}=${dir}-ts`];
    if (who === 'pgconvoy') await convoyOk(cluster, args);
    else {
      const result = await run(requireTool(cluster, 'pg_basebackup'), [...connArgs(cluster), ...args]);
      assert.equal(result.status, 0, result.stderr);
    }
    const entries = await walkTree(dir);
    const link = entries.find((entry) => entry.path === `pg_tblspc/${tablespace.oid}`);
    assert.equal(link?.target, `${dir}-ts`, `${who}: tablespace link follows -T`);
    trees[who] = [
      ...entries.map((entry) => `${entry.path} ${entry.type} ${entry.type === 'symlink' ? '' : entry.mode.toString(8)}`),
      ...(await walkTree(`${dir}-ts`)).map((entry) => `ts/${entry.path} ${entry.type} ${entry.mode.toString(8)}`),
    ];
  }
  assert.deepEqual(trees['pgconvoy'], trees['pg_basebackup']);
  const names = new Set((trees['pgconvoy'] as string[]).map((line) => line.split(' ')[0]));
  assert.ok(!names.has(f.unlogged as string) && names.has(`${f.unlogged as string}_init`));
  assert.ok(!names.has('postmaster.opts') && !names.has('global/pg_internal.init.123') && !names.has(`${f.dbDir}/t999_999`));
  assert.deepEqual(await readdir(join(work, 'pgconvoy', 'pg_wal')), ['archive_status']);
});

test('PostgreSQL 15: -R, plain: a restored copy is a standby that streams from the primary', { skip: skip15 }, async () => {
  const f = await fixture(15);
  const { dir, tsDir, args } = await target(f, 'plain');
  await convoyOk(f.cluster, [...args, '-X', 'stream', '-R']);
  assert.equal((await stat(join(dir, 'standby.signal'))).size, 0);
  const autoConf = await readFile(join(dir, 'postgresql.auto.conf'), 'utf8');
  assert.match(autoConf, new RegExp(`^primary_conninfo = '.*\\bport=${f.cluster.port}\\b.*'$`, 'm'));
  assert.match(autoConf, /^primary_conninfo = '.*\bhost=127\.0\.0\.1\b/m);
  await assertModes(dir);
  const standby = await restoreBackup(dir, f.cluster, { tar: false, tablespaceDirs: [tsDir as string] });
  try {
    assert.deepEqual(await psql(standby, 'select pg_is_in_recovery()'), [['t']]);
    await assertRestoredRows(standby, f);
    await psql(f.cluster, "insert into marker values ('after the backup')");
    await poll(async () => (await psql(standby, "select count(*) from marker where v = 'after the backup'"))[0]?.[0] === '1', 'the standby replays what the primary writes');
    await psql(f.cluster, "delete from marker where v = 'after the backup'");
  } finally {
    await standby.stop('immediate');
  }
});

for (const major of [15, 14]) {
  test(`PostgreSQL ${major}: -R, tar: standby.signal and primary_conninfo inside base.tar`, { skip: skipOf(major) }, async () => {
    const f = await fixture(major);
    const { dir, args } = await target(f, 'tar');
    await convoyOk(f.cluster, [...args, '-X', 'fetch', '-R']);
    const base = join(dir, 'base.tar');
    const members = await tarMembers(base);
    const signal = members.filter((member) => member.name === 'standby.signal');
    assert.deepEqual(signal.map((member) => [member.size, member.mode.toString(8)]), [[0, '600']]);
    assert.equal(members.filter((member) => member.name === 'postgresql.auto.conf').length, 1);
    assert.match(await tarMemberText(base, 'postgresql.auto.conf'), new RegExp(`^primary_conninfo = '.*\\bport=${f.cluster.port}\\b.*'$`, 'm'));
    const gnuList = await run('tar', ['-tf', base]);
    assert.equal(gnuList.status, 0, `GNU tar reads the rebuilt base.tar: ${gnuList.stderr}`);
    await verifyBackup(f, dir, 'tar', 'fetch');
  });
}

test('PostgreSQL 15: -D - refuses a cluster with a tablespace, leaving stdout empty', { skip: skip15 }, async () => {
  const f = await fixture(15);
  const out = join(await tmpDir('matrix-stdout'), 'backup.tar');
  const result = await convoyToFile(f.cluster, ['-D', '-', '-Ft', '-X', 'fetch'], out);
  assertOneError(result, /can only write single tablespace to stdout, database has 2/);
  assert.equal((await stat(out)).size, 0);
  assert.deepEqual(await psql(f.cluster, 'select count(*) from pg_replication_slots'), [['0']]);
});

for (const major of [14, 18]) {
  test(`PostgreSQL ${major}: -D - -Ft -X fetch writes one tar to stdout, backup_manifest last; it restores`, { skip: skipOf(major) }, async () => {
    const f = await fixture(major);
    const dir = await tmpDir(`matrix-stdout-${major}`);
    const result = await convoyToFile(f.cluster, ['-D', '-', '-Ft', '-X', 'fetch'], join(dir, 'base.tar'));
    assert.equal(result.status, 0, result.stderr);
    assert.doesNotMatch(result.stderr, /error/);
    const gnuList = await run('tar', ['-tf', join(dir, 'base.tar')]);
    assert.equal(gnuList.status, 0, gnuList.stderr);
    const listed = gnuList.stdout.trim().split('\n');
    assert.equal(listed[0], 'backup_label');
    assert.equal(listed[listed.length - 1], 'backup_manifest');
    assert.ok(listed.some((name) => /^pg_wal\/[0-9A-F]{24}$/.test(name)));
    assert.equal(listed.filter((name) => name === 'backup_manifest').length, 1);
    const extracted = join(await tmpDir(`matrix-stdout-${major}-x`), 'data');
    await mkdir(extracted);
    assert.equal((await run('tar', ['-xf', join(dir, 'base.tar'), '-C', extracted])).status, 0);
    await verifyBackup(f, extracted, 'plain', 'fetch');
    await rm(extracted, { recursive: true });
    const restored = await restoreBackup(dir, f.cluster, { tar: true });
    try {
      await assertRestoredRows(restored, f);
    } finally {
      await restored.stop('immediate');
    }
  });
}

test('PostgreSQL 15: --json with two -D: one object per backup, one read, identical archives', { skip: skip15 }, async () => {
  const f = await fixture(15);
  const work = await tmpDir('matrix-json');
  const dirs = [join(work, 'one'), join(work, 'two')];
  const result = await convoyOk(f.cluster, ['-Ft', '-X', 'fetch', '--json', '-l', 'json label', ...dirs.flatMap((dir) => ['-D', dir])]);
  assert.equal(result.stderr, '');
  const lines = result.stdout.trim().split('\n');
  assert.equal(lines.length, 2, result.stdout);
  const objects = lines.map((line) => JSON.parse(line) as Record<string, unknown>);
  for (const [index, object] of objects.entries()) {
    assert.deepEqual(Object.keys(object).sort(), ['bytes', 'dir', 'endLsn', 'label', 'seconds', 'startLsn', 'timeline']);
    assert.equal(object['dir'], dirs[index]);
    assert.equal(object['label'], 'json label');
    assert.match(String(object['startLsn']), /^[0-9A-F]+\/[0-9A-F]+$/);
    assert.match(String(object['endLsn']), /^[0-9A-F]+\/[0-9A-F]+$/);
    assert.equal(object['timeline'], 1);
    assert.ok(typeof object['bytes'] === 'number' && object['bytes'] > 1_000_000);
    assert.ok(typeof object['seconds'] === 'number' && object['seconds'] >= 0);
    const label = await tarMemberText(join(dirs[index] as string, 'base.tar'), 'backup_label');
    assert.match(label, new RegExp(`^START WAL LOCATION: ${String(object['startLsn'])} `, 'm'));
    assert.match(label, /^LABEL: json label$/m);
  }
  assert.equal(objects[0]?.['startLsn'], objects[1]?.['startLsn'], 'one server read');
  for (const name of ['base.tar', `${f.tablespace?.oid as string}.tar`, 'backup_manifest']) {
    const [a, b] = await Promise.all(dirs.map(async (dir) => createHash('sha256').update(await readFile(join(dir, name))).digest('hex')));
    assert.equal(a, b, `${name} identical in both copies`);
  }
  for (const dir of dirs) await verifyBackup(f, dir, 'tar', 'fetch');
});

test('PostgreSQL 15: -P without a terminal prints "waiting for checkpoint", then plain progress lines', { skip: skip15 }, async () => {
  const f = await fixture(15);
  const dir = join(await tmpDir('matrix-progress'), 'backup');
  const result = await convoyOk(f.cluster, ['-D', dir, '-Ft', '-X', 'fetch', '-P']);
  assert.doesNotMatch(result.stderr, /[\r\x1b]/, 'no carriage returns or escape sequences');
  const lines = result.stderr.split('\n');
  const progress = lines.filter((line) => / of .*%\)/.test(line));
  assert.ok(progress.length >= 1, result.stderr);
  assert.equal(lines[0], 'waiting for checkpoint', 'said first, as pg_basebackup -P does');
  for (const line of progress) assert.match(line, /^pgconvoy: [\d.]+ [kMG]?B of [\d.]+ [kMG]?B \(\d{1,3}%\), [\d.]+ [kMG]?B\/s, \S/);
  assert.match(progress[progress.length - 1] as string, /\(100%\)/);
});

for (const spec of ['server-gzip', 'server-lz4', 'server-zstd']) {
  for (const format of ['tar', 'plain'] as const) {
    test(`PostgreSQL 15: -Z ${spec} -F ${format}`, { skip: skip15 }, async () => {
      const f = await fixture(15);
      const { dir, tsDir, args } = await target(f, format);
      await convoyOk(f.cluster, [...args, '-X', 'stream', '-Z', spec]);
      if (format === 'tar') {
        const sfx = SUFFIX[spec] as string;
        assert.deepEqual((await readdir(dir)).sort(), [`${f.tablespace?.oid as string}.tar${sfx}`, 'backup_manifest', `base.tar${sfx}`, 'pg_wal.tar'].sort());
      } else {
        assert.ok(existsSync(join(dir, 'PG_VERSION')));
        await assertModes(tsDir as string);
      }
      await assertModes(dir);
      await pgVerify(f.cluster, dir, { tar: format === 'tar', parseWal: true });
    });
  }
}

test('PostgreSQL 15: -Z zstd:level=3 and -Z lz4 (client) in tar format; pg_wal.tar stays uncompressed', { skip: skip15 }, async () => {
  const f = await fixture(15);
  for (const [spec, sfx] of [['zstd:level=3', '.zst'], ['lz4', '.lz4']] as const) {
    const { dir, args } = await target(f, 'tar');
    await convoyOk(f.cluster, [...args, '-X', 'stream', '-Z', spec]);
    assert.deepEqual((await readdir(dir)).sort(), [`${f.tablespace?.oid as string}.tar${sfx}`, 'backup_manifest', `base.tar${sfx}`, 'pg_wal.tar'].sort());
    await pgVerify(f.cluster, dir, { tar: true, parseWal: true });
  }
});

test('PostgreSQL 15: --manifest-checksums SHA256', { skip: skip15 }, async () => {
  const f = await fixture(15);
  const { dir, args } = await target(f, 'plain');
  await convoyOk(f.cluster, [...args, '-X', 'fetch', '--manifest-checksums', 'SHA256']);
  const manifest = JSON.parse(await readFile(join(dir, 'backup_manifest'), 'utf8')) as { Files: Array<Record<string, string>> };
  assert.ok(manifest.Files.length > 100);
  assert.deepEqual([...new Set(manifest.Files.map((file) => file['Checksum-Algorithm']))], ['SHA256']);
  assert.ok(manifest.Files.every((file) => /^[0-9a-f]{64}$/.test(file['Checksum'] ?? '')));
  await pgVerify(f.cluster, dir, { tar: false, parseWal: true });
});

test('PostgreSQL 15: --waldir (plain): pg_wal links to it, pg_verifybackup -w and pgconvoy verify pass, postgres starts and writes WAL there', { skip: skip15 }, async () => {
  const f = await fixture(15);
  const { dir, tsDir, args } = await target(f, 'plain');
  const walDir = join(dir, '..', 'wal');
  await convoyOk(f.cluster, [...args, '-X', 'stream', '--waldir', walDir]);
  assert.equal(await readlink(join(dir, 'pg_wal')), walDir, 'pg_wal is a symbolic link to --waldir');
  const names = await readdir(walDir);
  assert.ok(names.some((name) => /^[0-9A-F]{24}$/.test(name)) && names.includes('archive_status'), names.join(', '));
  await assertModes(walDir);
  await assertModes(dir);
  const result = await run(verifybackupTool(f.cluster) as string, ['-w', walDir, dir]);
  assert.equal(result.status, 0, `pg_verifybackup -w:\n${result.stderr}${result.stdout}`);
  const ours = await runCli(['verify', dir]);
  assert.equal(ours.status, 0, `pgconvoy verify:\n${ours.stdout}${ours.stderr}`);
  await chownForServer(walDir, { recursive: true }); // the restored server writes its WAL there, through the link
  const restored = await restoreBackup(dir, f.cluster, { tar: false, tablespaceDirs: tsDir === null ? [] : [tsDir] });
  try {
    await assertRestoredRows(restored, f);
    const [[current] = []] = await psql(restored, 'select pg_walfile_name(pg_current_wal_insert_lsn())');
    assert.ok((await readdir(walDir)).includes(current as string), `the restored server's WAL segment ${current ?? '?'} is in --waldir`);
  } finally {
    await restored.stop('immediate');
  }
});

test('PostgreSQL 15: -t server:DIR: the server writes the backup (pg_verifybackup passes); -t blackhole: the backup runs and is discarded', { skip: skip15 }, async () => {
  const f = await fixture(15);
  // The server writes as its own OS user, so DIR lies in a directory that user owns.
  const serverDir = join(await tmpDir('matrix-server-target'), 'backup');
  const stored = await convoyOk(f.cluster, ['-t', `server:${serverDir}`, '-X', 'fetch']);
  assert.match(stored.stderr, new RegExp(`^pgconvoy: backup "pgconvoy base backup" stored by the server \\(target "server:${serverDir}"\\): `, 'm'));
  assert.deepEqual((await readdir(serverDir)).sort(), [`${f.tablespace?.oid as string}.tar`, 'backup_manifest', 'base.tar']);
  assert.equal((await stat(join(serverDir, 'base.tar'))).uid, (await stat(f.cluster.dataDir)).uid, 'written by the server');
  await pgVerify(f.cluster, serverDir, { tar: true, parseWal: true });

  const discarded = await convoyOk(f.cluster, ['-t', 'blackhole', '-X', 'fetch']);
  assert.match(discarded.stderr, /^pgconvoy: backup "pgconvoy base backup" stored by the server \(target "blackhole"\): \d+\/[0-9A-F]+\.\.\d+\/[0-9A-F]+ on timeline 1, /m);
});

test('PostgreSQL 14: -t is refused, as pg_basebackup does: server-side targets need 15', { skip: skipOf(14) }, async () => {
  const f = await fixture(14);
  assertOneError(await convoy(f.cluster, ['-t', 'blackhole', '-X', 'fetch']), /^pgconvoy: error: backup targets are not supported by this server version$/);
});

async function poll(check: () => Promise<boolean>, what: string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) assert.fail(`timed out waiting until ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
