import { test } from 'node:test';
import assert from 'node:assert/strict';
import { gunzipSync } from 'node:zlib';
import { createCompressor, createDecompressor } from '../../../../src/pipeline/compression/create-filter.ts';
import { compressionOfName, type CompressionMethod } from '../../../../src/pipeline/compression/filter.ts';
import { ProtocolError } from '../../../../src/errors/index.ts';
import { hasTool, runFilter, sampleData, split, tool } from './filter-helpers.ts';

const METHODS: CompressionMethod[] = ['gzip', 'lz4', 'zstd'];
const TOOL: Record<CompressionMethod, string> = { gzip: 'gzip', lz4: 'lz4', zstd: 'zstd' };
const data = sampleData(3 * 1024 * 1024 + 12345);

for (const method of METHODS) {
  test(`${method}: round trip through our filters at several chunk sizes`, async () => {
    for (const size of [1000, 65536, 5 * 1024 * 1024]) {
      const packed = await runFilter(createCompressor(method), split(data, size));
      assert.ok(packed.length < data.length);
      for (const outSize of [4093, 1 << 20]) {
        const unpacked = await runFilter(createDecompressor(method), split(packed, outSize));
        assert.ok(unpacked.equals(data), `${method} chunk ${size}/${outSize}`);
      }
    }
  });

  test(`${method}: compressed input fed one byte at a time`, async () => {
    const small = data.subarray(0, 40000);
    const packed = await runFilter(createCompressor(method), [small]);
    assert.ok((await runFilter(createDecompressor(method), split(packed, 1))).equals(small));
  });

  test(`${method}: empty input`, async () => {
    const packed = await runFilter(createCompressor(method), []);
    assert.equal((await runFilter(createDecompressor(method), [packed])).length, 0);
  });

  test(`${method}: output is read by the ${TOOL[method]} tool, and its output by us`, { skip: !hasTool(TOOL[method]) }, async () => {
    const packed = await runFilter(createCompressor(method, method === 'zstd' ? 3 : 1), split(data, 65536));
    assert.ok(tool(TOOL[method], ['-dc'], packed).equals(data));
    const variants: string[][] = method === 'lz4'
      ? [['-c'], ['-c', '-BD'], ['-c', '-BD', '-BX', '--content-size', '-B4'], ['-c', '-9', '-BD', '-B5']]
      : [['-c']];
    for (const args of variants) {
      const external = tool(TOOL[method], args, data);
      assert.ok((await runFilter(createDecompressor(method), split(external, 10007))).equals(data), args.join(' '));
    }
  });

  test(`${method}: corrupt input is COMPRESSED_DATA_INVALID`, async () => {
    const packed = await runFilter(createCompressor(method), [data.subarray(0, 200000)]);
    const damaged = Buffer.from(packed);
    for (let i = 20; i < 60; i++) damaged[i] = (damaged[i] as number) ^ 0x5a;
    await assert.rejects(runFilter(createDecompressor(method), [damaged]), (error: unknown) => error instanceof ProtocolError && error.code === 'COMPRESSED_DATA_INVALID');
    await assert.rejects(runFilter(createDecompressor(method), [packed.subarray(0, packed.length - 3)]), (error: unknown) => error instanceof ProtocolError && error.code === 'COMPRESSED_DATA_INVALID');
  });

  test(`${method}: a highly compressible input expands in bounded chunks`, async () => {
    const zeros = Buffer.alloc(64 * 1024 * 1024);
    const packed = await runFilter(createCompressor(method), split(zeros, 1 << 20));
    const unpacked = await runFilter(createDecompressor(method), [packed]); // runFilter rejects outputs > ~4 MiB
    assert.equal(unpacked.length, zeros.length);
  });
}

test('gzip output is standard gzip', async () => {
  const packed = await runFilter(createCompressor('gzip', 9), [data]);
  assert.ok(gunzipSync(packed).equals(data));
});

test('inputs are never modified', async () => {
  for (const method of METHODS) {
    const copy = Buffer.from(data);
    const packed = await runFilter(createCompressor(method), split(copy, 100000));
    const packedCopy = Buffer.from(packed);
    await runFilter(createDecompressor(method), split(packed, 100000));
    assert.ok(copy.equals(data));
    assert.ok(packed.equals(packedCopy));
  }
});

test('suffixes', () => {
  assert.equal(compressionOfName('base.tar.gz'), 'gzip');
  assert.equal(compressionOfName('16384.tar.lz4'), 'lz4');
  assert.equal(compressionOfName('base.tar.zst'), 'zstd');
  assert.equal(compressionOfName('base.tar'), null);
});
