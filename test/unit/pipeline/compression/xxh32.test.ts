import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Xxh32, xxh32 } from '../../../../src/pipeline/compression/xxh32.ts';
import { allChunkings } from '../../../helpers/chunkings.ts';

test('published XXH32 check values', () => {
  assert.equal(xxh32(Buffer.alloc(0)), 0x02cc5d05);
  assert.equal(xxh32(Buffer.from('abc')), 0x32d153ff);
});

test('streaming equals one-shot at every split', () => {
  const input = Buffer.from('Nobody inspects the spammish repetition, 0123456789abcdef');
  const expected = xxh32(input);
  for (const chunks of allChunkings(input)) {
    const hash = new Xxh32();
    for (const chunk of chunks) hash.update(chunk);
    assert.equal(hash.digest(), expected);
  }
});
