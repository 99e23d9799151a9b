import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  formatLsn, parseLsn, parseWalFileName, parseWalSegmentSize, segmentOf, segmentStart, walFileName,
} from '../../../src/util/lsn.ts';

test('parses and formats LSNs without padding', () => {
  assert.equal(parseLsn('0/2000028'), 0x2000028n);
  assert.equal(parseLsn('16/B374D848'), (0x16n << 32n) | 0xb374d848n);
  assert.equal(parseLsn('FFFFFFFF/FFFFFFFF'), 0xffffffffffffffffn);
  assert.equal(formatLsn(0x2000028n), '0/2000028');
  assert.equal(formatLsn((0x16n << 32n) | 0xb374d848n), '16/B374D848');
  for (const bad of ['', '0', '0/', '/1', 'x/1', '123456789/0', '0/1/2']) {
    assert.throws(() => parseLsn(bad), { code: 'MALFORMED_MESSAGE' });
  }
});

test('names WAL segments as PostgreSQL does', () => {
  const size = 16 << 20;
  assert.equal(walFileName(1, segmentOf(0x2000028n, size), size), '000000010000000000000002');
  assert.equal(walFileName(2, segmentOf(0x1_0000_0000n, size), size), '000000020000000100000000');
  assert.equal(segmentStart(0x2000028n, size), 0x2000000n);
  assert.deepEqual(parseWalFileName('000000020000000100000003', size), { tli: 2, segno: 259n });
  assert.equal(parseWalFileName('00000002.history', size), null);
  assert.equal(walFileName(1, 259n, 1 << 30), '000000010000004000000003');
});

test('parses wal_segment_size', () => {
  assert.equal(parseWalSegmentSize('16MB'), 16 << 20);
  assert.equal(parseWalSegmentSize('1GB'), 1 << 30);
  for (const bad of ['3MB', '2GB', '512kB', 'MB']) {
    assert.throws(() => parseWalSegmentSize(bad), { code: 'MALFORMED_MESSAGE' });
  }
});
