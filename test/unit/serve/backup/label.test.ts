import assert from 'node:assert/strict';
import { test } from 'node:test';
import { backupLabelText, checkAgainstServer, tablespaceMapText } from '../../../../src/serve/backup/label.ts';

const START = { startLsn: 0x2000028n, startTli: 1, checkpointLsn: 0x2000060n, startTime: '2026-11-25 08:19:26 UTC', fromStandby: false };

test('backup_label as PostgreSQL 15 writes it (reference §4.1)', () => {
  assert.equal(backupLabelText(START, 'trace one', 16 * 1024 * 1024), [
    'START WAL LOCATION: 0/2000028 (file 000000010000000000000002)',
    'CHECKPOINT LOCATION: 0/2000060',
    'BACKUP METHOD: streamed',
    'BACKUP FROM: primary',
    'START TIME: 2026-11-25 08:19:26 UTC',
    'LABEL: trace one',
    'START TIMELINE: 1',
    '',
  ].join('\n'));
  assert.match(backupLabelText({ ...START, fromStandby: true, startTli: 3 }, 'x', 16 * 1024 * 1024), /file 000000030000000000000002\)\n.*\n.*\nBACKUP FROM: standby\n[^]*START TIMELINE: 3\n$/);
});

test('tablespace_map escapes backslash, CR and LF; empty without tablespaces', () => {
  assert.equal(tablespaceMapText([]), '');
  assert.equal(tablespaceMapText([{ oid: 16384, location: '/srv/pg/ts1' }, { oid: 16390, location: '/odd\\path\nx' }]),
    '16384 /srv/pg/ts1\n16390 /odd\\\\path\\\nx\n');
});

test('the server\'s label must match what was sent, START TIME aside', () => {
  const sent = backupLabelText(START, 'l', 16 * 1024 * 1024);
  checkAgainstServer(sent, sent.replace('08:19:26', '08:19:27'), null, '16384 /x\n');
  assert.throws(() => checkAgainstServer(sent, sent.replace('0/2000060', '0/2000098'), null, ''), { code: 'BACKUP_STATE_CHANGED' });
  assert.throws(() => checkAgainstServer(sent, sent, '', '16384 /x\n'), { code: 'BACKUP_STATE_CHANGED' });
});
