import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { BackupRecord } from '../../../src/repository/backup-catalog.ts';
import { planExpire, type RetentionPolicy, type StagingFacts } from '../../../src/repository/expire-policy.ts';
import { formatLsn } from '../../../src/util/lsn.ts';
import { completeRecord, SEG } from './repo-fixtures.ts';

const NOW = new Date('2026-03-10T12:00:00Z');

/** A complete backup starting in segment `startSegno` (tli 1), completed at `endTime`. */
function backup(id: string, startSegno: number, endTime: string): BackupRecord {
  const startLsn = BigInt(startSegno) * BigInt(SEG) + 0x28n;
  return completeRecord(id, formatLsn(startLsn), formatLsn(startLsn + 0x1000n), endTime);
}

const seg = (segno: number, tli = 1): string => `${tli.toString(16).toUpperCase().padStart(8, '0')}00000000${segno.toString(16).toUpperCase().padStart(8, '0')}`;
const A = backup('a', 2, '2026-03-01T00:00:00Z');
const B = backup('b', 5, '2026-03-05T00:00:00Z');
const C = backup('c', 8, '2026-03-09T00:00:00Z');
const WAL = [2, 3, 4, 5, 6, 7, 8, 9].map((segno) => seg(segno));
const keep = (count: number): RetentionPolicy => ({ kind: 'count', keep: count });
const ids = (records: readonly BackupRecord[]): string[] => records.map((record) => record.id);

test('--keep N: the newest N stay, the rest go oldest first, with the WAL before the oldest kept start segment', () => {
  const plan = planExpire([A, B, C], [], WAL, SEG, keep(2));
  assert.deepEqual(ids(plan.removeBackups), ['a']);
  assert.deepEqual(ids(plan.keepBackups), ['b', 'c']);
  assert.deepEqual(plan.removeWal, [seg(2), seg(3), seg(4)]);
  assert.equal(plan.walKeptFromSegno, 5n);
  const one = planExpire([A, B, C], [], WAL, SEG, keep(1));
  assert.deepEqual(ids(one.removeBackups), ['a', 'b']);
  assert.deepEqual(one.removeWal, [seg(2), seg(3), seg(4), seg(5), seg(6), seg(7)]);
});

test('more to keep than there are: nothing but WAL older than the oldest backup goes', () => {
  const plan = planExpire([A, B, C], [], [seg(1), ...WAL], SEG, keep(5));
  assert.deepEqual(plan.removeBackups, []);
  assert.deepEqual(plan.removeWal, [seg(1)]);
});

test('no complete backup: nothing is removed, WAL included', () => {
  const plan = planExpire([], [], WAL, SEG, keep(1));
  assert.deepEqual(plan, { removeBackups: [], keepBackups: [], removeWal: [], walKeptFromSegno: null });
});

test('--keep-days: backups completed within the window stay, and the newest one before it', () => {
  const plan = planExpire([A, B, C], [], WAL, SEG, { kind: 'days', days: 3, now: NOW });
  // cutoff 2026-03-07T12:00Z: c is inside; b, the newest before, restores the window's first moments.
  assert.deepEqual(ids(plan.keepBackups), ['b', 'c']);
  assert.deepEqual(ids(plan.removeBackups), ['a']);
  const all = planExpire([A, B, C], [], WAL, SEG, { kind: 'days', days: 30, now: NOW });
  assert.deepEqual(all.removeBackups, []);
});

test('--keep-days with every backup older than the window: the newest complete backup is never removed', () => {
  const plan = planExpire([A, B, C], [], WAL, SEG, { kind: 'days', days: 0.5, now: NOW });
  assert.deepEqual(ids(plan.keepBackups), ['c']);
  assert.deepEqual(plan.removeWal, [2, 3, 4, 5, 6, 7].map((segno) => seg(segno)));
});

test('a running backup protects WAL from its start segment on; an abandoned one protects nothing', () => {
  const running: StagingFacts = { startLsn: '0/3000028', abandoned: false };
  const plan = planExpire([A, B, C], [running], WAL, SEG, keep(1));
  assert.deepEqual(ids(plan.removeBackups), ['a', 'b']);
  assert.deepEqual(plan.removeWal, [seg(2)]);
  assert.equal(plan.walKeptFromSegno, 3n);
  const abandoned = planExpire([A, B, C], [{ ...running, abandoned: true }], WAL, SEG, keep(1));
  assert.equal(abandoned.walKeptFromSegno, 8n);
});

test('a running backup without a start LSN yet protects all WAL (backups still go)', () => {
  const plan = planExpire([A, B, C], [{ startLsn: null, abandoned: false }], WAL, SEG, keep(1));
  assert.deepEqual(ids(plan.removeBackups), ['a', 'b']);
  assert.deepEqual(plan.removeWal, []);
  assert.equal(plan.walKeptFromSegno, null);
});

test('timelines: history files always stay; older segments of any timeline and partials go, oldest first', () => {
  const names = [seg(4), seg(5), `${seg(5)}.partial`, seg(5, 2), `${seg(6)}.partial`, seg(6, 2), '00000002.history', seg(7, 2), seg(8, 2), seg(9, 2)];
  const onTwo = { ...C, timeline: 2 };
  const plan = planExpire([A, onTwo], [], names, SEG, keep(1));
  // 5.partial is stale (its segment is complete); 6.partial is timeline 1's cut-short end.
  assert.deepEqual(plan.removeWal, [seg(4), seg(5), `${seg(5)}.partial`, seg(5, 2), `${seg(6)}.partial`, seg(6, 2), seg(7, 2)]);
});

test('compressed segments go like plain ones, every copy of a segment with it', () => {
  const names = [`${seg(2)}.zst`, `${seg(3)}.gz`, seg(3), `${seg(4)}.lz4`, `${seg(4)}.partial`, `${seg(8)}.zst`, `${seg(9)}.partial`];
  const plan = planExpire([A, B, C], [], names, SEG, keep(1));
  assert.deepEqual(plan.removeWal, [`${seg(2)}.zst`, seg(3), `${seg(3)}.gz`, `${seg(4)}.lz4`, `${seg(4)}.partial`]);
});
