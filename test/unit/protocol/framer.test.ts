import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Framer, type Frame } from '../../../src/protocol/framer.ts';
import { allChunkings } from '../../helpers/chunkings.ts';
import { message } from './wire-builder.ts';

function frameAll(chunks: Buffer[], framer = new Framer()): Frame[] {
  const frames: Frame[] = [];
  for (const chunk of chunks) framer.push(chunk, (frame) => frames.push(frame));
  return frames;
}

const stream = Buffer.concat([
  message('Z', Buffer.from('I')),
  message('c'), // empty body
  message('d', Buffer.from('hello, world')),
  message('C', Buffer.from('SELECT 1\0')),
]);

test('frames come out whole at every split point', () => {
  for (const chunks of allChunkings(stream)) {
    const frames = frameAll(chunks);
    assert.deepEqual(frames.map((frame) => [String.fromCharCode(frame.type), frame.body.toString('latin1')]), [
      ['Z', 'I'], ['c', ''], ['d', 'hello, world'], ['C', 'SELECT 1\0'],
    ]);
  }
});

test('a frame straddling chunks that lie next to each other in one buffer is a view of it; apart, a copy', () => {
  const body = Buffer.alloc(300, 0x61);
  const wire = message('d', body);
  for (const chunks of allChunkings(wire)) {
    const [adjacent] = frameAll(chunks);
    assert.ok(adjacent?.body.equals(body));
    assert.equal(adjacent?.body.buffer, wire.buffer, 'no copy of adjacent pieces');
    const apart = frameAll(chunks.map((chunk) => Buffer.from(Uint8Array.prototype.slice.call(chunk))));
    assert.deepEqual(apart.map((frame) => frame.body.toString('latin1')), [body.toString('latin1')]);
  }
});

test('pieces from different buffers, or from one buffer but not next to each other, are copied', () => {
  const wire = message('d', Buffer.from('0123456789'));
  const slab = Buffer.alloc(64);
  wire.copy(slab, 0, 0, 8); // header and "012"
  wire.copy(slab, 20, 8); // the rest, further on in the same buffer
  const [frame] = frameAll([slab.subarray(0, 8), slab.subarray(20, 20 + wire.length - 8)]);
  assert.equal(frame?.body.toString('latin1'), '0123456789');
  assert.notEqual(frame?.body.buffer, slab.buffer);
});

test('isIdle tells a clean boundary from a partial frame', () => {
  const framer = new Framer();
  frameAll([stream.subarray(0, 7)], framer);
  assert.equal(framer.isIdle, false);
  frameAll([stream.subarray(7)], framer);
  assert.equal(framer.isIdle, true);
});

test('a frame handed out is never written again, whatever arrives later', () => {
  const first = message('d', Buffer.alloc(100, 0x61));
  const second = message('d', Buffer.alloc(100, 0x62));
  for (const chunks of allChunkings(Buffer.concat([first, second, first]))) {
    const framer = new Framer();
    const frames: Frame[] = [];
    const snapshots: string[] = [];
    for (const chunk of chunks) {
      framer.push(chunk, (frame) => {
        frames.push(frame);
        snapshots.push(frame.body.toString('latin1'));
      });
    }
    assert.deepEqual(frames.map((frame) => frame.body.toString('latin1')), snapshots);
  }
});

test('a body larger than the limit is FRAME_TOO_LARGE before anything is allocated', () => {
  const framer = new Framer(1000);
  const header = Buffer.from([0x64, 0x7f, 0xff, 0xff, 0xff]); // 2 GiB
  assert.throws(() => framer.push(header, () => {}), { code: 'FRAME_TOO_LARGE' });
  assert.throws(() => framer.push(Buffer.from('x'), () => {}), { code: 'FRAME_TOO_LARGE' }, 'stays failed');
  const atLimit = new Framer(3);
  assert.equal(frameAll([message('d', Buffer.from('abc'))], atLimit).length, 1);
  assert.throws(() => frameAll([message('d', Buffer.from('abcd'))], new Framer(3)), { code: 'FRAME_TOO_LARGE' });
});

test('a length below 4 is MALFORMED_MESSAGE, also when the header is split', () => {
  const bad = Buffer.from([0x5a, 0, 0, 0, 3]);
  for (const chunks of allChunkings(bad)) {
    assert.throws(() => frameAll(chunks), { code: 'MALFORMED_MESSAGE' });
  }
});
