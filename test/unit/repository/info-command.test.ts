import assert from 'node:assert/strict';
import { test } from 'node:test';
import { registerInfo } from '../../../src/cli/commands/info.ts';
import { recordBytes, runningRecord } from '../../../src/repository/backup-catalog.ts';
import { LocalStorage } from '../../../src/repository/storage.ts';
import { scratchDir } from './scratch-dirs.ts';
import { completeRecord, repository, runCommand, SEG } from './repo-fixtures.ts';

const run = (args: string[]): ReturnType<typeof runCommand> => runCommand(registerInfo, 'info', args);

test('a continuous archive: range, timelines, the segment in progress; exit status 0', async () => {
  const repo = await repository(['000000010000000000000002', '000000010000000000000003', '000000010000000000000004.partial',
    '000000020000000000000004', '00000002.history', '000000020000000000000005.partial']);
  const json = await run(['--repo', repo, '--json']);
  assert.equal(json.status, 0);
  assert.deepEqual(JSON.parse(json.stdout), {
    repository: repo, systemId: '7349163894263526621', walSegmentBytes: SEG,
    wal: {
      segments: 3, firstSegment: '000000010000000000000002', lastSegment: '000000020000000000000004',
      startLsn: '0/2000000', endLsn: '0/5000000', timelines: [1, 2], inProgress: '000000020000000000000005.partial', gaps: [],
    },
    backups: [], running: [], restorable: null,
  });
  const text = await run(['--repo', repo]);
  assert.equal(text.stdout, `repository "${repo}": system 7349163894263526621, WAL segments of 16.0 MB\n` +
    'WAL archive: 000000010000000000000002 to 000000020000000000000004 (3 segments, 0/2000000..0/5000000, timelines 1, 2)\n' +
    '  in progress: 000000020000000000000005.partial\n  no gaps\n' +
    'backups: none\nrestorable: nothing yet (no backup whose WAL the archive holds)\n');
});

test('a gap is listed and makes the exit status 1', async () => {
  const repo = await repository(['000000010000000000000002', '000000010000000000000006']);
  const result = await run(['--repo', repo]);
  assert.equal(result.status, 1);
  assert.match(result.stdout, /\n {2}gap: 000000010000000000000003 to 000000010000000000000005 \(3 segments missing\)\n/);
});

test('an empty repository says so; a directory that is not one is REPOSITORY_INVALID', async () => {
  const empty = await run(['--repo', await repository([])]);
  assert.equal(empty.status, 0);
  assert.match(empty.stdout, /\nWAL archive: no completed segment yet\nbackups: none\n/);
  assert.deepEqual(await run(['--repo', await scratchDir('not-a-repo')]), { status: 1, stdout: '', code: 'REPOSITORY_INVALID' });
});

test('backups oldest first with the WAL each needs and whether the archive holds it; staging trees apart; the restorable range', async () => {
  const repo = await repository(['000000010000000000000003', '000000010000000000000004', '000000010000000000000005', '000000010000000000000007']);
  const storage = new LocalStorage(repo);
  // The first needs segment 2, which the archive lacks; the second ends exactly on a segment boundary.
  await storage.put('backups/20250101T000000.000Z-aaaaaa/backup.json', recordBytes(completeRecord('20250101T000000.000Z-aaaaaa', '0/2000028', '0/3000100', '2025-01-01T00:00:05.000Z')));
  await storage.put('backups/20250102T000000.000Z-bbbbbb/backup.json', recordBytes(completeRecord('20250102T000000.000Z-bbbbbb', '0/3000028', '0/5000000', '2025-01-02T00:00:05.000Z')));
  await storage.put('staging/20250103T000000.000Z-cccccc/backup.json', recordBytes({ ...runningRecord({ id: '20250103T000000.000Z-cccccc', label: 'x', format: 'tar', walMethod: 'stream', systemId: '1' }), startLsn: '0/5000028' }));
  const json = await run(['--repo', repo, '--json']);
  const info = JSON.parse(json.stdout) as { backups: Array<{ id: string; walFrom: string; walTo: string; walCovered: boolean }>; running: unknown[]; restorable: unknown };
  assert.deepEqual(info.backups.map(({ id, walFrom, walTo, walCovered }) => ({ id, walFrom, walTo, walCovered })), [
    { id: '20250101T000000.000Z-aaaaaa', walFrom: '000000010000000000000002', walTo: '000000010000000000000003', walCovered: false },
    { id: '20250102T000000.000Z-bbbbbb', walFrom: '000000010000000000000003', walTo: '000000010000000000000004', walCovered: true },
  ]);
  assert.deepEqual(info.running, [{ id: '20250103T000000.000Z-cccccc', startLsn: '0/5000028', abandoned: false }]);
  // From the second backup's end to the gap before segment 7.
  assert.deepEqual(info.restorable, { fromTime: '2025-01-02T00:00:05.000Z', fromLsn: '0/5000000', toLsn: '0/6000000' });
  const text = await run(['--repo', repo]);
  assert.match(text.stdout, /\nbackups \(2, oldest first\):\n {2}20250101T000000\.000Z-aaaaaa "label 20250101T000000\.000Z-aaaaaa": 0\/2000028\.\.0\/3000100 .*NOT all in the archive\n/);
  assert.match(text.stdout, /\n {2}20250103T000000\.000Z-cccccc: being written, from 0\/5000028\nrestorable: from 0\/5000000 \(2025-01-02T00:00:05\.000Z\) to 0\/6000000\n$/);
});

test('compressed segments count as the segments they hold', async () => {
  const repo = await repository(['000000010000000000000002.zst', '000000010000000000000003.gz', '000000010000000000000004.lz4', '000000010000000000000005.partial']);
  const json = JSON.parse((await run(['--repo', repo, '--json'])).stdout) as { wal: object };
  assert.deepEqual(json.wal, {
    segments: 3, firstSegment: '000000010000000000000002', lastSegment: '000000010000000000000004',
    startLsn: '0/2000000', endLsn: '0/5000000', timelines: [1], inProgress: '000000010000000000000005.partial', gaps: [],
  });
});
