import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Framer } from '../../../src/protocol/framer.ts';
import { allChunkings } from '../../helpers/chunkings.ts';
import { decodeBackupCopyData } from '../../../src/protocol/copy-backup.ts';

const hex = (text: string): Buffer => Buffer.from(text.replace(/\s+/g, ''), 'hex');

test("'n' new archive: name and location (reference §10.1 bytes)", () => {
  assert.deepEqual(decodeBackupCopyData(hex('6e 626173652e74617200 00')), { type: 'new-archive', name: 'base.tar', location: '' });
  assert.deepEqual(decodeBackupCopyData(Buffer.from('n16384.tar.gz\0/srv/pg/ts1\0')),
    { type: 'new-archive', name: '16384.tar.gz', location: '/srv/pg/ts1' });
});

test("'d' data is a view of the payload after the type byte", () => {
  const payload = hex('64 0102ff');
  const decoded = decodeBackupCopyData(payload);
  assert.deepEqual(decoded, { type: 'data', data: hex('0102ff') });
  if (decoded.type === 'data') assert.equal(decoded.data.buffer, payload.buffer);
  assert.deepEqual(decodeBackupCopyData(hex('64')), { type: 'data', data: Buffer.alloc(0) });
});

test("'p' progress is an unsigned Int64 of exactly 8 bytes", () => {
  assert.deepEqual(decodeBackupCopyData(hex('70 0000000002b4e000')), { type: 'progress', bytesDone: 45408256n });
  assert.deepEqual(decodeBackupCopyData(hex('70 ffffffffffffffff')), { type: 'progress', bytesDone: 2n ** 64n - 1n });
  assert.throws(() => decodeBackupCopyData(hex('70 00000000000000')), { code: 'COPY_SUBMESSAGE_INVALID' });
  assert.throws(() => decodeBackupCopyData(hex('70 000000000000000000')), { code: 'COPY_SUBMESSAGE_INVALID' });
});

test("'m' manifest carries nothing", () => {
  assert.deepEqual(decodeBackupCopyData(hex('6d')), { type: 'manifest' });
  assert.throws(() => decodeBackupCopyData(hex('6d 00')), { code: 'COPY_SUBMESSAGE_INVALID' });
});

test("'n' must hold exactly two strings", () => {
  for (const bad of ['nbase.tar\0', 'nbase.tar', 'nbase.tar\0\0\0', 'nbase.tar\0loc', 'n']) {
    assert.throws(() => decodeBackupCopyData(Buffer.from(bad, 'latin1')), { code: 'COPY_SUBMESSAGE_INVALID' }, JSON.stringify(bad));
  }
});

test('archive names must be plain, visible file names', () => {
  for (const name of ['', '.hidden.tar', '../base.tar', 'a/b.tar', 'a\\b.tar', '/abs.tar']) {
    assert.throws(() => decodeBackupCopyData(Buffer.from(`n${name}\0\0`)), { code: 'INVALID_ARCHIVE_NAME' }, name);
  }
});

test('unknown and empty sub-messages are COPY_SUBMESSAGE_INVALID', () => {
  assert.throws(() => decodeBackupCopyData(hex('78 00')), { code: 'COPY_SUBMESSAGE_INVALID' });
  assert.throws(() => decodeBackupCopyData(Buffer.alloc(0)), { code: 'COPY_SUBMESSAGE_INVALID' });
});

test('a BASE_BACKUP COPY stream decodes the same at every split point', () => {
  const frame = (payload: Buffer): Buffer => {
    const header = Buffer.alloc(5);
    header[0] = 0x64;
    header.writeInt32BE(payload.length + 4, 1);
    return Buffer.concat([header, payload]);
  };
  const stream = Buffer.concat([
    frame(Buffer.from('nbase.tar\0\0')), frame(Buffer.from('dtar-bytes')), frame(hex('70 0000000000000400')),
    frame(Buffer.from('m')), frame(Buffer.from('d{}')),
  ]);
  const expected = [
    { type: 'new-archive', name: 'base.tar', location: '' }, { type: 'data', data: 'tar-bytes' },
    { type: 'progress', bytesDone: 1024n }, { type: 'manifest' }, { type: 'data', data: '{}' },
  ];
  for (const chunks of allChunkings(stream)) {
    const framer = new Framer();
    const decoded: unknown[] = [];
    for (const chunk of chunks) {
      framer.push(chunk, (copy) => {
        const message = decodeBackupCopyData(copy.body);
        decoded.push(message.type === 'data' ? { type: 'data', data: message.data.toString() } : message);
      });
    }
    assert.deepEqual(decoded, expected);
  }
});
