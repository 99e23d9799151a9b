import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseCompressionSpec } from '../../../src/backup/compression-spec.ts';

test('reads the forms pg_basebackup accepts', () => {
  assert.equal(parseCompressionSpec('0'), null);
  assert.equal(parseCompressionSpec('none'), null);
  assert.deepEqual(parseCompressionSpec('5'), { location: 'client', method: 'gzip', level: 5, detail: '5' });
  assert.deepEqual(parseCompressionSpec('gzip'), { location: 'client', method: 'gzip' });
  assert.deepEqual(parseCompressionSpec('server-lz4:level=3'), { location: 'server', method: 'lz4', level: 3, detail: 'level=3' });
  assert.deepEqual(parseCompressionSpec('client-zstd:level=5,workers=2,long'),
    { location: 'client', method: 'zstd', level: 5, workers: 2, long: true, detail: 'level=5,workers=2,long' });
  assert.deepEqual(parseCompressionSpec('server-zstd:-5'), { location: 'server', method: 'zstd', level: -5, detail: '-5' });
});

test('rejects the specifications PostgreSQL rejects, with a code per kind', () => {
  const cases: Array<[string, string]> = [
    ['none:1', 'OPTION_INVALID'],
    ['none+', 'OPTION_INVALID'],
    ['extrasquishy', 'OPTION_INVALID'],
    ['gzip:', 'OPTION_INVALID'],
    ['gzip:thunk', 'OPTION_INVALID'],
    ['gzip:level', 'OPTION_INVALID'],
    ['gzip:level=', 'OPTION_INVALID'],
    ['gzip:level=high', 'OPTION_INVALID'],
    ['gzip:level=236', 'OPTION_OUT_OF_RANGE'],
    ['gzip:level=9,', 'OPTION_INVALID'],
    ['gzip:workers=3', 'OPTION_INVALID'],
    ['gzip:long', 'OPTION_INVALID'],
    ['lz4:13', 'OPTION_OUT_OF_RANGE'],
  ];
  for (const [spec, code] of cases) {
    assert.throws(() => parseCompressionSpec(spec), { code }, spec);
  }
});
