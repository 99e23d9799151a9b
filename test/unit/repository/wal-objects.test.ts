import assert from 'node:assert/strict';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import type { CompressionMethod } from '../../../src/pipeline/compression/filter.ts';
import { archiveGet } from '../../../src/repository/archive-get.ts';
import { RepositoryWalSink } from '../../../src/repository/repository-wal-sink.ts';
import { LocalStorage } from '../../../src/repository/storage.ts';
import { publishCompressed } from '../../../src/repository/wal-objects.ts';
import { hasTool, tool } from '../pipeline/compression/filter-helpers.ts';
import { scratchDir } from './scratch-dirs.ts';

const SEG = 1024 * 1024;
const SEGMENT = '000000010000000000000002';
const METHODS: readonly CompressionMethod[] = ['gzip', 'lz4', 'zstd'];
const SUFFIX: Record<CompressionMethod, string> = { gzip: '.gz', lz4: '.lz4', zstd: '.zst' };
const TOOL: Record<CompressionMethod, string> = { gzip: 'gzip', lz4: 'lz4', zstd: 'zstd' };

/** WAL-like bytes: mostly zeros with a pattern, so every method really compresses. */
function segmentBytes(seed: number): Buffer {
  const bytes = Buffer.alloc(SEG);
  for (let at = 0; at < SEG; at += 97) bytes[at] = (at * seed) % 251;
  return bytes;
}

for (const method of METHODS) {
  test(`-Z ${method}: a completed segment is stored as ${SUFFIX[method]} (smaller, its bytes inside), the partial removed; archive-get hands it out plain`, async () => {
    const storage = new LocalStorage(await scratchDir('wal-z'));
    const start = 2n * BigInt(SEG);
    const data = segmentBytes(3);
    const sink = new RepositoryWalSink(storage, { segmentBytes: SEG, synchronous: false, durableLsn: start, compression: { method } });
    await sink.writeWal(1, start, data.subarray(0, 1000));
    assert.deepEqual(await readdir(join(storage.location, 'wal')), [`${SEGMENT}.partial`]);
    await sink.writeWal(1, start + 1000n, data.subarray(1000));
    assert.equal(sink.flushedLsn, start + BigInt(SEG));
    await sink.finish();
    assert.deepEqual(await readdir(join(storage.location, 'wal')), [`${SEGMENT}${SUFFIX[method]}`]);
    const stored = await readFile(join(storage.location, 'wal', `${SEGMENT}${SUFFIX[method]}`));
    assert.ok(stored.length < SEG / 4, `${stored.length} bytes`);
    // Read by the method's own tool where installed, so the file is what `gzip -d`, `lz4 -d` or `zstd -d` reads.
    if (hasTool(TOOL[method])) assert.ok(tool(TOOL[method], ['-dc'], stored).equals(data), `${TOOL[method]} -dc`);
    const out = join(await scratchDir('wal-z-out'), 'RECOVERYXLOG');
    assert.equal(await archiveGet(storage, SEGMENT, out), SEG);
    assert.ok((await readFile(out)).equals(data));
  });
}

test('compressed publish again: the same WAL is fine (the partial goes); different WAL is WAL_CONFLICT and the partial stays', async () => {
  const storage = new LocalStorage(await scratchDir('wal-z-again'));
  const data = segmentBytes(5);
  for (const bytes of [data, data]) {
    await storage.put(`wal/${SEGMENT}.partial`, bytes);
    await publishCompressed(storage, SEGMENT, { method: 'zstd', level: 3 });
    assert.deepEqual(await storage.list('wal'), [`${SEGMENT}.zst`]);
  }
  await storage.put(`wal/${SEGMENT}.partial`, segmentBytes(7));
  await assert.rejects(publishCompressed(storage, SEGMENT, { method: 'zstd' }), { code: 'WAL_CONFLICT' });
  assert.deepEqual(await storage.list('wal'), [`${SEGMENT}.partial`, `${SEGMENT}.zst`]);
});

test('archive-get: a missing segment is WAL_MISSING even with compressed neighbours; history files are copied as they are', async () => {
  const storage = new LocalStorage(await scratchDir('wal-z-get'));
  await storage.put(`wal/${SEGMENT}.gz`, Buffer.from('not read'));
  await storage.put('wal/00000002.history', Buffer.from('1\t0/3000000\tno recovery target specified\n'));
  const dir = await scratchDir('wal-z-get-out');
  await assert.rejects(archiveGet(storage, '000000010000000000000003', join(dir, 'x')), { code: 'WAL_MISSING' });
  assert.equal(await archiveGet(storage, '00000002.history', join(dir, 'h')), 41);
});
