import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CHECKSUM_BYTES, checksumHex, createDigester, parseChecksumAlgorithm, type ChecksumAlgorithm } from '../../../src/manifest/checksum.ts';
import { everySplit } from '../../helpers/chunkings.ts';

const ABC = Buffer.from('abc');

test('CRC32C is written as the little-endian bytes of the CRC, as PostgreSQL does', () => {
  // CRC-32C("123456789") = 0xE3069283 (the published check value).
  assert.equal(checksumHex('CRC32C', Buffer.from('123456789')), '839206e3');
  assert.equal(checksumHex('CRC32C', Buffer.alloc(0)), '00000000');
});

test('a real backup_label: pg_basebackup 15 wrote its CRC32C as "70124a8b"', () => {
  const label = Buffer.from(
    'START WAL LOCATION: 0/11000028 (file 000000010000000000000011)\nCHECKPOINT LOCATION: 0/1103F148\n' +
    'BACKUP METHOD: streamed\nBACKUP FROM: primary\nSTART TIME: 2026-11-25 09:03:32 UTC\n' +
    'LABEL: pg_basebackup base backup\nSTART TIMELINE: 1\n');
  assert.equal(label.length, 227);
  assert.equal(checksumHex('CRC32C', label), '70124a8b');
});

test('SHA-2 check values of "abc" (FIPS 180-4 examples)', () => {
  assert.equal(checksumHex('SHA224', ABC), '23097d223405d8228642a477bda255b32aadbce4bda0b3f7e36c9da7');
  assert.equal(checksumHex('SHA256', ABC), 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
  assert.equal(checksumHex('SHA384', ABC),
    'cb00753f45a35e8bb5a03d699ac65007272c32ab0eded1631a8b605a43ff5bed8086072ba1e7cc2358baeca134c825a7');
  assert.equal(checksumHex('SHA512', ABC),
    'ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f');
  assert.equal(checksumHex('SHA256', Buffer.alloc(0)), 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
});

test('NONE digests to nothing', () => {
  assert.equal(checksumHex('NONE', ABC), '');
});

test('digest length matches CHECKSUM_BYTES for every algorithm', () => {
  for (const [algorithm, bytes] of Object.entries(CHECKSUM_BYTES) as [ChecksumAlgorithm, number][]) {
    assert.equal(checksumHex(algorithm, ABC).length, bytes * 2, algorithm);
  }
});

test('incremental updates at every split point give the one-shot digest', () => {
  const data = Buffer.from('The quick brown fox jumps over the lazy dog, twice over and once more.');
  for (const algorithm of ['CRC32C', 'SHA224', 'SHA256', 'SHA384', 'SHA512'] as const) {
    const whole = checksumHex(algorithm, data);
    for (const chunks of everySplit(data)) {
      const digester = createDigester(algorithm);
      for (const chunk of chunks) digester.update(chunk);
      assert.equal(digester.finish(), whole, algorithm);
    }
    const ranged = createDigester(algorithm);
    ranged.update(data, 0, 10);
    ranged.update(data, 10);
    assert.equal(ranged.finish(), whole, `${algorithm} with start/end`);
  }
});

test('algorithm names parse case-insensitively, unknown ones do not', () => {
  assert.equal(parseChecksumAlgorithm('sha256'), 'SHA256');
  assert.equal(parseChecksumAlgorithm('CRC32C'), 'CRC32C');
  assert.equal(parseChecksumAlgorithm('none'), 'NONE');
  assert.equal(parseChecksumAlgorithm('MD5'), null);
});
