import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ConvoyError } from '../../../src/errors/index.ts';
import { newBackupId, runningRecord, type BackupRecord } from '../../../src/repository/backup-catalog.ts';
import { chooseBackup } from '../../../src/repository/backup-choice.ts';

function backup(id: string, endLsn: string, endTime: string): BackupRecord {
  return {
    ...runningRecord({ id, label: id, format: 'tar', walMethod: 'stream', systemId: '1' }),
    status: 'complete', startLsn: '0/1000000', endLsn, endTime, timeline: 1, streamBytes: 1, sizeBytes: 1, serverVersionNum: 150000,
  };
}

const backups = [
  backup('a', '0/3000000', '2025-01-01T10:00:00.000Z'),
  backup('b', '0/5000000', '2025-01-01T11:00:00.000Z'),
  backup('c', '0/7000000', '2025-01-01T12:00:00.000Z'),
];

const refused = (call: () => unknown): string => {
  try {
    call();
  } catch (error) {
    assert.ok(error instanceof ConvoyError);
    return error.code;
  }
  throw new Error('not refused');
};

test('the newest backup that ends before a time or LSN target; the newest for a name, immediate or no target', () => {
  assert.equal(chooseBackup(backups, { kind: 'time', value: '2025-01-01 11:30:00+00' }, 'r').id, 'b');
  assert.equal(chooseBackup(backups, { kind: 'time', value: '2025-01-01 13:00:00+02' }, 'r').id, 'b');
  assert.equal(chooseBackup(backups, { kind: 'time', value: '2025-01-01T12:00:00 UTC' }, 'r').id, 'c');
  assert.equal(chooseBackup(backups, { kind: 'time', value: '2025-01-01 05:59:59.5-05:00' }, 'r').id, 'a');
  assert.equal(chooseBackup(backups, { kind: 'lsn', value: '0/4FFFFFF' }, 'r').id, 'a');
  assert.equal(chooseBackup(backups, { kind: 'lsn', value: '0/5000000' }, 'r').id, 'b');
  assert.equal(chooseBackup(backups, { kind: 'name', value: 'before_upgrade' }, 'r').id, 'c');
  assert.equal(chooseBackup(backups, { kind: 'immediate' }, 'r').id, 'c');
  assert.equal(chooseBackup(backups, undefined, 'r').id, 'c');
});

test('no backup before the target, an empty catalog, and a time the server alone can place are refused', () => {
  assert.equal(refused(() => chooseBackup(backups, { kind: 'time', value: '2025-01-01 09:00:00+00' }, 'r')), 'OPTION_INVALID');
  assert.equal(refused(() => chooseBackup(backups, { kind: 'lsn', value: '0/2000000' }, 'r')), 'OPTION_INVALID');
  assert.equal(refused(() => chooseBackup([], undefined, 'r')), 'OPTION_INVALID');
  assert.equal(refused(() => chooseBackup(backups, { kind: 'time', value: '2025-01-01 11:30:00' }, 'r')), 'OPTION_INVALID');
  assert.equal(refused(() => chooseBackup(backups, { kind: 'time', value: '2025-01-01 11:30:00 Europe/Paris' }, 'r')), 'OPTION_INVALID');
});

test('backup ids sort by time and differ when made at the same moment', () => {
  const moment = new Date('2025-01-02T03:04:05.678Z');
  const ids = Array.from({ length: 50 }, () => newBackupId(moment));
  assert.equal(new Set(ids).size, 50);
  assert.match(ids[0] as string, /^20250102T030405\.678Z-[0-9a-f]{6}$/);
  assert.ok(newBackupId(new Date('2025-01-02T03:04:05.679Z')) > (ids[0] as string).slice(0, 20));
});
