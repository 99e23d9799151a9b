/**
 * The WAL sinks' flushedLsn, the flush position the stream reports to the server: it names only WAL that was
 * fsynced. A segment counts once it is complete and its file was synced (gzip sync-flushed first, so the file holds
 * all of it); a partial segment never counts while streaming; with sync off nothing does; under fan-out only what
 * every live destination has synced.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { mock, test } from 'node:test';
import { constants, gunzipSync } from 'node:zlib';
import { createDestination, type Destination } from '../../../../src/pipeline/build-destination.ts';
import { FileOutput } from '../../../../src/pipeline/destination/file-output.ts';
import type { DestinationOptions } from '../../../../src/pipeline/destination/options.ts';
import { fanOut } from '../../../../src/pipeline/fan-out.ts';
import type { WalSink } from '../../../../src/pipeline/wal-sink.ts';
import { SEGMENT_BYTES, destinationOptions, startInfo, withTempDir } from '../pipeline-helpers.ts';

const SEGMENT_3 = 3n * BigInt(SEGMENT_BYTES);
const SEGMENT_4 = 4n * BigInt(SEGMENT_BYTES);

async function streaming(dir: string, overrides: Partial<DestinationOptions>): Promise<{ destination: Destination; wal: WalSink }> {
  const destination = createDestination(destinationOptions(dir, { walMethod: 'stream', ...overrides }));
  await destination.archive.beginBackup(startInfo());
  const wal = destination.wal;
  assert.ok(wal !== null);
  return { destination, wal };
}

/** Records every FileOutput.sync with the sink's flushedLsn at that moment (it must not have moved yet). */
function watchSyncs(wal: () => WalSink): { calls: Array<{ path: string; flushedLsn: bigint }>; restore(): void } {
  const calls: Array<{ path: string; flushedLsn: bigint }> = [];
  const original = FileOutput.prototype.sync;
  const spy = mock.method(FileOutput.prototype, 'sync', function (this: FileOutput) {
    calls.push({ path: this.path.toString(), flushedLsn: wal().flushedLsn });
    return original.call(this);
  });
  return { calls, restore: () => spy.mock.restore() };
}

for (const format of ['plain', 'tar'] as const) {
  test(`${format}: a partial segment is not flushed; a complete one is, after its fsync`, withTempDir(async (root) => {
    const { destination, wal } = await streaming(join(root, 'data'), { format });
    const syncs = watchSyncs(() => wal);
    try {
      await wal.writeWal(1, SEGMENT_3, Buffer.alloc(SEGMENT_BYTES / 2, 0xab));
      assert.equal(wal.flushedLsn, 0n, 'written, not synced: nothing flushed');
      await wal.writeWal(1, SEGMENT_3 + BigInt(SEGMENT_BYTES / 2), Buffer.alloc(SEGMENT_BYTES / 2 + 100, 0xab));
      assert.equal(wal.flushedLsn, SEGMENT_4, 'segment 3 is complete and synced; the start of segment 4 is not');
      const segmentFile = format === 'plain' ? join(root, 'data', 'pg_wal', '000000010000000000000003') : join(root, 'data', 'pg_wal.tar');
      assert.deepEqual(syncs.calls, [{ path: segmentFile, flushedLsn: 0n }]);
    } finally {
      syncs.restore();
    }
    await wal.finish();
    await destination.archive.cleanup(new Error('test over'));
    await wal.cleanup(new Error('test over'));
  }));

  test(`${format} with sync off (-N): nothing is ever reported flushed`, withTempDir(async (root) => {
    const { destination, wal } = await streaming(join(root, 'data'), { format, sync: false });
    const syncs = watchSyncs(() => wal);
    try {
      await wal.writeWal(1, SEGMENT_3, Buffer.alloc(2 * SEGMENT_BYTES, 0xab));
      assert.equal(wal.flushedLsn, 0n);
      assert.deepEqual(syncs.calls, []);
    } finally {
      syncs.restore();
    }
    await wal.finish();
    await destination.archive.cleanup(new Error('test over'));
    await wal.cleanup(new Error('test over'));
  }));
}

test('tar with client gzip: a flushed segment is all in pg_wal.tar.gz already, decodable before the stream ends', withTempDir(async (root) => {
  const dir = join(root, 'data');
  const { destination, wal } = await streaming(dir, { format: 'tar', clientCompression: { method: 'gzip' } });
  await wal.writeWal(1, SEGMENT_3, Buffer.alloc(SEGMENT_BYTES + 100, 0xab));
  assert.equal(wal.flushedLsn, SEGMENT_4);
  // The gzip stream is not finished: decode what the file holds so far, as a crash would leave it.
  const tar = gunzipSync(readFileSync(join(dir, 'pg_wal.tar.gz')), { finishFlush: constants.Z_SYNC_FLUSH });
  assert.ok(tar.length >= 512 + SEGMENT_BYTES + 512, `${tar.length} bytes decoded`);
  assert.equal(tar.subarray(0, 24).toString('latin1'), '000000010000000000000003');
  assert.deepEqual(tar.subarray(512, 512 + SEGMENT_BYTES), Buffer.alloc(SEGMENT_BYTES, 0xab));
  assert.equal(tar.subarray(512 + SEGMENT_BYTES, 512 + SEGMENT_BYTES + 44).toString('latin1'), 'archive_status/000000010000000000000003.done');
  await wal.finish();
  await destination.archive.cleanup(new Error('test over'));
  await wal.cleanup(new Error('test over'));
}));

test('fan-out: flushed only as far as every live destination; a dropped one no longer holds it back', withTempDir(async (root) => {
  const synced = createDestination(destinationOptions(join(root, 'a'), { walMethod: 'stream' }));
  const unsynced = createDestination(destinationOptions(join(root, 'b'), { walMethod: 'stream', sync: false }));
  const fan = fanOut([synced, unsynced]);
  await fan.archive.beginBackup(startInfo());
  const wal = fan.wal;
  assert.ok(wal !== null);
  await wal.writeWal(1, SEGMENT_3, Buffer.alloc(SEGMENT_BYTES + 100, 0xab));
  assert.equal(synced.wal?.flushedLsn, SEGMENT_4);
  assert.equal(wal.flushedLsn, 0n, 'the unsynced destination has nothing durable');
  // A write that fails only in "b" drops it from the run.
  const failing = unsynced.wal as WalSink;
  failing.writeWal = async () => { throw Object.assign(new Error('ENOSPC: no space left on device'), { code: 'ENOSPC' }); };
  await wal.writeWal(1, SEGMENT_4 + 100n, Buffer.alloc(100, 0xab));
  assert.deepEqual(fan.outcomes().map((outcome) => outcome.error !== undefined), [false, true]);
  assert.equal(wal.flushedLsn, SEGMENT_4);
  await wal.finish();
  await fan.archive.cleanup(new Error('test over'));
  await wal.cleanup(new Error('test over'));
}));
