import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ByteReader } from '../../../src/protocol/reader.ts';
import { ByteWriter } from '../../../src/protocol/writer.ts';

const hex = (text: string): Buffer => Buffer.from(text.replace(/\s+/g, ''), 'hex');

test('reader: integers big-endian, strings, views, bounds', () => {
  const reader = new ByteReader(hex('ff 8000 ffffffff ffffffff 8000000000000000 ffffffffffffffff 616200 0102'), 'Test');
  assert.equal(reader.u8(), 255);
  assert.equal(reader.i16(), -32768);
  assert.equal(reader.i32(), -1);
  assert.equal(reader.u32(), 4294967295);
  assert.equal(reader.i64(), -(2n ** 63n));
  assert.equal(reader.u64(), 2n ** 64n - 1n);
  assert.equal(reader.cstring(), 'ab');
  assert.deepEqual(reader.rest(), hex('0102'));
  reader.expectEnd();
  assert.throws(() => reader.u8(), { code: 'MALFORMED_MESSAGE' });
  assert.throws(() => new ByteReader(hex('6162'), 'Test').cstring(), { code: 'MALFORMED_MESSAGE' });
  assert.throws(() => new ByteReader(hex('00'), 'Test').expectEnd(), { code: 'MALFORMED_MESSAGE' });
  assert.throws(() => new ByteReader(hex('00'), 'Test').bytes(-1), { code: 'MALFORMED_MESSAGE' });
});

test('writer: back-patched length, growth, fresh output each time', () => {
  const writer = new ByteWriter(4);
  const at = writer.beginMessage(0x51);
  writer.cstring('x'.repeat(20)).i16(-2).i64(-1n).u64(1n);
  const first = writer.endMessage(at).finish();
  assert.deepEqual(first, Buffer.concat([hex('51 0000002b'), Buffer.from('x'.repeat(20)), hex('00 fffe ffffffffffffffff 0000000000000001')]));
  const second = writer.u8(1).finish();
  assert.deepEqual(second, hex('01'));
  assert.equal(first[0], 0x51, 'earlier output untouched');
});
