import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Framer } from '../../../src/protocol/framer.ts';
import { allChunkings } from '../../helpers/chunkings.ts';
import { decodeReplicationCopyData, encodeStandbyStatusUpdate } from '../../../src/protocol/replication-messages.ts';

const hex = (text: string): Buffer => Buffer.from(text.replace(/\s+/g, ''), 'hex');

test('XLogData: dataStart, walEnd, sendTime and the WAL bytes as a view', () => {
  const payload = hex('77 0000000008000000 0000000008001000 0002c3a6b1e7f000 d1 06 02 00');
  const decoded = decodeReplicationCopyData(payload);
  assert.deepEqual(decoded, {
    type: 'XLogData', dataStart: 0x8000000n, walEnd: 0x8001000n, sendTimeUs: 0x2c3a6b1e7f000n, data: hex('d1060200'),
  });
  if (decoded.type === 'XLogData') assert.equal(decoded.data.buffer, payload.buffer);
  assert.deepEqual(decodeReplicationCopyData(payload.subarray(0, 25)).type, 'XLogData');
});

test('LSNs above 2^63 stay unsigned', () => {
  const decoded = decodeReplicationCopyData(hex('77 ffffffff00000000 ffffffffffffffff 0000000000000000'));
  assert.equal(decoded.type === 'XLogData' && decoded.dataStart, 0xffffffff00000000n);
});

test('primary keepalive: walEnd, sendTime, replyRequested', () => {
  assert.deepEqual(decodeReplicationCopyData(hex('6b 0000000010200610 0000000000000064 01')),
    { type: 'PrimaryKeepalive', walEnd: 0x10200610n, sendTimeUs: 100n, replyRequested: true });
  assert.deepEqual(decodeReplicationCopyData(hex('6b 0000000010200610 0000000000000064 00')),
    { type: 'PrimaryKeepalive', walEnd: 0x10200610n, sendTimeUs: 100n, replyRequested: false });
});

test('wrong sizes and unknown types are COPY_SUBMESSAGE_INVALID', () => {
  for (const bad of ['6b 0000000010200610 0000000000000064', '6b 0000000010200610 0000000000000064 0100', '77 00', '68 00', '']) {
    assert.throws(() => decodeReplicationCopyData(hex(bad)), { code: 'COPY_SUBMESSAGE_INVALID' }, bad);
  }
});

test('standby status update: 34 bytes, three LSNs, time, replyRequested', () => {
  const encoded = encodeStandbyStatusUpdate({
    writeLsn: 0x10200610n, flushLsn: 0x10000000n, applyLsn: 0n, sendTimeUs: 0x0102030405060708n, replyRequested: false,
  });
  assert.deepEqual(encoded, hex('72 0000000010200610 0000000010000000 0000000000000000 0102030405060708 00'));
  assert.equal(encodeStandbyStatusUpdate({ writeLsn: 0n, flushLsn: 0n, applyLsn: 0n, sendTimeUs: -1n, replyRequested: true })[33], 1);
});

test('a copy-both stream of XLogData and keepalives decodes the same at every split point', () => {
  const frame = (payload: Buffer): Buffer => Buffer.concat([hex('64'), hex((payload.length + 4).toString(16).padStart(8, '0')), payload]);
  const stream = Buffer.concat([
    frame(hex('77 0000000001000000 0000000001000008 0000000000000001 0102030405060708')),
    frame(hex('6b 0000000001000008 0000000000000002 01')),
  ]);
  for (const chunks of allChunkings(stream)) {
    const framer = new Framer();
    const decoded: unknown[] = [];
    for (const chunk of chunks) framer.push(chunk, (copy) => decoded.push(decodeReplicationCopyData(copy.body)));
    assert.deepEqual(decoded, [
      { type: 'XLogData', dataStart: 0x1000000n, walEnd: 0x1000008n, sendTimeUs: 1n, data: hex('0102030405060708') },
      { type: 'PrimaryKeepalive', walEnd: 0x1000008n, sendTimeUs: 2n, replyRequested: true },
    ]);
  }
});
