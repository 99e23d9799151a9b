import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { appendFile, rename, truncate, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { verifyBackup, type VerifyReport } from '../../../src/verify/index.ts';
import { manifestFor, plainBackup, put, sampleFiles, scratchDir, tarBackup, type BackupSpec } from './backup-builder.ts';
import { WalBuilder } from '../wal/wal-builder.ts';

function codes(report: VerifyReport): string[] {
  return report.problems.map((problem) => `${problem.code} ${problem.path ?? ''}`);
}

/** WAL from the WAL module's builder: records across two 1 MiB segments, and the range covering them. */
function walFixture(): Pick<BackupSpec, 'wal' | 'walRanges'> {
  const builder = new WalBuilder();
  const start = builder.append({ mainData: Buffer.alloc(100, 1) });
  while (builder.position < 2n * BigInt(builder.segmentBytes) + 5000n) builder.append({ mainData: Buffer.alloc(3000, 2) });
  return { wal: builder.files(), walRanges: [{ tli: 1, startLsn: start, endLsn: builder.position }] };
}

test('a whole plain backup verifies, WAL included', async () => {
  const spec = { files: sampleFiles(), ...walFixture() };
  const report = await verifyBackup(await plainBackup(spec));
  assert.deepEqual(report.problems, []);
  assert.equal(report.ok, true);
  assert.equal(report.format, 'plain');
  assert.equal(report.filesChecked, spec.files.size - 1); // postgresql.auto.conf is ignored
  assert.equal(report.walRanges.length, 1);
  assert.equal(report.walRanges[0]?.checked, true);
  assert.equal(report.walRanges[0]?.segmentBytes, 1 << 20);
  assert.deepEqual(report.walRanges[0]?.segments, ['000000010000000000000001', '000000010000000000000002']);
});

test('every checksum algorithm', async () => {
  for (const algorithm of ['NONE', 'CRC32C', 'SHA224', 'SHA256', 'SHA384', 'SHA512'] as const) {
    const root = await plainBackup({ files: sampleFiles(), algorithm });
    assert.deepEqual((await verifyBackup(root, { skipWal: true })).problems, [], algorithm);
    const file = join(root, 'base/5/16385');
    await writeFile(file, Buffer.alloc(8192, 0x55));
    const report = await verifyBackup(root, { skipWal: true });
    assert.deepEqual(codes(report), algorithm === 'NONE' ? [] : ['FILE_CHECKSUM_MISMATCH base/5/16385'], algorithm);
  }
});

test('extra, missing, wrong size, wrong checksum: each named, in pg_verifybackup\'s words', async () => {
  const root = await plainBackup({ files: sampleFiles() });
  await writeFile(join(root, 'extra.txt'), 'x');
  await unlink(join(root, 'PG_VERSION'));
  await truncate(join(root, 'base/5/16384'), 100);
  const flipped = join(root, 'base/5/16386');
  await writeFile(flipped, Buffer.concat([Buffer.alloc(8191, 3), Buffer.from([4])]));
  const report = await verifyBackup(root, { skipWal: true });
  assert.equal(report.ok, false);
  assert.deepEqual(codes(report).sort(), [
    'FILE_CHECKSUM_MISMATCH base/5/16386', 'FILE_EXTRA extra.txt', 'FILE_MISSING PG_VERSION', 'FILE_SIZE_MISMATCH base/5/16384',
  ]);
  const messages = report.problems.map((problem) => problem.message);
  assert.ok(messages.includes('"extra.txt" is present on disk but not in the manifest'));
  assert.ok(messages.includes('"PG_VERSION" is present in the manifest but not on disk'));
  assert.ok(messages.includes('"base/5/16384" has size 100 on disk but size 8192 in the manifest'));
  assert.ok(messages.includes('checksum mismatch for file "base/5/16386"'));
  const mismatch = report.problems.find((problem) => problem.code === 'FILE_CHECKSUM_MISMATCH');
  assert.match(String(mismatch?.expected), /^[0-9a-f]{8}$/);
  assert.notEqual(mismatch?.expected, mismatch?.actual);
});

test('the fixed ignore list, --ignore, and what -s skips', async () => {
  const root = await plainBackup({ files: sampleFiles() });
  await writeFile(join(root, 'postgresql.auto.conf'), 'changed by -R');
  await writeFile(join(root, 'standby.signal'), '');
  await writeFile(join(root, 'recovery.signal'), '');
  await writeFile(join(root, 'pg_wal', 'junk'), 'x');
  await put(root, 'log/postgresql.log', Buffer.from('x'));
  assert.deepEqual(codes(await verifyBackup(root, { skipWal: true })), ['FILE_EXTRA log/postgresql.log']);
  assert.deepEqual(codes(await verifyBackup(root, { skipWal: true, ignore: ['log'] })), []);
  assert.deepEqual(codes(await verifyBackup(root, { skipWal: true, ignore: ['lo'] })), ['FILE_EXTRA log/postgresql.log']);
  await writeFile(join(root, 'base/5/16385'), Buffer.alloc(8192, 0x55));
  const skipped = await verifyBackup(root, { skipWal: true, skipChecksums: true, ignore: ['log'] });
  assert.deepEqual(codes(skipped), []);
  assert.equal(skipped.bytesChecked, 0);
  assert.deepEqual(codes(await verifyBackup(root, { skipWal: true, ignore: ['base/5'] })), ['FILE_EXTRA log/postgresql.log']);
});

test('exitOnError stops at the first problem', async () => {
  const root = await plainBackup({ files: sampleFiles() });
  await writeFile(join(root, 'extra1'), 'x');
  await writeFile(join(root, 'extra2'), 'x');
  await unlink(join(root, 'PG_VERSION'));
  const report = await verifyBackup(root, { skipWal: true, exitOnError: true });
  assert.equal(report.ok, false);
  assert.equal(report.problems.length, 1);
});

test('a missing or damaged manifest is a MANIFEST_INVALID problem; --manifest-path reads another', async () => {
  const root = await plainBackup({ files: sampleFiles() });
  const moved = join(await scratchDir(), 'manifest');
  await rename(join(root, 'backup_manifest'), moved);
  const missing = await verifyBackup(root);
  assert.deepEqual(missing.problems.map((problem) => problem.code), ['MANIFEST_INVALID']);
  const elsewhere = await verifyBackup(root, { skipWal: true, manifestPath: moved });
  assert.deepEqual(codes(elsewhere), []);
  await writeFile(join(root, 'backup_manifest'), manifestFor({ files: sampleFiles() }).subarray(0, 300));
  assert.deepEqual((await verifyBackup(root)).problems.map((problem) => problem.code), ['MANIFEST_INVALID']);
  await assert.rejects(verifyBackup(join(root, 'nope')), { code: 'FS_ERROR' });
});

test('non-UTF-8 file names round-trip through Encoded-Path', async () => {
  const files = sampleFiles();
  files.set('base/5/caf\xe9-latin1', Buffer.from('data'));
  const root = await plainBackup({ files });
  assert.deepEqual(codes(await verifyBackup(root, { skipWal: true })), []);
  await writeFile(Buffer.from(`${root}/base/5/caf\xe9-latin1`, 'latin1'), 'DATA');
  const report = await verifyBackup(root, { skipWal: true });
  assert.deepEqual(report.problems.map((problem) => problem.code), ['FILE_CHECKSUM_MISMATCH']);
  assert.equal(report.problems[0]?.path, 'base/5/caf\ufffd-latin1');
});

test('special files are not regular files', async () => {
  const root = await plainBackup({ files: sampleFiles() });
  execFileSync('mkfifo', [join(root, 'base/5/fifo')]);
  assert.deepEqual(codes(await verifyBackup(root, { skipWal: true })), ['FILE_NOT_REGULAR base/5/fifo']);
});

test('worker threads give the same verdicts as in-process hashing', async () => {
  const files = sampleFiles();
  for (let n = 0; n < 40; n++) files.set(`base/1/${n}`, Buffer.alloc(20000 + n * 1000, n));
  files.set('base/1/big', Buffer.alloc(3 << 20, 9));
  const root = await plainBackup({ files, algorithm: 'SHA256' });
  await appendFile(join(root, 'base/1/7'), 'x');
  await writeFile(join(root, 'base/1/big'), Buffer.alloc(3 << 20, 8));
  const progress: number[] = [];
  const pooled = await verifyBackup(root, { skipWal: true, workers: 2, onProgress: (done) => progress.push(done) });
  const inline = await verifyBackup(root, { skipWal: true, workers: 0 });
  assert.deepEqual(codes(pooled), ['FILE_SIZE_MISMATCH base/1/7', 'FILE_CHECKSUM_MISMATCH base/1/big']);
  assert.deepEqual(codes(inline), codes(pooled));
  assert.equal(pooled.bytesChecked, inline.bytesChecked);
  assert.equal(progress.at(-1), pooled.bytesChecked);
});

test('version 2: the System-Identifier must match pg_control', async () => {
  const files = sampleFiles();
  const control = Buffer.alloc(8192);
  control.writeBigUInt64LE(7712023177395307041n, 0);
  files.set('global/pg_control', control);
  const good = await plainBackup({ files, version: 2, systemId: '7712023177395307041' });
  assert.deepEqual(codes(await verifyBackup(good, { skipWal: true })), []);
  const other = await plainBackup({ files, version: 2, systemId: '7712023177395307042' });
  assert.deepEqual(codes(await verifyBackup(other, { skipWal: true })), ['SYSTEM_ID_MISMATCH global/pg_control']);
});

test('WAL: a missing segment and a damaged one are named', async () => {
  const spec = { files: sampleFiles(), ...walFixture() };
  const root = await plainBackup(spec);
  await unlink(join(root, 'pg_wal', '000000010000000000000002'));
  const missing = await verifyBackup(root);
  assert.ok(codes(missing).includes('WAL_SEGMENT_MISSING pg_wal/000000010000000000000002'), codes(missing).join());
  const damaged = await plainBackup(spec);
  const segment = join(damaged, 'pg_wal', '000000010000000000000001');
  const bytes = Buffer.from((spec.wal as Map<string, Buffer>).get('000000010000000000000001') as Buffer);
  bytes[9000] = (bytes[9000] as number) ^ 0xff;
  await writeFile(segment, bytes);
  const report = await verifyBackup(damaged);
  assert.equal(report.ok, false);
  assert.ok(report.problems.some((problem) => problem.path === 'pg_wal/000000010000000000000001'), codes(report).join());
  assert.equal((await verifyBackup(damaged, { skipWal: true })).ok, true);
});

test('tar: whole backups verify (plain tar, gzip, WAL streamed or fetched, a tablespace)', async () => {
  const files = sampleFiles();
  files.set('pg_tblspc/16400/PG_15_202209061/5/16401', Buffer.alloc(8192, 7));
  for (const [gzip, walIn] of [[false, 'pg_wal.tar'], [true, 'pg_wal.tar'], [false, 'base.tar']] as const) {
    const root = await tarBackup({ files, ...walFixture() }, { gzip, walIn });
    const report = await verifyBackup(root);
    assert.deepEqual(report.problems, [], `${gzip} ${walIn}`);
    assert.equal(report.format, 'tar');
    assert.equal(report.walRanges[0]?.checked, true);
    assert.equal(report.walRanges[0]?.segmentBytes, 1 << 20);
  }
});

test('tar: extra, missing, damaged and unexpected archives are named', async () => {
  const files = sampleFiles();
  files.set('pg_tblspc/16400/PG_15_202209061/5/16401', Buffer.alloc(8192, 7));
  const spec = { files, ...walFixture() };
  const root = await tarBackup(spec);
  const base = join(root, 'base.tar');
  const tar = Buffer.from(await import('node:fs/promises').then((fs) => fs.readFile(base)));
  const at = tar.indexOf(Buffer.alloc(8192, 3)); // base/5/16386's data
  tar[at + 100] = 0;
  await writeFile(base, tar);
  await writeFile(join(root, 'notes.txt'), 'x');
  await unlink(join(root, '16400.tar'));
  const report = await verifyBackup(root);
  assert.deepEqual(codes(report).sort(), [
    'ARCHIVE_UNEXPECTED notes.txt', 'FILE_CHECKSUM_MISMATCH base/5/16386', 'FILE_MISSING pg_tblspc/16400/PG_15_202209061/5/16401',
  ]);
});

test('tar: a truncated archive, a missing WAL segment', async () => {
  const root = await tarBackup({ files: sampleFiles(), ...walFixture() }, { gzip: true });
  const gz = join(root, 'pg_wal.tar.gz');
  const { gunzipSync, gzipSync } = await import('node:zlib');
  const { readFile } = await import('node:fs/promises');
  const walTar = gunzipSync(await readFile(gz));
  // keep only the first segment's member (header + 1 MiB) and the end blocks
  await writeFile(gz, gzipSync(Buffer.concat([walTar.subarray(0, 512 + (1 << 20)), Buffer.alloc(1024)])));
  const report = await verifyBackup(root);
  assert.ok(codes(report).includes('WAL_SEGMENT_MISSING pg_wal/000000010000000000000002'), codes(report).join());
  const base = join(root, 'base.tar.gz');
  await writeFile(base, (await readFile(base)).subarray(0, 200));
  const truncated = await verifyBackup(root, { skipWal: true });
  assert.equal(truncated.problems[0]?.code, 'ARCHIVE_INVALID');
  assert.ok(truncated.problems.some((problem) => problem.code === 'FILE_MISSING'));
});

test('an aborted run rejects with the signal\'s reason', async () => {
  const files = sampleFiles();
  for (let n = 0; n < 3000; n++) files.set(`base/2/${n}`, Buffer.alloc(10, n % 256));
  const plain = await plainBackup({ files });
  const tar = await tarBackup({ files });
  for (const root of [plain, tar]) {
    const controller = new AbortController();
    const reason = new Error('stop now');
    const running = verifyBackup(root, { skipWal: true, signal: controller.signal, onProgress: () => controller.abort(reason) });
    await assert.rejects(running, (error) => error === reason);
  }
});

test('exitOnError with worker threads stops the pool at the first mismatch', async () => {
  const files = sampleFiles();
  for (let n = 0; n < 40; n++) files.set(`base/1/${n}`, Buffer.alloc(300_000, n));
  const root = await plainBackup({ files, algorithm: 'SHA256' });
  for (const n of [3, 17, 31]) await writeFile(join(root, `base/1/${n}`), Buffer.alloc(300_000, 0xee));
  const report = await verifyBackup(root, { skipWal: true, workers: 2, exitOnError: true });
  assert.equal(report.ok, false);
  assert.equal(report.problems.length, 1);
  assert.equal(report.problems[0]?.code, 'FILE_CHECKSUM_MISMATCH');
  const all = await verifyBackup(root, { skipWal: true, workers: 2 });
  assert.deepEqual(all.problems.map((problem) => problem.path), ['base/1/3', 'base/1/17', 'base/1/31']);
});
