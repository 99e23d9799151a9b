/**
 * WalStreamer's standby status positions: after each XLogData is written, write = WAL received so far and flush =
 * what the sink says it has fsynced (WalSink.flushedLsn), which lags; never the write position. And the stream is
 * told the server's wal_sender_timeout, so that it can recognise that timeout. A connection lost while the stream is
 * being stopped fails the backup, and does not crash the process.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ReplicationSession, StartReplicationOptions, WalStream, WalStreamEvent } from '../../../src/client/types.ts';
import { WalStreamer } from '../../../src/backup/wal-streamer.ts';
import type { WalSink } from '../../../src/pipeline/wal-sink.ts';
import type { Lsn } from '../../../src/util/lsn.ts';

const SEGMENT_BYTES = 16 * 1024 * 1024;
const START = 0x3000000n;

/** A sink whose data becomes durable one write late, as if each fsync finished after the next chunk arrived. */
class LaggingSink implements WalSink {
  flushedLsn: Lsn = 0n;
  #writtenEnd: Lsn = 0n;
  async writeWal(_tli: number, dataStart: Lsn, data: Buffer): Promise<void> {
    this.flushedLsn = this.#writtenEnd;
    this.#writtenEnd = dataStart + BigInt(data.length);
  }
  async writeHistory(): Promise<void> {}
  async finish(): Promise<void> {}
  async cleanup(): Promise<void> {}
}

test('status updates report the sink\'s fsynced position as flush, the received position as write', async () => {
  const reported: Array<[Lsn, Lsn]> = [];
  const timeouts: Array<number | undefined> = [];
  const chunks = [Buffer.alloc(1000), Buffer.alloc(2000), Buffer.alloc(500)];
  const session = {
    show: async (name: string) => (name === 'wal_sender_timeout' ? '1min' : 'not asked'),
    startReplication(options: StartReplicationOptions): WalStream {
      timeouts.push(options.senderTimeoutMs);
      let isStopped = false;
      return {
        reportPosition: (writeLsn, flushLsn) => { reported.push([writeLsn, flushLsn]); },
        stop: async () => { isStopped = true; },
        async *[Symbol.asyncIterator](): AsyncIterator<WalStreamEvent> {
          let at = options.startLsn;
          for (const data of chunks) {
            if (isStopped) return;
            yield { type: 'xlogdata', dataStart: at, walEnd: at + BigInt(data.length), data };
            at += BigInt(data.length);
          }
        },
      };
    },
  } as unknown as ReplicationSession;
  const sink = new LaggingSink();
  const streamer = new WalStreamer(session, sink, { slot: { create: false, permanent: false }, segmentBytes: SEGMENT_BYTES, statusIntervalMs: 0 });
  let failure: unknown = null;
  streamer.start(START + 40n, 1, () => { failure = streamer.failure; });
  await streamer.finish(START + 3500n);
  assert.equal(failure, null);
  assert.deepEqual(reported, [[START + 1000n, 0n], [START + 3000n, START + 1000n], [START + 3500n, START + 3000n]]);
  assert.deepEqual(timeouts, [60_000], 'the stream knows the server\'s wal_sender_timeout');
});

// node:test fails a test in which a promise is rejected with no handler: that is the crash this guards against
test('a connection lost while the stream is being stopped fails the backup once, with no unhandled rejection', async () => {
  const lost = new Error('server closed the connection unexpectedly');
  const session = {
    show: async () => '1min',
    startReplication(options: StartReplicationOptions): WalStream {
      return {
        reportPosition: () => {},
        // the server goes (a fast shutdown) after the stop was asked for: stop() and the reading loop both see it
        stop: () => new Promise((_, reject) => setImmediate(() => reject(lost))),
        async *[Symbol.asyncIterator](): AsyncIterator<WalStreamEvent> {
          yield { type: 'xlogdata', dataStart: options.startLsn, walEnd: options.startLsn + 4000n, data: Buffer.alloc(4000) };
          await new Promise((resolve) => setTimeout(resolve, 20));
          throw lost;
        },
      };
    },
  } as unknown as ReplicationSession;
  const streamer = new WalStreamer(session, new LaggingSink(), { slot: { create: false, permanent: false }, segmentBytes: SEGMENT_BYTES, statusIntervalMs: 0 });
  let failures = 0;
  streamer.start(START, 1, () => { failures += 1; });
  await assert.rejects(streamer.finish(START + 3000n), lost);
  await new Promise((resolve) => setTimeout(resolve, 50));
  assert.equal(failures, 1);
  assert.equal(streamer.failure, lost);
});
