/**
 * runArchive against a scripted session: where an empty repository starts (the slot's restart point), that a stop
 * ends the stream after the write in progress and leaves the partial segment durable, and that a second run resumes
 * at the partial segment's start. The real server's side is in test/integration/repository.
 */
import assert from 'node:assert/strict';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import type { ReplicationSession, StartReplicationOptions, WalStream, WalStreamEvent } from '../../../src/client/types.ts';
import { runArchive } from '../../../src/repository/run-archive.ts';
import { LocalStorage } from '../../../src/repository/storage.ts';
import { scratchDir } from './scratch-dirs.ts';

const SEG = 1024 * 1024;

interface Script {
  readonly starts: Array<{ startLsn: bigint; timeline: number; slot: string | undefined }>;
  readonly commands: string[];
  closed: boolean;
}

/** A session whose stream sends `chunkBytes`-sized XLogData from the start LSN, `chunks` of them, then waits to be stopped. */
function scriptedSession(script: Script, chunks: number, chunkBytes: number, onSent: () => void): ReplicationSession {
  return {
    serverVersionNum: 150_000,
    identifySystem: async () => ({ systemId: '7000000000000000001', timeline: 1, xlogPos: 0x480000n, dbName: null }),
    show: async (name: string) => (name === 'wal_segment_size' ? '1MB' : '1min'),
    createPhysicalSlot: async (name: string) => { script.commands.push(`create ${name}`); },
    query: async (sql: string) => {
      script.commands.push(sql);
      return [['physical', '0/2000A8', '1']];
    },
    startReplication(options: StartReplicationOptions): WalStream {
      script.starts.push({ startLsn: options.startLsn, timeline: options.timeline, slot: options.slot });
      let stop: () => void = () => {};
      const stopped = new Promise<void>((resolve) => { stop = resolve; });
      return {
        reportPosition: () => {},
        stop: async () => stop(),
        async *[Symbol.asyncIterator](): AsyncIterator<WalStreamEvent> {
          let at = options.startLsn;
          for (let index = 0; index < chunks; index += 1) {
            const data = Buffer.alloc(chunkBytes, Number(at % 251n));
            yield { type: 'xlogdata', dataStart: at, walEnd: at + BigInt(chunkBytes), data };
            at += BigInt(chunkBytes);
          }
          onSent();
          await stopped;
        },
      };
    },
    close: async () => { script.closed = true; },
    destroy: () => {},
  } as unknown as ReplicationSession;
}

async function archiveOnce(storage: LocalStorage, chunks: number, chunkBytes: number): Promise<{ script: Script; flushedLsn: bigint }> {
  const script: Script = { starts: [], commands: [], closed: false };
  const controller = new AbortController();
  const session = scriptedSession(script, chunks, chunkBytes, () => controller.abort());
  const outcome = await runArchive(
    { storage, slot: 'arch', createSlot: true, synchronous: false, statusIntervalMs: 0 },
    { connect: async () => session, signal: controller.signal },
  );
  return { script, flushedLsn: outcome.flushedLsn };
}

test('an empty repository starts at the slot\'s restart segment; a stop leaves the partial durable and closes the session', async () => {
  const storage = new LocalStorage(await scratchDir('run-archive'));
  const first = await archiveOnce(storage, 5, 300 * 1024); // 1.5 segments from 0x200000
  assert.deepEqual(first.script.commands, ['create arch', 'READ_REPLICATION_SLOT "arch"']);
  assert.deepEqual(first.script.starts, [{ startLsn: 0x200000n, timeline: 1, slot: 'arch' }]);
  assert.equal(first.script.closed, true);
  assert.equal(first.flushedLsn, 0x200000n + 5n * 300n * 1024n, 'the partial was fsynced at the stop');
  assert.deepEqual((await readdir(join(storage.location, 'wal'))).sort(), ['000000010000000000000002', '000000010000000000000003.partial']);
  assert.equal((await readFile(join(storage.location, 'wal', '000000010000000000000002'))).length, SEG);

  const second = await archiveOnce(storage, 4, 512 * 1024); // the partial again from its start, and one more segment
  assert.deepEqual(second.script.commands, ['create arch'], 'a resumed archive does not ask the slot where to start');
  assert.deepEqual(second.script.starts, [{ startLsn: 0x300000n, timeline: 1, slot: 'arch' }]);
  assert.deepEqual((await readdir(join(storage.location, 'wal'))).sort(),
    ['000000010000000000000002', '000000010000000000000003', '000000010000000000000004'].sort());
});
