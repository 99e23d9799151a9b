/**
 * `verify` against real backups from the real pg_basebackup 15, judged side by side with the real
 * pg_verifybackup 15: whole backups (plain and tar, -X stream and fetch, gzip and server zstd/lz4, every
 * manifest checksum algorithm), then damaged copies (a flipped byte, a truncated file, a deleted file, a
 * deleted WAL segment, an extra file). Both tools must reach the same verdict, and our report must name the
 * file or segment. pg_verifybackup 15 reads plain backups only, so tar backups are extracted for it.
 */
import { after, before, test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { copyFile, mkdir, open, readFile, rename, rm, truncate, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { loadManifest, parseManifest } from '../../../src/manifest/reader.ts';
import { writeManifest, type ManifestFileInput } from '../../../src/manifest/writer.ts';
import { segmentOf, walFileName } from '../../../src/util/lsn.ts';
import { verifyBackup, type VerifyReport } from '../../../src/verify/index.ts';
import { majorMatrix, psql, startCluster, startPgbench, tmpDir, type TestCluster } from '../harness.ts';
import { basebackup, extractTarBackup, memberData, pgVerifybackup, run } from './tools.ts';

const SEGMENT_BYTES = 16 << 20;
const skip = majorMatrix().find((entry) => entry.major === 15)?.skip ?? 'PostgreSQL 15 is not installed';

let cluster: TestCluster;
let work: string;
let tablespaceDir: string;
/** Relation files, relative to the data directory. */
const rel = { accounts: '', tellers: '', branches: '', tablespaceFile: '' };
let extractions = 0;

before(async () => {
  if (skip !== false) return;
  cluster = await startCluster({ major: 15, settings: { wal_keep_size: '1GB', checkpoint_timeout: '1h', max_wal_size: '4GB' } });
  await startPgbench(cluster, { scale: 20, seconds: 1 }).done;
  tablespaceDir = await tmpDir('verify-ts');
  work = await tmpDir('verify-work');
  await psql(cluster, `create tablespace ts location '${tablespaceDir}'`);
  await psql(cluster, 'create table in_ts tablespace ts as select g, md5(g::text) from generate_series(1, 20000) g');
  for (const [key, table] of [['accounts', 'pgbench_accounts'], ['tellers', 'pgbench_tellers'], ['branches', 'pgbench_branches'], ['tablespaceFile', 'in_ts']] as const) {
    const [[path] = []] = await psql(cluster, `select pg_relation_filepath('${table}')`);
    rel[key] = path as string;
  }
});

after(async () => {
  if (skip === false) await cluster.stopAndRemove();
});

interface Verdicts { ours: VerifyReport; pgOk: boolean; pgText: string }

/** Our report and pg_verifybackup's verdict on the same backup (a tar backup extracted for it first). */
async function judge(dir: string, tar: boolean): Promise<Verdicts> {
  const ours = await verifyBackup(dir);
  if (!tar) {
    const pg = await pgVerifybackup(cluster, dir);
    return { ours, pgOk: pg.status === 0, pgText: pg.stderr + pg.stdout };
  }
  const plain = join(work, `extracted-${++extractions}`);
  const extracted = await extractTarBackup(dir, plain);
  const pg = await pgVerifybackup(cluster, plain);
  await rm(plain, { recursive: true, force: true });
  return { ours, pgOk: extracted && pg.status === 0, pgText: pg.stderr + pg.stdout };
}

function summary(report: VerifyReport): string {
  return report.problems.map((problem) => `${problem.code} ${problem.path ?? ''}: ${problem.message}`).join('\n');
}

function codeCounts(report: VerifyReport): string {
  const counts = new Map<string, number>();
  for (const problem of report.problems) counts.set(problem.code, (counts.get(problem.code) ?? 0) + 1);
  return [...counts].map(([code, count]) => (count === 1 ? code : `${count}x ${code}`)).join(', ');
}

/** The segment holding the backup's start LSN, and the start LSN's offset in it. */
function startSegment(dir: string, manifest: Buffer): [string, number] {
  const range = loadManifest(manifest).walRanges[0];
  assert.ok(range !== undefined, `no WAL range in ${dir}`);
  return [walFileName(range.tli, segmentOf(range.startLsn, SEGMENT_BYTES), SEGMENT_BYTES), Number(range.startLsn % BigInt(SEGMENT_BYTES))];
}

/** Regenerating the real manifest from its parsed form gives back its exact bytes. */
function assertManifestRoundTrip(manifest: Buffer): void {
  const files: ManifestFileInput[] = [];
  const summaryOf = parseManifest(manifest, (entry) => files.push({ ...entry, lastModified: entry.lastModified ?? '', encodePath: entry.encodedPath }));
  const again = writeManifest(files, summaryOf.walRanges, { version: summaryOf.version, ...(summaryOf.systemId === null ? {} : { systemId: summaryOf.systemId }) });
  assert.ok(again.equals(manifest), 'regenerated manifest differs from pg_basebackup\'s');
}

interface Damage {
  readonly name: string;
  /** Damages the backup; returns the undo. */
  apply(dir: string): Promise<() => Promise<void>>;
  /** What our report must contain (any code when null), or null when only the verdict is compared. */
  readonly expect: { code: string | null; path: string } | null;
}

async function flipByte(path: string, offset: number): Promise<() => Promise<void>> {
  const handle = await open(path, 'r+');
  const byte = Buffer.alloc(1);
  await handle.read(byte, 0, 1, offset);
  await handle.write(Buffer.from([(byte[0] as number) ^ 0x40]), 0, 1, offset);
  await handle.close();
  return async () => {
    const undo = await open(path, 'r+');
    await undo.write(byte, 0, 1, offset);
    await undo.close();
  };
}

/** Runs `damage` on a tar archive after keeping a copy to put back. */
async function onArchive(archive: string, damage: () => Promise<void>): Promise<() => Promise<void>> {
  const saved = join(work, 'archive.orig');
  await copyFile(archive, saved);
  await damage();
  return () => rename(saved, archive);
}

/** GNU tar with 512-byte records: its default 10 kB records would cut an archive whose size is not a multiple. */
async function gnuTar(args: string[]): Promise<void> {
  const result = await run('tar', ['-b1', ...args]);
  assert.equal(result.status, 0, result.stderr);
}

function plainDamages(walSegment: string, walStartOffset: number): Damage[] {
  return [
    { name: 'flipped byte in a WAL record', expect: { code: null, path: `pg_wal/${walSegment}` },
      apply: (dir) => flipByte(join(dir, 'pg_wal', walSegment), walStartOffset + 30) },
    { name: 'flipped byte in a relation file', expect: { code: 'FILE_CHECKSUM_MISMATCH', path: rel.accounts },
      apply: (dir) => flipByte(join(dir, rel.accounts), 1_000_000) },
    { name: 'truncated file', expect: { code: 'FILE_SIZE_MISMATCH', path: rel.tellers },
      apply: async (dir) => {
        const original = await readFile(join(dir, rel.tellers));
        await truncate(join(dir, rel.tellers), original.length / 2);
        return () => writeFile(join(dir, rel.tellers), original);
      } },
    { name: 'deleted file', expect: { code: 'FILE_MISSING', path: rel.branches },
      apply: async (dir) => {
        await rename(join(dir, rel.branches), join(work, 'moved-away'));
        return () => rename(join(work, 'moved-away'), join(dir, rel.branches));
      } },
    { name: 'deleted WAL segment', expect: { code: 'WAL_SEGMENT_MISSING', path: `pg_wal/${walSegment}` },
      apply: async (dir) => {
        await rename(join(dir, 'pg_wal', walSegment), join(work, 'moved-away'));
        return () => rename(join(work, 'moved-away'), join(dir, 'pg_wal', walSegment));
      } },
    { name: 'extra file', expect: { code: 'FILE_EXTRA', path: 'base/1/99999' },
      apply: async (dir) => {
        await writeFile(join(dir, 'base/1/99999'), Buffer.alloc(8192));
        return () => rm(join(dir, 'base/1/99999'));
      } },
    { name: 'flipped byte in a tablespace file', expect: { code: 'FILE_CHECKSUM_MISMATCH', path: rel.tablespaceFile },
      apply: (dir) => flipByte(join(dir, rel.tablespaceFile), 100) },
  ];
}

function tarDamages(walSegment: string, walStartOffset: number, walIn: 'pg_wal.tar' | 'base.tar'): Damage[] {
  const tablespace = /^pg_tblspc\/([0-9]+)\/(.*)$/.exec(rel.tablespaceFile) as RegExpExecArray;
  const scratch = join(work, 'tar-scratch');
  const walMember = walIn === 'base.tar' ? `pg_wal/${walSegment}` : walSegment;
  return [
    { name: 'flipped byte in a WAL record', expect: { code: null, path: `pg_wal/${walSegment}` },
      apply: (dir) => flipByte(join(dir, walIn), memberData(join(dir, walIn), walMember).offset + walStartOffset + 30) },
    { name: 'flipped byte in a relation file', expect: { code: 'FILE_CHECKSUM_MISMATCH', path: rel.accounts },
      apply: (dir) => flipByte(join(dir, 'base.tar'), memberData(join(dir, 'base.tar'), rel.accounts).offset + 1_000_000) },
    { name: 'truncated file', expect: { code: 'FILE_SIZE_MISMATCH', path: rel.tellers },
      apply: (dir) => onArchive(join(dir, 'base.tar'), async () => {
        await rm(scratch, { recursive: true, force: true });
        await mkdir(scratch);
        await gnuTar(['-xf', join(dir, 'base.tar'), '-C', scratch, rel.tellers]);
        await truncate(join(scratch, rel.tellers), 4096);
        await gnuTar(['--delete', '-f', join(dir, 'base.tar'), rel.tellers]);
        await gnuTar(['--format=ustar', '-rf', join(dir, 'base.tar'), '-C', scratch, rel.tellers]);
      }) },
    { name: 'deleted file', expect: { code: 'FILE_MISSING', path: rel.branches },
      apply: (dir) => onArchive(join(dir, 'base.tar'), () => gnuTar(['--delete', '-f', join(dir, 'base.tar'), rel.branches])) },
    { name: 'deleted WAL segment', expect: { code: 'WAL_SEGMENT_MISSING', path: `pg_wal/${walSegment}` },
      apply: (dir) => onArchive(join(dir, walIn), () => gnuTar(['--delete', '-f', join(dir, walIn), walMember])) },
    { name: 'extra file', expect: { code: 'FILE_EXTRA', path: 'base/1/99999' },
      apply: (dir) => onArchive(join(dir, 'base.tar'), async () => {
        await rm(scratch, { recursive: true, force: true });
        await mkdir(join(scratch, 'base/1'), { recursive: true });
        await writeFile(join(scratch, 'base/1/99999'), Buffer.alloc(8192));
        await gnuTar(['--format=ustar', '-rf', join(dir, 'base.tar'), '-C', scratch, 'base/1/99999']);
      }) },
    { name: 'flipped byte in a tablespace archive', expect: { code: 'FILE_CHECKSUM_MISMATCH', path: rel.tablespaceFile },
      apply: (dir) => {
        const archive = join(dir, `${tablespace[1]}.tar`);
        return flipByte(archive, memberData(archive, tablespace[2] as string).offset + 100);
      } },
  ];
}

function gzipDamages(walSegment: string): Damage[] {
  return [
    { name: 'flipped byte in the compressed base archive', expect: null,
      apply: async (dir) => flipByte(join(dir, 'base.tar.gz'), 5_000_000) },
    { name: 'deleted WAL segment', expect: { code: 'WAL_SEGMENT_MISSING', path: `pg_wal/${walSegment}` },
      apply: (dir) => onArchive(join(dir, 'pg_wal.tar.gz'), async () => {
        const plain = join(work, 'pg_wal.tar');
        const unzip = await run('sh', ['-c', `gzip -dc '${join(dir, 'pg_wal.tar.gz')}' > '${plain}'`]);
        assert.equal(unzip.status, 0, unzip.stderr);
        await gnuTar(['--delete', '-f', plain, walSegment]);
        const zip = await run('sh', ['-c', `gzip -1c '${plain}' > '${join(dir, 'pg_wal.tar.gz')}' && rm '${plain}'`]);
        assert.equal(zip.status, 0, zip.stderr);
      }) },
  ];
}

type Damages = (walSegment: string, walStartOffset: number) => Damage[];

async function checkBackup(t: TestContext, dir: string, tar: boolean, damages: Damages): Promise<void> {
  const manifest = await readFile(join(dir, 'backup_manifest'));
  assertManifestRoundTrip(manifest);
  const good = await judge(dir, tar);
  assert.equal(good.pgOk, true, `pg_verifybackup rejects the good backup: ${good.pgText}`);
  assert.deepEqual(good.ours.problems, [], summary(good.ours));
  assert.equal(good.ours.ok, true);
  assert.ok(good.ours.walRanges.every((range) => range.checked && range.ok));
  t.diagnostic(`whole backup: ${good.ours.filesChecked} files, ${good.ours.walRanges.map((range) => `${range.segments.length} WAL segment(s)`).join(', ')}`);
  for (const damage of damages(...startSegment(dir, manifest))) {
    const undo = await damage.apply(dir);
    try {
      const bad = await judge(dir, tar);
      t.diagnostic(`${damage.name}: ours ${bad.ours.ok ? 'ok' : 'FAIL'} (${codeCounts(bad.ours)}), pg_verifybackup ${bad.pgOk ? 'ok' : 'FAIL'}`);
      assert.equal(bad.pgOk, false, `${damage.name}: pg_verifybackup accepted it`);
      assert.equal(bad.ours.ok, false, `${damage.name}: we accepted it`);
      if (damage.expect !== null) {
        const { code, path } = damage.expect;
        assert.ok(bad.ours.problems.some((problem) => (code === null || problem.code === code) && problem.path === path),
          `${damage.name}: expected ${code} ${path}, got\n${summary(bad.ours)}`);
      }
    } finally {
      await undo();
    }
  }
  const again = await verifyBackup(dir);
  assert.equal(again.ok, true, `undo left damage behind: ${summary(again)}`);
}

const KINDS: { name: string; args: string[]; tar: boolean; load?: boolean; damages?: Damages }[] = [
  { name: 'plain -X stream, under pgbench load', args: ['-Fp', '-Xstream'], tar: false, load: true, damages: plainDamages },
  { name: 'plain -X fetch', args: ['-Fp', '-Xfetch'], tar: false, damages: plainDamages },
  { name: 'plain --manifest-checksums=SHA512', args: ['-Fp', '-Xstream', '--manifest-checksums=SHA512'], tar: false, damages: plainDamages },
  { name: 'plain --manifest-checksums=CRC32C', args: ['-Fp', '-Xstream', '--manifest-checksums=CRC32C'], tar: false },
  { name: 'plain --manifest-checksums=SHA224', args: ['-Fp', '-Xstream', '--manifest-checksums=SHA224'], tar: false },
  { name: 'plain --manifest-checksums=SHA256', args: ['-Fp', '-Xstream', '--manifest-checksums=SHA256'], tar: false },
  { name: 'plain --manifest-checksums=SHA384', args: ['-Fp', '-Xstream', '--manifest-checksums=SHA384'], tar: false },
  { name: 'plain --manifest-checksums=NONE', args: ['-Fp', '-Xstream', '--manifest-checksums=NONE'], tar: false },
  { name: 'tar -X stream, under pgbench load', args: ['-Ft', '-Xstream'], tar: true, load: true, damages: (segment, offset) => tarDamages(segment, offset, 'pg_wal.tar') },
  { name: 'tar -X fetch, under pgbench load', args: ['-Ft', '-Xfetch'], tar: true, load: true, damages: (segment, offset) => tarDamages(segment, offset, 'base.tar') },
  { name: 'tar -z', args: ['-Ft', '-Xstream', '-z'], tar: true, damages: gzipDamages },
  { name: 'tar server-zstd', args: ['-Ft', '-Xfetch', '--compress=server-zstd'], tar: true },
  { name: 'tar server-lz4', args: ['-Ft', '-Xfetch', '--compress=server-lz4'], tar: true },
];

const backups = new Map<string, string>();

for (const [index, kind] of KINDS.entries()) {
  test(`${kind.name}: same verdicts as pg_verifybackup`, { skip, timeout: 600_000 }, async (t) => {
    const dir = join(work, `backup-${index}`);
    const mapping = kind.tar ? [] : ['-T', `${tablespaceDir}=${dir}-tablespace`];
    const load = kind.load === true ? startPgbench(cluster, { seconds: 8, clients: 4 }) : null;
    try {
      await basebackup(cluster, dir, [...kind.args, ...mapping]);
    } finally {
      await load?.stop();
    }
    backups.set(kind.name, dir);
    await checkBackup(t, dir, kind.tar, kind.damages ?? (() => []));
  });
}

test('as fast as pg_verifybackup on the same backups (pgbench -s 20)', { skip, timeout: 600_000 }, async (t) => {
  const rows: string[] = [];
  for (const name of ['plain --manifest-checksums=CRC32C', 'plain --manifest-checksums=SHA256', 'plain --manifest-checksums=SHA512', 'plain -X fetch']) {
    const dir = backups.get(name);
    if (dir === undefined) continue;
    let pgMs = Infinity;
    let oursMs = Infinity;
    let bytes = 0;
    for (let round = 0; round < 3; round++) {
      const pg = await pgVerifybackup(cluster, dir);
      assert.equal(pg.status, 0, pg.stderr);
      pgMs = Math.min(pgMs, pg.ms);
      const started = performance.now();
      const ours = await verifyBackup(dir);
      assert.equal(ours.ok, true, summary(ours));
      oursMs = Math.min(oursMs, performance.now() - started);
      bytes = ours.bytesChecked;
    }
    rows.push(`${name}: ${(bytes / 1048576).toFixed(0)} MB, pg_verifybackup ${pgMs.toFixed(0)} ms, pgconvoy verify ${oursMs.toFixed(0)} ms (in-process, best of 3)`);
  }
  for (const row of rows) t.diagnostic(row);
  console.log(rows.join('\n'));
});
