import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseMaxRate, parseTablespaceMapping } from '../../../src/backup/option-values.ts';

test('max rate in kB/s with k and M suffixes and pg_basebackup range', () => {
  assert.equal(parseMaxRate('32'), 32);
  assert.equal(parseMaxRate('100k'), 100);
  assert.equal(parseMaxRate('10M'), 10240);
  assert.equal(parseMaxRate('1024M'), 1048576);
  assert.throws(() => parseMaxRate('31'), { code: 'OPTION_OUT_OF_RANGE' });
  assert.throws(() => parseMaxRate('1025M'), { code: 'OPTION_OUT_OF_RANGE' });
  assert.throws(() => parseMaxRate('0'), { code: 'OPTION_OUT_OF_RANGE' });
  assert.throws(() => parseMaxRate('fast'), { code: 'OPTION_INVALID' });
});

test('tablespace mapping with escapes and the pg_basebackup errors', () => {
  assert.deepEqual(parseTablespaceMapping('/a=/b'), { oldDir: '/a', newDir: '/b' });
  assert.deepEqual(parseTablespaceMapping('/a\\=x=/b/'), { oldDir: '/a=x', newDir: '/b' });
  for (const bad of ['/a', '=/b', '/a=', '/a=/b=/c', 'a=/b', '/a=b']) {
    assert.throws(() => parseTablespaceMapping(bad), { code: 'OPTION_INVALID' }, bad);
  }
});
