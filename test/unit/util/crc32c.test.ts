import { test } from 'node:test';
import assert from 'node:assert/strict';
import { crc32c, crc32cCombine } from '../../../src/util/crc32c.ts';

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

test('large inputs (native path) agree with small ones (JavaScript path), also when continued', () => {
  const data = Buffer.alloc(10_000);
  for (let i = 0; i < data.length; i++) data[i] = (i * 31 + 7) & 0xff;
  let byPieces = 0;
  for (let at = 0; at < data.length; at += 100) byPieces = crc32c(data, byPieces, at, Math.min(at + 100, data.length));
  assert.equal(crc32c(data), byPieces);
  assert.equal(crc32c(data, crc32c(data, 0, 0, 3000), 3000), byPieces);
});

test('combines the CRCs of two parts into the CRC of the whole, at every split point', () => {
  const data = Buffer.alloc(3000);
  for (let i = 0; i < data.length; i++) data[i] = (i * 131 + 17) & 0xff;
  const whole = crc32c(data);
  for (let split = 0; split <= data.length; split += split < 40 ? 1 : 97) {
    const head = crc32c(data.subarray(0, split));
    const tail = crc32c(data.subarray(split));
    assert.equal(crc32cCombine(head, tail, data.length - split), whole, `split at ${split}`);
  }
  assert.equal(crc32cCombine(crc32c(data), 0, 0), whole, 'an empty tail changes nothing');
});

test('shifting by n then by m is shifting by n + m, also past 2^32 bytes', () => {
  // Combining with an empty CRC is a pure shift of A, so a 1 GiB or 8 GiB tail can be checked without its bytes.
  const a = crc32c(Buffer.from('123456789'));
  assert.equal(crc32cCombine(a, 0, 2 ** 33 + 12345), crc32cCombine(crc32cCombine(a, 0, 2 ** 33), 0, 12345));
  assert.equal(crc32cCombine(a, 0, 3 << 29), crc32cCombine(crc32cCombine(a, 0, 1 << 30), 0, 1 << 29));
});
