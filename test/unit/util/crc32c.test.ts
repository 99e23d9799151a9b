import { test } from 'node:test';
import assert from 'node:assert/strict';
import { crc32c } from '../../../src/util/crc32c.ts';

test('matches the published CRC-32C check value', () => {
  assert.equal(crc32c(Buffer.from('123456789')), 0xe3069283);
  assert.equal(crc32c(Buffer.alloc(0)), 0);
  assert.equal(crc32c(Buffer.alloc(32)), 0x8a9136aa); // RFC 3720 B.4: 32 bytes of zeros
  assert.equal(crc32c(Buffer.alloc(32, 0xff)), 0x62a8ab43); // RFC 3720 B.4: 32 bytes of 0xff
});

test('continues incrementally at every split point', () => {
  const data = Buffer.from('The quick brown fox jumps over the lazy dog, twice over.');
  const whole = crc32c(data);
  for (let split = 0; split <= data.length; split++) {
    assert.equal(crc32c(data, crc32c(data, 0, 0, split), split), whole, `split at ${split}`);
  }
});
