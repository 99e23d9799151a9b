import assert from 'node:assert/strict';
import { once } from 'node:events';
import { test } from 'node:test';
import { connect } from '../../../src/client/connection.ts';
import type { BaseBackupOptions } from '../../../src/client/types.ts';
import { copyData, copyOutResponse, resultSet } from '../protocol/wire-builder.ts';
import { scriptedServer, type PeerConnection } from './scripted-server.ts';

const OPTIONS: BaseBackupOptions = {
  label: 'unit', progress: false, fastCheckpoint: true, wal: false, wait: true, tablespaceMap: false,
  verifyChecksums: true, manifest: 'no',
};
const CHUNK_BYTES = 32 * 1024;
const dataMessage = copyData(Buffer.concat([Buffer.from('d'), Buffer.alloc(CHUNK_BYTES, 0x5a)]));

/** Start of a 15+ backup, then `total` bytes of 'd' messages as fast as the socket takes them. */
async function streamingServer(total: number, progress: { written: number }) {
  return scriptedServer(async (peer: PeerConnection) => {
    await peer.acceptStartup('15.18');
    await peer.readMessage();
    peer.write(Buffer.concat([
      resultSet(['recptr', 'tli'], [['0/2000028', '1']], 'SELECT'),
      resultSet(['spcoid', 'spclocation', 'size'], [[null, null, null]], 'SELECT'),
      copyOutResponse(), copyData(Buffer.from('nbase.tar\0\0')),
    ]));
    while (progress.written < total) {
      progress.written += CHUNK_BYTES;
      if (!peer.write(dataMessage)) await Promise.race([once(peer.socket, 'drain'), once(peer.socket, 'close')]);
      if (peer.socket.destroyed) return;
    }
  });
}

test('a consumer that stops pulling stops the socket: the server cannot push the whole backup', async () => {
  const total = 128 * 1024 * 1024;
  const progress = { written: 0 };
  const server = await streamingServer(total, progress);
  const session = await connect(server.params);
  let received = 0;
  let stalledAt = -1;
  for await (const event of session.baseBackup(OPTIONS)) {
    if (event.type !== 'data') continue;
    received += event.chunk.length;
    if (stalledAt < 0) {
      await new Promise((resolve) => setTimeout(resolve, 500));
      stalledAt = progress.written;
    }
    if (received >= total) break;
  }
  assert.ok(stalledAt < 16 * 1024 * 1024, `server pushed ${stalledAt} bytes while the consumer stalled`);
  assert.equal(received, total);
  await server.close();
});

test('abort mid-stream rejects the iteration and every later call with ABORTED', async () => {
  const progress = { written: 0 };
  const server = await streamingServer(1024 * 1024 * 1024, progress);
  const controller = new AbortController();
  const session = await connect(server.params, { signal: controller.signal });
  let events = 0;
  await assert.rejects(async () => {
    for await (const _event of session.baseBackup(OPTIONS)) {
      if (++events === 10) controller.abort();
    }
  }, { code: 'ABORTED' });
  await assert.rejects(session.show('x'), { code: 'ABORTED' });
  await server.close();
});

test('leaving the iteration early abandons the session (the COPY cannot be resumed)', async () => {
  const progress = { written: 0 };
  const server = await streamingServer(1024 * 1024 * 1024, progress);
  const session = await connect(server.params);
  for await (const event of session.baseBackup(OPTIONS)) {
    if (event.type === 'data') break;
  }
  await assert.rejects(session.show('x'), { code: 'ABORTED' });
  await server.close();
});

test('one command at a time', async () => {
  const server = await scriptedServer(async (peer) => {
    await peer.acceptStartup();
    await peer.readMessage();
  });
  const session = await connect(server.params);
  const pending = session.show('a');
  await assert.rejects(session.show('b'), { code: 'INTERNAL_ASSERTION' });
  session.destroy();
  await assert.rejects(pending, { code: 'ABORTED' });
  await server.close();
});
