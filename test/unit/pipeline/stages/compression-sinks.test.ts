import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CompressSink } from '../../../../src/pipeline/stages/compress-sink.ts';
import { DecompressSink } from '../../../../src/pipeline/stages/decompress-sink.ts';
import type { CompressionMethod } from '../../../../src/pipeline/compression/filter.ts';
import { RecordingSink, driveBackup, sampleBaseTar } from '../pipeline-helpers.ts';

const MANIFEST = Buffer.from('{"x": 1}\n');

for (const method of ['gzip', 'lz4', 'zstd'] as CompressionMethod[]) {
  test(`CompressSink(${method}) then DecompressSink: names and bytes round trip, manifest untouched`, async () => {
    const packed = new RecordingSink();
    const tar = sampleBaseTar();
    await driveBackup(new CompressSink(packed, { method }), [{ name: 'base.tar', location: '', bytes: tar }, { name: '16400.tar', location: '/ts', bytes: tar }], MANIFEST);
    const suffix = { gzip: '.gz', lz4: '.lz4', zstd: '.zst' }[method];
    assert.deepEqual(packed.archives.map((archive) => [archive.name, archive.location]), [[`base.tar${suffix}`, ''], [`16400.tar${suffix}`, '/ts']]);
    assert.deepEqual(Buffer.concat(packed.manifest), MANIFEST);
    assert.deepEqual(packed.hooks().filter((hook) => hook !== 'archiveContents' && hook !== 'manifestContents'),
      ['beginBackup', 'beginArchive', 'endArchive', 'beginArchive', 'endArchive', 'beginManifest', 'endManifest', 'endBackup']);

    const plain = new RecordingSink();
    const archives = packed.archives.map((archive) => ({ name: archive.name, location: archive.location, bytes: Buffer.concat(archive.bytes) }));
    await driveBackup(new DecompressSink(plain), archives, MANIFEST, { chunkBytes: 999 });
    assert.deepEqual(plain.archives.map((archive) => archive.name), ['base.tar', '16400.tar']);
    assert.deepEqual(plain.archiveBytes(0), tar);
    assert.deepEqual(plain.archiveBytes(1), tar);
  });
}

test('DecompressSink passes uncompressed archives through chunk for chunk', async () => {
  const sink = new RecordingSink();
  const tar = sampleBaseTar();
  await driveBackup(new DecompressSink(sink), [{ name: 'base.tar', location: '', bytes: tar }], null, { chunkBytes: 1000 });
  assert.equal(sink.calls.filter((call) => call.hook === 'archiveContents').length, Math.ceil(tar.length / 1000));
  assert.deepEqual(sink.archiveBytes(), tar);
});

test('cleanup reaches the terminal stage with the error', async () => {
  const sink = new RecordingSink();
  const stage = new CompressSink(sink, { method: 'gzip' });
  await stage.beginBackup((await import('../pipeline-helpers.ts')).startInfo());
  await stage.beginArchive('base.tar', '');
  await stage.archiveContents(Buffer.alloc(10));
  const error = new Error('boom');
  await stage.cleanup(error);
  assert.deepEqual(sink.calls.at(-1), { hook: 'cleanup', args: [error] });
});
