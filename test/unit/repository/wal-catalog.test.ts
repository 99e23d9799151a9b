import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseArchivedName, readWalListing, resumePoint, walRange } from '../../../src/repository/wal-catalog.ts';

const SEG = 16 * 1024 * 1024;

test('names: segments, partials, history files; foreign names and impossible segment numbers are ignored', () => {
  const listing = readWalListing([
    '000000010000000000000003', '000000010000000000000002.partial', '000000010000000000000001', '00000002.history',
    'README', '0000000100000000000001FF', '000000010000000000000003.partial', 'repository.json',
  ], SEG);
  assert.deepEqual(listing.segments.map((segment) => segment.name), ['000000010000000000000001', '000000010000000000000003']);
  assert.deepEqual(listing.partials.map((partial) => partial.name), ['000000010000000000000002']);
  assert.deepEqual(listing.stalePartials, ['000000010000000000000003.partial']);
  assert.deepEqual(listing.historyTlis, [2]);
});

test('resume: empty is null; after a completed segment the next one; a partial from its start', () => {
  assert.equal(resumePoint(readWalListing([], SEG), SEG), null);
  assert.deepEqual(resumePoint(readWalListing(['000000010000000000000004'], SEG), SEG), { tli: 1, startLsn: 5n * BigInt(SEG) });
  assert.deepEqual(resumePoint(readWalListing(['000000010000000000000004', '000000010000000000000005.partial'], SEG), SEG),
    { tli: 1, startLsn: 5n * BigInt(SEG) });
  // segment numbers cross the xlogid boundary (256 segments of 16 MB per xlogid)
  assert.deepEqual(resumePoint(readWalListing(['0000000100000000000000FF'], SEG), SEG), { tli: 1, startLsn: 0x100000000n });
});

test('resume across a timeline switch: the old timeline\'s cut-short partial is not where streaming resumes', () => {
  const names = ['000000010000000000000005', '000000010000000000000006.partial', '000000020000000000000006', '00000002.history'];
  assert.deepEqual(resumePoint(readWalListing(names, SEG), SEG), { tli: 2, startLsn: 7n * BigInt(SEG) });
  const range = walRange(readWalListing(names, SEG), SEG);
  assert.deepEqual(range.gaps, []);
  assert.equal(range.inProgress, null);
  assert.deepEqual(range.timelines, [1, 2]);
  assert.equal(range.last?.name, '000000020000000000000006');
});

test('range: first, last, the segment in progress, and each gap with its missing segments', () => {
  const range = walRange(readWalListing([
    '000000010000000000000001', '000000010000000000000002', '000000010000000000000005', '000000010000000000000006',
    '000000010000000000000009', '00000001000000000000000A.partial',
  ], SEG), SEG);
  assert.equal(range.first?.name, '000000010000000000000001');
  assert.equal(range.last?.name, '000000010000000000000009');
  assert.equal(range.inProgress?.name, '00000001000000000000000A');
  assert.deepEqual(range.gaps, [
    { fromName: '000000010000000000000003', toName: '000000010000000000000004', segments: 2 },
    { fromName: '000000010000000000000007', toName: '000000010000000000000008', segments: 2 },
  ]);
});

test('compressed segments (.gz, .lz4, .zst) are segments: one entry however many copies; a partial beside one is stale', () => {
  const listing = readWalListing([
    '000000010000000000000001.gz', '000000010000000000000002.lz4', '000000010000000000000002', '000000010000000000000003.zst',
    '000000010000000000000003.partial', '000000010000000000000004.partial', '000000010000000000000005.partial.gz', '00000001.history.gz',
  ], SEG);
  assert.deepEqual(listing.segments.map((segment) => segment.name), ['000000010000000000000001', '000000010000000000000002', '000000010000000000000003']);
  assert.deepEqual(listing.stalePartials, ['000000010000000000000003.partial']);
  assert.deepEqual(resumePoint(listing, SEG), { tli: 1, startLsn: 4n * BigInt(SEG) });
  assert.deepEqual(walRange(listing, SEG).gaps, []);
  assert.deepEqual(parseArchivedName('000000010000000000000002.lz4', SEG), { kind: 'segment', tli: 1, segno: 2n, name: '000000010000000000000002', compression: 'lz4' });
  assert.equal(parseArchivedName('00000001.history.gz', SEG), null);
});
