import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, lstatSync, mkdirSync, readFileSync, readdirSync, readlinkSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createDestination } from '../../../src/pipeline/build-destination.ts';
import { createCompressor } from '../../../src/pipeline/compression/create-filter.ts';
import type { CompressionMethod } from '../../../src/pipeline/compression/filter.ts';
import { ConvoyError } from '../../../src/errors/index.ts';
import { runFilter } from './compression/filter-helpers.ts';
import { SEGMENT_BYTES, buildTar, destinationOptions, driveBackup, sampleBaseTar, startInfo, withTempDir } from './pipeline-helpers.ts';

const mode = (path: string): number => lstatSync(path).mode & 0o7777;
const MANIFEST = Buffer.from('{ "PostgreSQL-Backup-Manifest-Version": 2,\n"Files": [] }\n');

test('extracts base.tar and a tablespace with -T mapping, modes, symlink, manifest last', withTempDir(async (root) => {
  const dir = join(root, 'out/data');
  const oldLocation = join(root, 'server/ts1');
  const newLocation = join(root, 'mapped/ts1');
  const destination = createDestination(destinationOptions(dir, { tablespaceMapping: new Map([[oldLocation, newLocation]]) }));
  assert.deepEqual(destination.describe(), ['decompress', 'extract']);
  const base = sampleBaseTar([{ name: 'pg_tblspc/16400', type: 'symlink', linkname: oldLocation }]);
  const tablespace = buildTar([
    { name: 'PG_17_202406281', type: 'directory' },
    { name: 'PG_17_202406281/5', type: 'directory' },
    { name: 'PG_17_202406281/5/16401', content: 'table data' },
  ]);
  const tablespaces = [{ oid: 16400, location: oldLocation, sizeKb: null }, { oid: null, location: null, sizeKb: null }];
  await driveBackup(destination.archive, [
    { name: '16400.tar', location: oldLocation, bytes: tablespace },
    { name: 'base.tar', location: '', bytes: base },
  ], MANIFEST, { info: startInfo(tablespaces), chunkBytes: 777 });
  await destination.archive.cleanup();

  assert.equal(readFileSync(join(dir, 'PG_VERSION'), 'utf8'), '17\n');
  assert.deepEqual(readFileSync(join(dir, 'base/5/16384')), Buffer.alloc(3 * 8192, 0x11));
  assert.equal(statSync(join(dir, 'base/5/16388_init')).size, 0);
  assert.equal(mode(dir), 0o700);
  assert.equal(mode(join(dir, 'base/5')), 0o700);
  assert.equal(mode(join(dir, 'PG_VERSION')), 0o600);
  assert.deepEqual(readdirSync(join(dir, 'pg_wal')).sort(), ['archive_status', 'summaries']);
  assert.equal(readlinkSync(join(dir, 'pg_tblspc/16400')), newLocation);
  assert.equal(readFileSync(join(newLocation, 'PG_17_202406281/5/16401'), 'utf8'), 'table data');
  assert.equal(existsSync(oldLocation), false);
  assert.deepEqual(readFileSync(join(dir, 'backup_manifest')), MANIFEST);
  assert.equal(existsSync(join(dir, 'backup_manifest.tmp')), false);
}));

test('group permissions: 0750 directories and 0640 files', withTempDir(async (root) => {
  const dir = join(root, 'data');
  const destination = createDestination(destinationOptions(dir, { dataDirectoryMode: 0o750, sync: false }));
  await driveBackup(destination.archive, [{ name: 'base.tar', location: '', bytes: sampleBaseTar() }], MANIFEST);
  await destination.archive.cleanup();
  assert.equal(mode(dir), 0o750);
  assert.equal(mode(join(dir, 'base')), 0o750);
  assert.equal(mode(join(dir, 'global/pg_control')), 0o640);
  assert.equal(mode(join(dir, 'backup_manifest')), 0o640);
}));

for (const method of ['gzip', 'lz4', 'zstd'] as CompressionMethod[]) {
  test(`server-compressed ${method} archives are decompressed before extraction`, withTempDir(async (root) => {
    const dir = join(root, 'data');
    const destination = createDestination(destinationOptions(dir, { serverCompression: method }));
    const compressed = await runFilter(createCompressor(method), [sampleBaseTar()]);
    const suffix = { gzip: '.gz', lz4: '.lz4', zstd: '.zst' }[method];
    await driveBackup(destination.archive, [{ name: `base.tar${suffix}`, location: '', bytes: compressed }], MANIFEST, { chunkBytes: 1000 });
    await destination.archive.cleanup();
    assert.deepEqual(readFileSync(join(dir, 'global/pg_control')), Buffer.alloc(8192, 0x22));
  }));
}

test('refuses a non-empty tablespace target with TARGET_NOT_EMPTY and leaves it alone', withTempDir(async (root) => {
  const dir = join(root, 'data');
  const location = join(root, 'ts');
  mkdirSync(location);
  writeFileSync(join(location, 'keep'), 'x');
  const destination = createDestination(destinationOptions(dir));
  const tablespaces = [{ oid: 16400, location, sizeKb: null }, { oid: null, location: null, sizeKb: null }];
  await assert.rejects(destination.archive.beginBackup(startInfo(tablespaces)), (error: unknown) => error instanceof ConvoyError && error.code === 'TARGET_NOT_EMPTY');
  await destination.archive.cleanup(new Error('failed'));
  assert.equal(readFileSync(join(location, 'keep'), 'utf8'), 'x');
  assert.equal(existsSync(dir), false);
}));

test('refuses a non-empty data directory', withTempDir(async (root) => {
  writeFileSync(join(root, 'file'), 'x');
  const destination = createDestination(destinationOptions(root));
  await assert.rejects(destination.archive.beginBackup(startInfo()), (error: unknown) => error instanceof ConvoyError && error.code === 'TARGET_NOT_EMPTY');
  await destination.archive.cleanup(new Error('failed'));
  assert.equal(readFileSync(join(root, 'file'), 'utf8'), 'x');
}));

test('-R: settings appended to postgresql.auto.conf and empty standby.signal', withTempDir(async (root) => {
  const dir = join(root, 'data');
  const lines = "primary_conninfo = 'host=127.0.0.1 port=5432'\nprimary_slot_name = 'slot1'\n";
  const destination = createDestination(destinationOptions(dir, { recoveryConf: { autoConfLines: lines } }));
  await driveBackup(destination.archive, [{ name: 'base.tar', location: '', bytes: sampleBaseTar() }], MANIFEST);
  await destination.archive.cleanup();
  assert.equal(readFileSync(join(dir, 'postgresql.auto.conf'), 'utf8'), `# Do not edit this file manually!\n${lines}`);
  assert.equal(statSync(join(dir, 'standby.signal')).size, 0);
  assert.equal(mode(join(dir, 'standby.signal')), 0o600);
}));

test('refuses members written through a symlink from the archive', withTempDir(async (root) => {
  const dir = join(root, 'data');
  const outside = join(root, 'outside');
  const destination = createDestination(destinationOptions(dir));
  const evil = buildTar([{ name: 'pg_tblspc', type: 'directory' }, { name: 'pg_tblspc/1', type: 'symlink', linkname: outside }, { name: 'pg_tblspc/1/x', content: 'escape' }]);
  await assert.rejects(driveBackup(destination.archive, [{ name: 'base.tar', location: '', bytes: evil }], null), (error: unknown) => error instanceof ConvoyError && error.code === 'TAR_UNSAFE_PATH');
  await destination.archive.cleanup(new Error('failed'));
  assert.equal(existsSync(outside), false);
  assert.equal(existsSync(dir), false);
}));

test('a truncated archive fails with TAR_TRUNCATED and cleanup removes the created directory', withTempDir(async (root) => {
  const dir = join(root, 'made/data');
  const destination = createDestination(destinationOptions(dir));
  const bytes = sampleBaseTar();
  const error = await driveBackup(destination.archive, [{ name: 'base.tar', location: '', bytes: bytes.subarray(0, bytes.length - 2000) }], MANIFEST).catch((caught: unknown) => caught);
  assert.ok(error instanceof ConvoyError && error.code === 'TAR_TRUNCATED');
  await destination.archive.cleanup(error);
  assert.equal(existsSync(dir), false);
  assert.equal(existsSync(join(root, 'made')), true); // parents are not ours to remove
}));

test('cleanup empties a pre-existing empty directory; noClean keeps files but no backup_manifest', withTempDir(async (root) => {
  for (const noClean of [false, true]) {
    const dir = join(root, `pre-${noClean}`);
    mkdirSync(dir);
    const destination = createDestination(destinationOptions(dir, { noClean }));
    await destination.archive.beginBackup(startInfo());
    await destination.archive.beginArchive('base.tar', '');
    await destination.archive.archiveContents(sampleBaseTar());
    await destination.archive.endArchive();
    await destination.archive.beginManifest();
    await destination.archive.manifestContents(MANIFEST);
    await destination.archive.endManifest();
    assert.equal(existsSync(join(dir, 'backup_manifest.tmp')), true);
    await destination.archive.cleanup(new Error('server went away'));
    assert.equal(existsSync(dir), true);
    assert.equal(existsSync(join(dir, 'backup_manifest.tmp')), false);
    assert.equal(existsSync(join(dir, 'backup_manifest')), false);
    assert.equal(existsSync(join(dir, 'PG_VERSION')), noClean);
  }
}));

test('-X stream: segments full size, .done for completed ones, partial zero-padded, history; manifest waits for WAL', withTempDir(async (root) => {
  const dir = join(root, 'data');
  const destination = createDestination(destinationOptions(dir, { walMethod: 'stream' }));
  assert.deepEqual(destination.describe(), ['decompress', 'extract', 'wal-dir']);
  const wal = destination.wal;
  assert.ok(wal !== null);
  await destination.archive.beginBackup(startInfo());
  assert.equal(statSync(join(dir, 'pg_wal/archive_status')).isDirectory(), true);
  const start = 3n * BigInt(SEGMENT_BYTES);
  const first = Buffer.alloc(SEGMENT_BYTES + 1000, 0xab); // one whole segment and the start of the next
  for (let at = 0; at < first.length; at += 100000) await wal.writeWal(1, start + BigInt(at), first.subarray(at, at + 100000));
  await wal.writeHistory('00000002.history', Buffer.from('1\t0/4000000\tno recovery target specified\n'));
  await wal.writeWal(2, start + BigInt(SEGMENT_BYTES), Buffer.alloc(500, 0xcd)); // timeline switch inside segment 4
  await driveBackup(destination.archive, [{ name: 'base.tar', location: '', bytes: sampleBaseTar() }], MANIFEST, { hasBegun: true });
  assert.equal(existsSync(join(dir, 'backup_manifest')), false, 'manifest must wait for WAL');
  await wal.finish();
  await destination.archive.cleanup();
  await wal.cleanup();
  const walDir = join(dir, 'pg_wal');
  assert.deepEqual(readdirSync(walDir).sort(), ['000000010000000000000003', '000000010000000000000004', '00000002.history', '000000020000000000000004', 'archive_status', 'summaries']);
  assert.deepEqual(readdirSync(join(walDir, 'archive_status')).sort(), ['000000010000000000000003.done', '00000002.history.done']);
  for (const name of ['000000010000000000000003', '000000010000000000000004', '000000020000000000000004']) assert.equal(statSync(join(walDir, name)).size, SEGMENT_BYTES);
  const partial = readFileSync(join(walDir, '000000010000000000000004'));
  assert.deepEqual(partial.subarray(0, 1000), Buffer.alloc(1000, 0xab));
  assert.deepEqual(partial.subarray(1000), Buffer.alloc(SEGMENT_BYTES - 1000));
  assert.equal(mode(join(walDir, '000000010000000000000003')), 0o600);
  assert.equal(existsSync(join(dir, 'backup_manifest')), true);
}));

test('a failed background write: the large file still being extracted is closed, not left to the garbage collector', { skip: !existsSync('/proc/self/fd') }, withTempDir(async (root) => {
  const openDescriptors = (): number => readdirSync('/proc/self/fd').length;
  const before = openDescriptors();
  const dir = join(root, 'data');
  const destination = createDestination(destinationOptions(dir, { sync: false }));
  // "d" is created as a directory first, so writing the small file "d" fails (EISDIR) in the background; the
  // large file after it reaches its end while the task queue already refuses new work.
  const archive = buildTar([
    { name: 'd', type: 'directory' },
    { name: 'd', content: 'small' },
    { name: 'big', content: Buffer.alloc(600 * 1024, 7) },
  ]);
  await assert.rejects(driveBackup(destination.archive, [{ name: 'base.tar', location: '', bytes: archive }], MANIFEST, { chunkBytes: 64 * 1024 }));
  await destination.archive.cleanup(new Error('failed'));
  assert.equal(openDescriptors(), before);
  assert.equal(existsSync(dir), false);
}));
