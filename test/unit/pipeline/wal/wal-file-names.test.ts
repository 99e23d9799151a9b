import assert from 'node:assert/strict';
import { test } from 'node:test';
import { segmentPieces } from '../../../../src/pipeline/wal/wal-file-names.ts';

test('segmentPieces cuts WAL at segment boundaries without copying', () => {
  const data = Buffer.from('abcdefghij');
  const pieces = [...segmentPieces(6n, data, 4)];
  assert.deepEqual(pieces.map((p) => [p.segno, p.offset, p.bytes.toString(), p.isSegmentEnd]),
    [[1n, 2, 'ab', true], [2n, 0, 'cdef', true], [3n, 0, 'ghij', true]]);
  const tail = [...segmentPieces(0n, Buffer.from('xyz'), 8)];
  assert.deepEqual(tail.map((p) => [p.segno, p.offset, p.bytes.toString(), p.isSegmentEnd]), [[0n, 0, 'xyz', false]]);
  assert.equal(pieces[1]?.bytes.buffer, data.buffer);
});
