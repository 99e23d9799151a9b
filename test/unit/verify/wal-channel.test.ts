import { test } from 'node:test';
import assert from 'node:assert/strict';
import { WalSegmentChannel } from '../../../src/verify/wal-channel.ts';

const name = (segno: number, tli = 1): string =>
  tli.toString(16).toUpperCase().padStart(8, '0') + '00000000' + segno.toString(16).toUpperCase().padStart(8, '0');
const segment = (segno: number): Buffer => Buffer.from(`segment ${segno}`);
const tick = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

test('segments offered in order reach a reader asking in order; the producer waits at capacity', async () => {
  const channel = new WalSegmentChannel(new Set([1, 2, 3, 4].map((n) => name(n))), 2);
  let offered = 0;
  const producer = (async () => {
    for (const n of [1, 2, 3, 4]) {
      await channel.offer(name(n), segment(n));
      offered = n;
    }
    channel.close();
  })();
  await tick();
  assert.equal(offered, 1, 'two buffered, the second offer waits');
  for (const n of [1, 2, 3, 4]) assert.deepEqual(await channel.readSegment(1, BigInt(n), name(n)), segment(n));
  assert.equal(await channel.readSegment(1, 5n, name(5)), null);
  await producer;
});

test('a reader waiting for a later segment lets the producer run past the bound', async () => {
  const channel = new WalSegmentChannel(new Set([1, 2, 3].map((n) => name(n))), 1);
  const wanted = channel.readSegment(1, 3n, name(3));
  await channel.offer(name(1), segment(1)); // passed already: dropped, must not block
  await channel.offer(name(2), segment(2));
  await channel.offer(name(3), segment(3));
  assert.deepEqual(await wanted, segment(3));
});

test('a segment that never comes is null once the producer closes', async () => {
  const channel = new WalSegmentChannel(new Set([name(1), name(2)]));
  const first = channel.readSegment(1, 1n, name(1));
  const second = channel.readSegment(1, 2n, name(2)); // read-ahead, both pending
  await channel.offer(name(2), segment(2));
  channel.close();
  assert.equal(await first, null);
  assert.deepEqual(await second, segment(2));
});

test('unneeded segments are not wanted; finish() unblocks the producer for good', async () => {
  const channel = new WalSegmentChannel(new Set([name(1), name(2), name(3)]), 1);
  assert.equal(channel.wants(name(9)), false);
  assert.equal(channel.wants(name(1, 2)), false);
  assert.equal(channel.wants(name(1)), true);
  let released = false;
  const blocked = channel.offer(name(1), segment(1)).then(() => {
    released = true;
  });
  await tick();
  assert.equal(released, false, 'at capacity with nobody reading: the producer waits');
  channel.finish();
  await blocked;
  assert.equal(channel.wants(name(2)), false);
  await channel.offer(name(2), segment(2));
  assert.equal(await channel.readSegment(1, 2n, name(2)), null);
});

test('timeline order within one segment number does not matter', async () => {
  const channel = new WalSegmentChannel(new Set([name(5, 1), name(5, 2), name(6, 2)]), 1);
  const producer = (async () => {
    for (const [segno, tli] of [[5, 2], [5, 1], [6, 2]] as const) await channel.offer(name(segno, tli), segment(segno * 10 + tli));
    channel.close();
  })();
  assert.deepEqual(await channel.readSegment(1, 5n, name(5, 1)), segment(51));
  assert.deepEqual(await channel.readSegment(2, 5n, name(5, 2)), segment(52));
  assert.deepEqual(await channel.readSegment(2, 6n, name(6, 2)), segment(62));
  await producer;
});
