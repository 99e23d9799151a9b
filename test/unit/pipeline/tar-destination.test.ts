import { mock, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { closeSync, createWriteStream, existsSync, lstatSync, openSync, readFileSync, readdirSync } from 'node:fs';
import { PassThrough } from 'node:stream';
import { join } from 'node:path';
import { createDestination } from '../../../src/pipeline/build-destination.ts';
import { createDecompressor } from '../../../src/pipeline/compression/create-filter.ts';
import type { CompressionMethod } from '../../../src/pipeline/compression/filter.ts';
import { ConvoyError } from '../../../src/errors/index.ts';
import { runFilter } from './compression/filter-helpers.ts';
import { SEGMENT_BYTES, buildTar, destinationOptions, driveBackup, readTar, sampleBaseTar, startInfo, withTempDir } from './pipeline-helpers.ts';

const MANIFEST = Buffer.from('{ "PostgreSQL-Backup-Manifest-Version": 1,\n"Files": [] }\n');
const TAR_FLAG: Record<CompressionMethod, string[]> = { gzip: ['-z'], lz4: ['-I', 'lz4'], zstd: ['--zstd'] };

function gnuList(path: string, flags: string[] = []): string[] {
  const result = spawnSync('tar', [...flags, '--numeric-owner', '-tvf', path], { encoding: 'utf8' });
  assert.equal(result.status, 0, result.stderr);
  return result.stdout.trim().split('\n');
}

test('tar format without compression writes archives as received', withTempDir(async (root) => {
  const dir = join(root, 'backup');
  const destination = createDestination(destinationOptions(dir, { format: 'tar' }));
  assert.deepEqual(destination.describe(), ['tar-file']);
  const base = sampleBaseTar();
  const tablespace = buildTar([{ name: 'PG_17_202406281', type: 'directory' }]);
  const tablespaces = [{ oid: 16400, location: '/srv/ts', sizeKb: null }, { oid: null, location: null, sizeKb: null }];
  await driveBackup(destination.archive, [{ name: '16400.tar', location: '/srv/ts', bytes: tablespace }, { name: 'base.tar', location: '', bytes: base }], MANIFEST, { info: startInfo(tablespaces) });
  await destination.archive.cleanup();
  assert.deepEqual(readdirSync(dir).sort(), ['16400.tar', 'backup_manifest', 'base.tar']);
  assert.deepEqual(readFileSync(join(dir, 'base.tar')), base);
  assert.equal(lstatSync(join(dir, 'base.tar')).mode & 0o777, 0o600);
  assert.ok(gnuList(join(dir, 'base.tar')).some((line) => line.endsWith('pg_wal/archive_status/')));
}));

for (const method of ['gzip', 'lz4', 'zstd'] as CompressionMethod[]) {
  test(`client ${method}: suffixes, readable by GNU tar, pg_wal.tar compressed only for gzip`, withTempDir(async (root) => {
    const dir = join(root, 'backup');
    const destination = createDestination(destinationOptions(dir, { format: 'tar', clientCompression: { method }, walMethod: 'stream' }));
    assert.deepEqual(destination.describe(), [`compress-${method}`, 'tar-file', 'wal-tar']);
    const wal = destination.wal;
    assert.ok(wal !== null);
    await destination.archive.beginBackup(startInfo());
    await wal.writeWal(1, 3n * BigInt(SEGMENT_BYTES), Buffer.alloc(SEGMENT_BYTES + 4096, 0x5a));
    await driveBackup(destination.archive, [{ name: 'base.tar', location: '', bytes: sampleBaseTar() }], MANIFEST, { hasBegun: true, chunkBytes: 65536 });
    await wal.finish();
    await destination.archive.cleanup();
    await wal.cleanup();
    const suffix = { gzip: '.gz', lz4: '.lz4', zstd: '.zst' }[method];
    const walName = method === 'gzip' ? 'pg_wal.tar.gz' : 'pg_wal.tar';
    assert.deepEqual(readdirSync(dir).sort(), ['backup_manifest', `base.tar${suffix}`, walName].sort());
    const base = await runFilter(createDecompressor(method), [readFileSync(join(dir, `base.tar${suffix}`))]);
    assert.deepEqual(base, sampleBaseTar());
    const listing = gnuList(join(dir, `base.tar${suffix}`), TAR_FLAG[method]);
    assert.ok(listing.some((line) => line.endsWith(' global/pg_control')), listing.join('\n'));
    const walListing = gnuList(join(dir, walName), method === 'gzip' ? ['-z'] : []);
    assert.equal(walListing.length, 3, walListing.join('\n'));
    assert.match(walListing[0] ?? '', new RegExp(`^-rw------- 0/0 +${SEGMENT_BYTES} .* 000000010000000000000003$`));
    assert.match(walListing[1] ?? '', / archive_status\/000000010000000000000003\.done$/);
    assert.match(walListing[2] ?? '', / 000000010000000000000004$/);
  }));
}

test('pg_wal.tar layout: header + full segment + end blocks, history queued while a segment is open', withTempDir(async (root) => {
  const dir = join(root, 'backup');
  const destination = createDestination(destinationOptions(dir, { format: 'tar', walMethod: 'stream', manifest: false }));
  const wal = destination.wal;
  assert.ok(wal !== null);
  await destination.archive.beginBackup(startInfo());
  await wal.writeWal(2, 5n * BigInt(SEGMENT_BYTES), Buffer.alloc(100, 1));
  await wal.writeHistory('00000002.history', Buffer.from('1\t0/5000000\tbefore\n'));
  await wal.finish();
  await driveBackup(destination.archive, [{ name: 'base.tar', location: '', bytes: sampleBaseTar() }], null, { hasBegun: true });
  await destination.archive.cleanup();
  await wal.cleanup();
  const bytes = readFileSync(join(dir, 'pg_wal.tar'));
  const { members, order } = readTar(bytes);
  assert.deepEqual(order, ['000000020000000000000005', '00000002.history', 'archive_status/00000002.history.done']);
  const segment = members.get('000000020000000000000005');
  assert.equal(segment?.content.length, SEGMENT_BYTES);
  assert.equal(segment?.uid, 0);
  assert.equal(members.get('00000002.history')?.content, '1\t0/5000000\tbefore\n');
  assert.equal(existsSync(join(dir, 'backup_manifest')), false);
}));

test('-R in tar format: postgresql.auto.conf extended, standby.signal injected last', withTempDir(async (root) => {
  const dir = join(root, 'backup');
  const lines = "primary_conninfo = 'port=5432'\n";
  const destination = createDestination(destinationOptions(dir, { format: 'tar', recoveryConf: { autoConfLines: lines }, clientCompression: { method: 'gzip', level: 1 } }));
  assert.deepEqual(destination.describe(), ['tar-rebuild', 'compress-gzip', 'tar-file']);
  const base = sampleBaseTar([{ name: 'standby.signal', content: 'old' }]);
  await driveBackup(destination.archive, [{ name: 'base.tar', location: '', bytes: base }], MANIFEST, { chunkBytes: 333 });
  await destination.archive.cleanup();
  const rebuilt = await runFilter(createDecompressor('gzip'), [readFileSync(join(dir, 'base.tar.gz'))]);
  const { members, order } = readTar(rebuilt);
  assert.equal(members.get('postgresql.auto.conf')?.content, `# Do not edit this file manually!\n${lines}`);
  assert.equal(order.at(-1), 'standby.signal');
  assert.equal(order.filter((name) => name === 'standby.signal').length, 1);
  assert.equal(members.get('standby.signal')?.content, '');
  assert.equal(members.get('standby.signal')?.uid, 2048);
  assert.equal(members.get('global/pg_control')?.content.length, 8192);
  const listing = gnuList(join(dir, 'base.tar.gz'), ['-z']);
  assert.ok(listing.at(-1)?.endsWith(' standby.signal'));
}));

test('-R adds postgresql.auto.conf when the server sent none', withTempDir(async (root) => {
  const destination = createDestination(destinationOptions(join(root, 'b'), { format: 'tar', recoveryConf: { autoConfLines: 'x = 1\n' } }));
  await driveBackup(destination.archive, [{ name: 'base.tar', location: '', bytes: buildTar([{ name: 'PG_VERSION', content: '17\n' }]) }], null);
  await destination.archive.cleanup();
  const { members, order } = readTar(readFileSync(join(root, 'b/base.tar')));
  assert.deepEqual(order, ['PG_VERSION', 'postgresql.auto.conf', 'standby.signal']);
  assert.equal(members.get('postgresql.auto.conf')?.content, 'x = 1\n');
}));

test("'-D -': one tar on stdout with backup_manifest as its last member", async () => {
  const out = new PassThrough();
  const collected: Buffer[] = [];
  out.on('data', (chunk: Buffer) => collected.push(chunk));
  const destination = createDestination(destinationOptions('-', { format: 'tar', stdout: out }));
  assert.deepEqual(destination.describe(), ['tar-rebuild', 'tar-stdout']);
  await driveBackup(destination.archive, [{ name: 'base.tar', location: '', bytes: sampleBaseTar() }], MANIFEST);
  await destination.archive.cleanup();
  const bytes = Buffer.concat(collected);
  const { members, order } = readTar(bytes);
  assert.equal(order.at(-1), 'backup_manifest');
  assert.equal(members.get('backup_manifest')?.content, MANIFEST.toString('latin1'));
  const listing = spawnSync('tar', ['-tvf', '-'], { input: bytes, encoding: 'utf8' });
  assert.equal(listing.status, 0, listing.stderr);
  assert.match(listing.stdout.trim().split('\n').at(-1) ?? '', / backup_manifest$/);
});

test("'-D -' refuses impossible combinations", () => {
  const conflict = (error: unknown): boolean => error instanceof ConvoyError && error.code === 'OPTION_CONFLICT';
  assert.throws(() => createDestination(destinationOptions('-', { format: 'tar', serverCompression: 'gzip' })), conflict);
  assert.throws(() => createDestination(destinationOptions('-', { format: 'plain' })), conflict);
  assert.throws(() => createDestination(destinationOptions('-', { format: 'tar', walMethod: 'stream' })), conflict);
  assert.throws(() => createDestination(destinationOptions('/x', { format: 'plain', clientCompression: { method: 'gzip' } })), conflict);
  assert.throws(() => createDestination(destinationOptions('/x', { format: 'tar', serverCompression: 'lz4', recoveryConf: { autoConfLines: '' } })), conflict);
  assert.throws(() => createDestination(destinationOptions('/x', { format: 'tar', clientCompression: { method: 'gzip', level: 10 } })), (error: unknown) => error instanceof ConvoyError && error.code === 'OPTION_OUT_OF_RANGE');
  createDestination(destinationOptions('-', { format: 'tar', serverCompression: 'gzip', manifest: false }));
});

test("'-D -' refuses a second tablespace", async () => {
  const destination = createDestination(destinationOptions('-', { format: 'tar', stdout: new PassThrough() }));
  const tablespaces = [{ oid: 16400, location: '/srv/ts', sizeKb: null }, { oid: null, location: null, sizeKb: null }];
  await assert.rejects(destination.archive.beginBackup(startInfo(tablespaces)), (error: unknown) => error instanceof ConvoyError && error.code === 'OPTION_CONFLICT');
  await destination.archive.cleanup(new Error('x'));
});

test("'-D -' into a file: written through the descriptor in batches, the same archive", withTempDir(async (root) => {
  const path = join(root, 'out.tar');
  const fd = openSync(path, 'w');
  const out = createWriteStream(path, { fd });
  const streamWrites = mock.method(out, 'write');
  const destination = createDestination(destinationOptions('-', { format: 'tar', stdout: out }));
  const base = sampleBaseTar([{ name: 'big', content: 'x'.repeat(3 * 1024 * 1024 + 5) }]);
  await driveBackup(destination.archive, [{ name: 'base.tar', location: '', bytes: base }], MANIFEST, { chunkBytes: 32 * 1024 });
  await destination.archive.cleanup();
  closeSync(fd);
  assert.equal(streamWrites.mock.callCount(), 0);
  const { members, order } = readTar(readFileSync(path));
  assert.equal(members.get('big')?.content.length, 3 * 1024 * 1024 + 5);
  assert.equal(order.at(-1), 'backup_manifest');
}));

test('a full disk behind the descriptor of stdout is DISK_FULL', { skip: !existsSync('/dev/full') }, async () => {
  const fd = openSync('/dev/full', 'w');
  const out = createWriteStream('/dev/full', { fd });
  const destination = createDestination(destinationOptions('-', { format: 'tar', manifest: false, stdout: out }));
  const error = await driveBackup(destination.archive, [{ name: 'base.tar', location: '', bytes: sampleBaseTar() }], null, { chunkBytes: 1 << 20 }).catch((caught: unknown) => caught);
  assert.ok(error instanceof ConvoyError && error.code === 'DISK_FULL', String(error));
  await destination.archive.cleanup(error);
  closeSync(fd);
});

test('a full disk on stdout is DISK_FULL', { skip: !existsSync('/dev/full') }, async () => {
  const destination = createDestination(destinationOptions('-', { format: 'tar', manifest: false, stdout: createWriteStream('/dev/full') }));
  const error = await driveBackup(destination.archive, [{ name: 'base.tar', location: '', bytes: Buffer.concat([sampleBaseTar(), Buffer.alloc(0)]) }], null, { chunkBytes: 1 << 20 }).catch((caught: unknown) => caught);
  assert.ok(error instanceof ConvoyError && error.code === 'DISK_FULL', String(error));
  await destination.archive.cleanup(error);
});
