import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkRecordStructure } from '../../../src/wal/record-structure.ts';
import { walVersionOf, type WalVersion } from '../../../src/wal/wal-format.ts';

const V13 = walVersionOf(0xd106) as WalVersion;
const V14 = walVersionOf(0xd10d) as WalVersion;
const V15 = walVersionOf(0xd110) as WalVersion;
const V18 = walVersionOf(0xd118) as WalVersion;

const REL = [0x7f, 0x06, 0, 0, 5, 0, 0, 0, 0x00, 0x40, 0, 0]; // spcOid 1663, dbOid 5, relNumber 16384
const BLOCK_NO = [7, 0, 0, 0];

function check(bytes: number[], version = V15, payloadBytes = bytes.length): string | null {
  const buffer = Buffer.from(bytes);
  return checkRecordStructure(buffer, 0, Math.min(buffer.length, payloadBytes), payloadBytes, version);
}

function image(length: number, holeOffset: number, info: number, holeLength?: number): number[] {
  const out = [length & 0xff, length >> 8, holeOffset & 0xff, holeOffset >> 8, info];
  return holeLength === undefined ? out : [...out, holeLength & 0xff, holeLength >> 8];
}

test('accepts records without payload and with short or long main data', () => {
  assert.equal(check([]), null);
  assert.equal(check([255, 3, 1, 2, 3]), null);
  assert.equal(check([254, 3, 0, 0, 0, 1, 2, 3]), null);
  assert.equal(check([255, 4, 1, 2, 3]), 'invalid length');
  assert.equal(check([255, 2, 1, 2, 3]), 'invalid length');
  assert.equal(check([254, 3, 0, 0]), 'invalid length');
});

test('accepts block references with data, same-rel references and an origin', () => {
  const block0 = [0, 0x20, 2, 0, ...REL, ...BLOCK_NO];
  const block1 = [1, 0x80 | 0x20 | 1, 1, 0, ...BLOCK_NO];
  assert.equal(check([...block0, ...block1, 255, 1, 0xa, 0xb, 0xc, 0xd]), null);
  assert.equal(check([253, 9, 0, ...block0, 0xa, 0xb]), null); // origin, no main data
  assert.equal(check([0, 0x20, 0, 0, ...REL, ...BLOCK_NO]), 'BKPBLOCK_HAS_DATA set, but no data included');
  assert.equal(check([0, 0x00, 2, 0, ...REL, ...BLOCK_NO, 1, 2]), 'BKPBLOCK_HAS_DATA not set, but data length is 2');
  assert.equal(check([0, 0x80, 0, 0, ...BLOCK_NO]), 'BKPBLOCK_SAME_REL set but no previous rel');
  assert.equal(check([...block1.map((b, i) => (i === 0 ? 3 : b)), 0xa]), 'BKPBLOCK_SAME_REL set but no previous rel');
  assert.equal(check([...block0, 0, 0x80, 0, 0, ...BLOCK_NO, 1, 2]), 'out-of-order block_id 0');
  assert.equal(check([33, 0, 0, 0]), 'invalid block_id 33');
});

test('knows the top-level XID fragment only from 14 on', () => {
  const bytes = [252, 1, 2, 3, 4, 255, 1, 9];
  assert.equal(check(bytes, V13), 'invalid block_id 252');
  assert.equal(check(bytes, V14), null);
  assert.equal(check(bytes, V18), null);
});

test('checks full-page image headers with each release\'s flag bits', () => {
  const full = (info: number, version: WalVersion): string | null =>
    check([0, 0x10, 0, 0, ...image(8192, 0, info), ...REL, ...BLOCK_NO], version, 25 + 8192);
  assert.equal(full(0x02, V15), null); // 15+: 0x02 is BKPIMAGE_APPLY
  assert.equal(full(0x04, V14), null); // 13/14: 0x04 is BKPIMAGE_APPLY
  assert.equal(full(0x02, V13), 'BKPIMAGE_COMPRESSED set, but block image length 8192'); // 13/14: 0x02 is compressed
  assert.equal(full(0x04, V15), 'BKPIMAGE_COMPRESSED set, but block image length 8192'); // 15+: 0x04 is pglz

  const holed = check([0, 0x10, 0, 0, ...image(8000, 100, 0x03), ...REL, ...BLOCK_NO], V15, 25 + 8000);
  assert.equal(holed, null);
  const compressed = check([0, 0x10, 0, 0, ...image(500, 100, 0x08 | 0x01, 192), ...REL, ...BLOCK_NO], V15, 27 + 500);
  assert.equal(compressed, null);
  const compressed14 = check([0, 0x10, 0, 0, ...image(500, 0, 0x02), ...REL, ...BLOCK_NO], V14, 25 + 500);
  assert.equal(compressed14, null);
  assert.match(check([0, 0x10, 0, 0, ...image(8192, 100, 0x01), ...REL, ...BLOCK_NO], V15, 25 + 8192) ?? '',
    /^BKPIMAGE_HAS_HOLE set/);
  assert.match(check([0, 0x10, 0, 0, ...image(8000, 0, 0x00), ...REL, ...BLOCK_NO], V15, 25 + 8000) ?? '',
    /^BKPIMAGE_HAS_HOLE not set/);
});

test('refuses fragment headers that run past what was inspected', () => {
  const origins = Array.from({ length: 1200 }, () => [253, 1, 0]).flat();
  const bytes = Buffer.from([...origins, 255, 0]);
  assert.equal(checkRecordStructure(bytes, 0, 2048, bytes.length, V15), 'fragment headers are implausibly long');
  assert.equal(checkRecordStructure(bytes, 0, bytes.length, bytes.length, V15), null);
  const offset = Buffer.concat([Buffer.alloc(7), bytes]);
  assert.equal(checkRecordStructure(offset, 7, bytes.length, bytes.length, V15), null);
});
