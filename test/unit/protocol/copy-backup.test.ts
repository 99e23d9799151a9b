import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Framer } from '../../../src/protocol/framer.ts';
import { allChunkings } from '../../helpers/chunkings.ts';
import {
  MANIFEST_MARKER, archiveDataFrameHeader, decodeBackupCopyData, encodeNewArchive, encodeProgress,
} from '../../../src/protocol/copy-backup.ts';
import { encodeCopyData } from '../../../src/protocol/encode-backend.ts';
import { copyData, cstr, u64, u8 } from './wire-builder.ts';

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

test("encoders: 'm' marker, 'n' name and location, 'p' unsigned Int64 (vectors)", () => {
  assert.deepEqual(MANIFEST_MARKER, hex('6d'));
  assert.deepEqual(encodeNewArchive('base.tar', ''), hex('6e 626173652e74617200 00'));
  assert.deepEqual(encodeNewArchive('16384.tar.gz', '/srv/pg/ts1'), Buffer.concat([u8(0x6e), cstr('16384.tar.gz'), cstr('/srv/pg/ts1')]));
  assert.deepEqual(encodeProgress(45408256n), hex('70 0000000002b4e000'));
  assert.deepEqual(encodeProgress(0n), hex('70 0000000000000000'));
  assert.deepEqual(encodeProgress(2n ** 64n - 1n), Buffer.concat([u8(0x70), u64(2n ** 64n - 1n)]));
});

test('encoders refuse what the wire cannot carry', () => {
  assert.throws(() => encodeNewArchive('base\0.tar', ''), RangeError);
  assert.throws(() => encodeProgress(-1n), RangeError);
  assert.throws(() => encodeProgress(2n ** 64n), RangeError);
});

test("archiveDataFrameHeader: CopyData type, length counting the 'd' byte and the data, then 'd'", () => {
  assert.deepEqual(archiveDataFrameHeader(3), hex('64 00000008 64'));
  assert.deepEqual(archiveDataFrameHeader(0), hex('64 00000005 64'));
  assert.deepEqual(archiveDataFrameHeader(65536), hex('64 00010005 64'));
  const data = Buffer.from('tar-bytes');
  assert.deepEqual(Buffer.concat([archiveDataFrameHeader(data.length), data]), copyData(Buffer.concat([Buffer.from('d'), data])));
});

test('encoded sub-messages decode back, framed at every split point', () => {
  const data = Buffer.alloc(700, 0xab);
  const stream = Buffer.concat([
    encodeCopyData(encodeNewArchive('base.tar', '')), archiveDataFrameHeader(data.length), data, encodeCopyData(encodeProgress(1024n)),
    encodeCopyData(encodeNewArchive('16384.tar', '/srv/pg/ts1')), archiveDataFrameHeader(0), encodeCopyData(MANIFEST_MARKER),
    archiveDataFrameHeader(2), Buffer.from('{}'),
  ]);
  const expected = [
    { type: 'new-archive', name: 'base.tar', location: '' }, { type: 'data', data: data.toString('hex') },
    { type: 'progress', bytesDone: 1024n }, { type: 'new-archive', name: '16384.tar', location: '/srv/pg/ts1' },
    { type: 'data', data: '' }, { type: 'manifest' }, { type: 'data', data: Buffer.from('{}').toString('hex') },
  ];
  for (const chunks of allChunkings(stream)) {
    const framer = new Framer();
    const decoded: unknown[] = [];
    for (const chunk of chunks) {
      framer.push(chunk, (frame) => {
        assert.equal(frame.type, 0x64);
        const message = decodeBackupCopyData(frame.body);
        decoded.push(message.type === 'data' ? { type: 'data', data: message.data.toString('hex') } : message);
      });
    }
    assert.deepEqual(decoded, expected);
    assert.ok(framer.isIdle);
  }
});
