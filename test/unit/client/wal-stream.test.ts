import assert from 'node:assert/strict';
import { test } from 'node:test';
import { connect } from '../../../src/client/connection.ts';
import type { WalStreamEvent } from '../../../src/client/types.ts';
import {
  commandComplete, copyBothResponse, copyData, copyDone, errorResponse, readyForQuery, resultSet, u64, u8,
} from '../protocol/wire-builder.ts';
import { scriptedServer, type FrontendMessage } from './scripted-server.ts';

const xlogData = (startLsn: bigint, walEnd: bigint, data: string): Buffer =>
  copyData(Buffer.concat([Buffer.from('w'), u64(startLsn), u64(walEnd), u64(0n), Buffer.from(data)]));
const keepalive = (walEnd: bigint, replyRequested: boolean): Buffer =>
  copyData(Buffer.concat([Buffer.from('k'), u64(walEnd), u64(0n), u8(replyRequested ? 1 : 0)]));

function statusUpdate(message: FrontendMessage): { write: bigint; flush: bigint; apply: bigint; replyRequested: number } {
  assert.equal(message.type, 'd');
  assert.equal(message.body.length, 34);
  assert.equal(message.body[0], 0x72);
  return {
    write: message.body.readBigUInt64BE(1), flush: message.body.readBigUInt64BE(9), apply: message.body.readBigUInt64BE(17),
    replyRequested: message.body[33] as number,
  };
}

test('XLogData events, an immediate reply to a keepalive, stop() with CopyData crossing our CopyDone', async () => {
  const seen: FrontendMessage[] = [];
  const server = await scriptedServer(async (peer) => {
    await peer.acceptStartup();
    seen.push(await peer.readMessage());
    peer.write(Buffer.concat([copyBothResponse(), xlogData(0x1000000n, 0x1000010n, 'abcd'), keepalive(0x1000010n, true)]));
    seen.push(await peer.readMessage()); // the reply to the keepalive
    peer.write(xlogData(0x1000004n, 0x1000010n, 'efgh'));
    seen.push(await peer.readUntil('c'));
    peer.write(Buffer.concat([xlogData(0x1000008n, 0x1000010n, 'late'), keepalive(0x1000010n, false), copyDone(),
      commandComplete('START_STREAMING'), commandComplete('START_REPLICATION'), readyForQuery()]));
  });
  const session = await connect(server.params);
  const stream = session.startReplication({ slot: 's', startLsn: 0x1000000n, timeline: 1, statusIntervalMs: 0 });
  const events: WalStreamEvent[] = [];
  for await (const event of stream) {
    events.push(event);
    if (events.length === 2) stream.reportPosition(0x1000008n, 0x1000004n);
    if (events.length === 2) await stream.stop();
  }
  await server.done;
  assert.equal(seen[0]?.body.toString(), 'START_REPLICATION SLOT "s" PHYSICAL 0/1000000 TIMELINE 1\0');
  assert.deepEqual(statusUpdate(seen[1] as FrontendMessage), { write: 0x1000004n, flush: 0n, apply: 0n, replyRequested: 0 });
  assert.deepEqual(events.map((event) => event.type === 'xlogdata' && [event.dataStart, event.walEnd, event.data.toString()]), [
    [0x1000000n, 0x1000010n, 'abcd'], [0x1000004n, 0x1000010n, 'efgh'],
  ]);
  assert.equal(seen[2]?.type, 'c');
  session.destroy();
  await server.close();
});

test('periodic status updates carry the reported flush position', async () => {
  const updates: Array<ReturnType<typeof statusUpdate>> = [];
  const server = await scriptedServer(async (peer) => {
    await peer.acceptStartup();
    await peer.readMessage();
    peer.write(Buffer.concat([copyBothResponse(), xlogData(0x2000000n, 0x2000100n, 'x'.repeat(256))]));
    for (;;) {
      const message = await peer.readMessage();
      if (message.type === 'c') break;
      updates.push(statusUpdate(message));
    }
    peer.write(Buffer.concat([copyDone(), commandComplete('START_STREAMING'), commandComplete('START_REPLICATION'), readyForQuery()]));
  });
  const session = await connect(server.params);
  const stream = session.startReplication({ startLsn: 0x2000000n, timeline: 1, statusIntervalMs: 20 });
  const iterator = stream[Symbol.asyncIterator]();
  await iterator.next();
  stream.reportPosition(0x2000100n, 0x2000080n);
  await new Promise((resolve) => setTimeout(resolve, 120));
  await stream.stop();
  assert.ok(updates.length >= 2, `${updates.length} status updates`);
  assert.deepEqual(updates.at(-1), { write: 0x2000100n, flush: 0x2000080n, apply: 0n, replyRequested: 0 });
  session.destroy();
  await server.close();
});

test('a flush position that advances is reported at once, without waiting for the status interval', async () => {
  const updates: Array<ReturnType<typeof statusUpdate>> = [];
  const server = await scriptedServer(async (peer) => {
    await peer.acceptStartup();
    await peer.readMessage();
    peer.write(Buffer.concat([copyBothResponse(), xlogData(0x3000000n, 0x3000100n, 'y'.repeat(256))]));
    for (;;) {
      const message = await peer.readMessage();
      if (message.type === 'c') break;
      updates.push(statusUpdate(message));
    }
    peer.write(Buffer.concat([copyDone(), commandComplete('START_STREAMING'), commandComplete('START_REPLICATION'), readyForQuery()]));
  });
  const session = await connect(server.params);
  const stream = session.startReplication({ startLsn: 0x3000000n, timeline: 1, statusIntervalMs: 0 });
  await stream[Symbol.asyncIterator]().next();
  stream.reportPosition(0x3000100n, 0x3000080n);
  stream.reportPosition(0x3000100n, 0x3000080n); // unchanged: nothing more to tell
  stream.reportPosition(0x3000100n, 0x3000100n);
  await stream.stop();
  assert.deepEqual(updates, [
    { write: 0x3000100n, flush: 0x3000080n, apply: 0n, replyRequested: 0 },
    { write: 0x3000100n, flush: 0x3000100n, apply: 0n, replyRequested: 0 },
  ]);
  session.destroy();
  await server.close();
});

test('end of a historic timeline: reply CopyDone, then one timeline-end event', async () => {
  const server = await scriptedServer(async (peer) => {
    await peer.acceptStartup();
    await peer.readMessage();
    peer.write(Buffer.concat([copyBothResponse(), xlogData(0x10200000n, 0x10200610n, 'tail'), copyDone()]));
    assert.equal((await peer.readUntil('c')).type, 'c');
    peer.write(Buffer.concat([
      resultSet([['next_tli', 20], 'next_tli_startpos'], [['2', '0/10200610']], 'START_STREAMING'),
      commandComplete('START_REPLICATION'), readyForQuery(),
    ]));
  });
  const session = await connect(server.params);
  const events: WalStreamEvent[] = [];
  for await (const event of session.startReplication({ startLsn: 0x10000000n, timeline: 1, statusIntervalMs: 0 })) events.push(event);
  assert.deepEqual(events.map((event) => event.type), ['xlogdata', 'timeline-end']);
  assert.deepEqual(events[1], { type: 'timeline-end', nextTli: 2, nextStartLsn: 0x10200610n });
  session.destroy();
  await server.close();
});

test('an ErrorResponse in copy-both mode rejects with ServerError', async () => {
  const server = await scriptedServer(async (peer) => {
    await peer.acceptStartup();
    await peer.readMessage();
    peer.write(Buffer.concat([copyBothResponse(),
      errorResponse({ S: 'ERROR', V: 'ERROR', C: 'XX000', M: 'requested starting point 0/9000000 is ahead of the WAL flush position of this server 0/8000000' }),
      readyForQuery()]));
  });
  const session = await connect(server.params);
  const stream = session.startReplication({ startLsn: 0x9000000n, timeline: 1, statusIntervalMs: 0 });
  await assert.rejects(async () => { for await (const _event of stream) { /* none */ } }, { code: 'SERVER_ERROR' });
  await stream.stop();
  session.destroy();
  await server.close();
});

/** Starts a stream on a scripted server that sends one XLogData and then runs `then`; returns what the client saw. */
async function streamUntilClosed(options: { statusIntervalMs: number; senderTimeoutMs: number; onData?: () => void },
  then: (peer: Parameters<Parameters<typeof scriptedServer>[0]>[0]) => Promise<void>): Promise<{ events: number; error: unknown }> {
  const server = await scriptedServer(async (peer) => {
    await peer.acceptStartup();
    await peer.readMessage();
    peer.write(Buffer.concat([copyBothResponse(), xlogData(0x3000000n, 0x3000004n, 'wxyz')]));
    await then(peer);
    peer.socket.destroy(); // what a walsender that gives up does: no ErrorResponse, just the close
  });
  const session = await connect(server.params);
  let events = 0;
  let error: unknown = null;
  try {
    for await (const _event of session.startReplication({ startLsn: 0x3000000n, timeline: 1, ...options })) {
      events += 1;
      options.onData?.();
    }
  } catch (caught) {
    error = caught;
  }
  session.destroy();
  await server.close();
  return { events, error };
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

test('a bare close after we sent nothing for wal_sender_timeout is REPLICATION_TIMEOUT, with the silence', async () => {
  const { events, error } = await streamUntilClosed({ statusIntervalMs: 0, senderTimeoutMs: 300 }, () => sleep(400));
  assert.equal(events, 1);
  assert.equal((error as { code?: string }).code, 'REPLICATION_TIMEOUT');
  const details = (error as { details: { silenceMs: number; senderTimeoutMs: number } }).details;
  assert.equal(details.senderTimeoutMs, 300);
  assert.ok(details.silenceMs >= 300, `silence ${details.silenceMs} ms`);
  assert.equal((error as { cause?: { code?: string } }).cause?.code, 'CONNECTION_CLOSED');
});

test('a bare close while we kept sending status updates stays CONNECTION_CLOSED; so does any close without a known timeout', async () => {
  const talking = await streamUntilClosed({ statusIntervalMs: 20, senderTimeoutMs: 5000 }, () => sleep(300));
  assert.equal((talking.error as { code?: string }).code, 'CONNECTION_CLOSED');
  const unknown = await streamUntilClosed({ statusIntervalMs: 0, senderTimeoutMs: 0 }, () => sleep(100));
  assert.equal((unknown.error as { code?: string }).code, 'CONNECTION_CLOSED');
});

test('a client that stalled, then sent again before reading the close, is still recognised as timed out', async () => {
  // The client blocks its event loop for longer than the timeout (as a stopped process would be), then its status
  // timer fires before the close is read; the server, like a walsender, closes once it saw a gap that long.
  const TIMEOUT_MS = 300;
  const { error } = await streamUntilClosed({
    statusIntervalMs: 20,
    senderTimeoutMs: TIMEOUT_MS,
    onData: () => {
      const until = performance.now() + TIMEOUT_MS + 100;
      while (performance.now() < until) { /* stalled */ }
    },
  }, async (peer) => {
    let last = performance.now();
    for (;;) {
      await peer.readMessage();
      const now = performance.now();
      if (now - last >= TIMEOUT_MS) return;
      last = now;
    }
  });
  assert.equal((error as { code?: string }).code, 'REPLICATION_TIMEOUT');
});
