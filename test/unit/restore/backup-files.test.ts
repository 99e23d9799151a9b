import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseBackupLabel, parseTablespaceMap } from '../../../src/restore/backup-files.ts';

const LABEL_15 = [
  'START WAL LOCATION: 0/2000028 (file 000000010000000000000002)',
  'CHECKPOINT LOCATION: 0/2000060',
  'BACKUP METHOD: streamed',
  'BACKUP FROM: primary',
  'START TIME: 2026-11-25 08:19:26 UTC',
  'LABEL: trace one',
  'START TIMELINE: 1',
  '',
].join('\n');

test('backup_label: start LSN and timeline from the first line, the rest by name', () => {
  assert.deepEqual(parseBackupLabel(LABEL_15), {
    startLsn: 0x2000028n, startTli: 1, startSegment: '000000010000000000000002', declaredStartTli: 1, checkpointLsn: 0x2000060n, label: 'trace one', backupFrom: 'primary', isIncremental: false,
  });
  const label13 = 'START WAL LOCATION: 1A/FF000028 (file 0000000A0000001A000000FF)\nCHECKPOINT LOCATION: 1A/FF000060\nBACKUP FROM: master\n';
  const parsed = parseBackupLabel(label13);
  assert.equal(parsed?.startLsn, (0x1an << 32n) | 0xff000028n);
  assert.equal(parsed?.startTli, 10);
  assert.equal(parsed?.startSegment, '0000000A0000001A000000FF');
  assert.equal(parsed?.declaredStartTli, null, 'no START TIMELINE line');
  assert.equal(parseBackupLabel(LABEL_15.replace('START TIMELINE: 1', 'START TIMELINE: one'))?.declaredStartTli, null);
  assert.equal(parsed?.backupFrom, 'master');
  assert.equal(parsed?.label, null);
});

test('backup_label: an incremental backup (17+) is recognised; malformed labels give null', () => {
  assert.equal(parseBackupLabel(`${LABEL_15}INCREMENTAL FROM LSN: 0/1000028\nINCREMENTAL FROM TLI: 1\n`)?.isIncremental, true);
  assert.equal(parseBackupLabel(''), null);
  assert.equal(parseBackupLabel('START WAL LOCATION: 0/2000028\n'), null);
  assert.equal(parseBackupLabel(LABEL_15.replace('0/2000028', 'zz/1')), null);
  assert.equal(parseBackupLabel(LABEL_15.replace('CHECKPOINT LOCATION: 0/2000060', 'CHECKPOINT LOCATION: nonsense'))?.checkpointLsn, null);
});

test('tablespace_map: oid and path per line, paths with spaces, the escapes of 15+ and 13', () => {
  assert.deepEqual(parseTablespaceMap(''), []);
  assert.deepEqual(parseTablespaceMap('16384 /srv/pg/ts1\n16385 /srv/with space/ts2\n'), [
    { oid: '16384', location: '/srv/pg/ts1' }, { oid: '16385', location: '/srv/with space/ts2' },
  ]);
  // 15+: "\\" for a backslash, "\<newline>" for a newline inside the path
  assert.deepEqual(parseTablespaceMap('16384 /a\\\\b\\\nc\n'), [{ oid: '16384', location: '/a\\b\nc' }]);
  // 13: a lone backslash stays, a carriage return is escaped
  assert.deepEqual(parseTablespaceMap('16384 /a\\b\\\rc\n'), [{ oid: '16384', location: '/a\\b\rc' }]);
  // a last line without newline still counts; junk lines do not
  assert.deepEqual(parseTablespaceMap('garbage\n16386 /x'), [{ oid: '16386', location: '/x' }]);
});
