import assert from 'node:assert/strict';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { RepositoryWalSink } from '../../../src/repository/repository-wal-sink.ts';
import { LocalStorage } from '../../../src/repository/storage.ts';
import { scratchDir } from './scratch-dirs.ts';

const SEG = 1024 * 1024; // the smallest segment size PostgreSQL allows keeps the vectors small
const freshStorage = async (): Promise<LocalStorage> => new LocalStorage(await scratchDir('sink'));

function walBytes(startLsn: bigint, length: number): Buffer {
  // Each byte tells its own LSN, so a misplaced write shows.
  return Buffer.from(Array.from({ length }, (_, index) => Number((startLsn + BigInt(index)) % 251n)));
}

test('segments in progress are .partial; a completed one is published whole; flush moves per segment when not synchronous', async () => {
  const storage = await freshStorage();
  const start = 3n * BigInt(SEG);
  const sink = new RepositoryWalSink(storage, { segmentBytes: SEG, synchronous: false, durableLsn: start });
  const data = walBytes(start, SEG + 1000);
  await sink.writeWal(1, start, data.subarray(0, 700));
  assert.deepEqual(await readdir(join(storage.location, 'wal')), ['000000010000000000000003.partial']);
  assert.equal(sink.flushedLsn, start, 'nothing fsynced yet beyond the resume point');
  await sink.writeWal(1, start + 700n, data.subarray(700));
  assert.equal(sink.flushedLsn, start + BigInt(SEG));
  assert.deepEqual((await readdir(join(storage.location, 'wal'))).sort(), ['000000010000000000000003', '000000010000000000000004.partial']);
  assert.deepEqual(await readFile(join(storage.location, 'wal', '000000010000000000000003')), data.subarray(0, SEG));
  await sink.finish();
  assert.equal(sink.flushedLsn, start + BigInt(SEG) + 1000n, 'finish fsyncs the partial');
  assert.deepEqual(await readFile(join(storage.location, 'wal', '000000010000000000000004.partial')), data.subarray(SEG));
  await sink.cleanup();
});

test('synchronous: every write is durable and reported; a restart rewrites the partial from its start and completes it', async () => {
  const storage = await freshStorage();
  const start = 0n;
  const data = walBytes(start, SEG);
  const first = new RepositoryWalSink(storage, { segmentBytes: SEG, synchronous: true, durableLsn: start });
  await first.writeWal(1, start, data.subarray(0, 5000));
  assert.equal(first.flushedLsn, 5000n);
  await first.cleanup(); // as after a failure: the partial stays
  const published: string[] = [];
  const second = new RepositoryWalSink(storage, { segmentBytes: SEG, synchronous: true, durableLsn: start, onSegment: (name) => published.push(name) });
  await second.writeWal(1, start, data.subarray(0, 3000));
  await second.writeWal(1, 3000n, data.subarray(3000));
  assert.deepEqual(published, ['000000010000000000000000']);
  assert.equal(second.flushedLsn, BigInt(SEG));
  assert.deepEqual(await readdir(join(storage.location, 'wal')), ['000000010000000000000000']);
  assert.deepEqual(await readFile(join(storage.location, 'wal', '000000010000000000000000')), data);
});

test('a timeline switch inside a segment: the old timeline keeps its partial, the flush position never goes back', async () => {
  const storage = await freshStorage();
  const sink = new RepositoryWalSink(storage, { segmentBytes: SEG, synchronous: true, durableLsn: 0n });
  await sink.writeWal(1, 0n, walBytes(0n, 9000));
  await sink.writeHistory('00000002.history', Buffer.from('1\t0/2328\tno recovery target specified\n'));
  await sink.writeWal(2, 0n, walBytes(0n, 4000)); // the new timeline starts at its segment's start
  assert.equal(sink.flushedLsn, 9000n);
  await sink.writeWal(2, 4000n, walBytes(4000n, SEG - 4000));
  assert.equal(sink.flushedLsn, BigInt(SEG));
  assert.deepEqual((await readdir(join(storage.location, 'wal'))).sort(),
    ['000000010000000000000000.partial', '000000020000000000000000', '00000002.history'].sort());
});

test('history files: stored once; the same again is fine; a different one is WAL_CONFLICT; a bad name is refused', async () => {
  const storage = await freshStorage();
  const sink = new RepositoryWalSink(storage, { segmentBytes: SEG, synchronous: false, durableLsn: 0n });
  await sink.writeHistory('00000002.history', Buffer.from('1\t0/3000000\tno recovery target specified\n'));
  await sink.writeHistory('00000002.history', Buffer.from('1\t0/3000000\tno recovery target specified\n'));
  await assert.rejects(sink.writeHistory('00000002.history', Buffer.from('1\t0/4000000\tother\n')), { code: 'WAL_CONFLICT' });
  await assert.rejects(sink.writeHistory('../00000002.history', Buffer.from('')), { code: 'MALFORMED_MESSAGE' });
});
