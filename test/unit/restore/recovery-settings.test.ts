import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ConvoyError } from '../../../src/errors/index.ts';
import { pickTarget, planRecovery, requestsRecovery, STAGED_RESTORE_COMMAND } from '../../../src/restore/recovery-settings.ts';

function codeOf(run: () => unknown): string {
  try {
    run();
  } catch (error) {
    assert.ok(error instanceof ConvoyError);
    return error.code;
  }
  return 'no error';
}

test('no request: the backup starts as it is (no signal file, no settings)', () => {
  assert.deepEqual(planRecovery({}), { settings: {}, signalFile: null, stageWal: false, warnings: [] });
  assert.equal(requestsRecovery({}), false);
});

test('a target with a restore command: recovery.signal, the target, promote', () => {
  const plan = planRecovery({ target: { kind: 'lsn', value: '0/4007d48' }, restoreCommand: 'cp /a/%f %p' });
  assert.deepEqual(plan.settings, { restore_command: 'cp /a/%f %p', recovery_target_lsn: '0/4007D48', recovery_target_action: 'promote' });
  assert.equal(plan.signalFile, 'recovery.signal');
  assert.equal(plan.stageWal, false);
  assert.deepEqual(Object.keys(plan.settings), ['restore_command', 'recovery_target_lsn', 'recovery_target_action'], 'written in this order');
});

test('a target without a restore command stages the backup\'s WAL and copies it back', () => {
  const plan = planRecovery({ target: { kind: 'time', value: '2026-11-25 09:00:00+00' }, targetExclusive: true, targetAction: 'pause' });
  assert.equal(plan.stageWal, true);
  assert.deepEqual(plan.settings, {
    restore_command: STAGED_RESTORE_COMMAND, recovery_target_time: '2026-11-25 09:00:00+00', recovery_target_inclusive: false, recovery_target_action: 'pause',
  });
  assert.equal(STAGED_RESTORE_COMMAND, 'cp "pg_wal_restore/%f" "%p"');
  assert.deepEqual(planRecovery({ target: { kind: 'immediate' } }).settings, { restore_command: STAGED_RESTORE_COMMAND, recovery_target: 'immediate', recovery_target_action: 'promote' });
  assert.deepEqual(planRecovery({ target: { kind: 'name', value: 'before_upgrade' } }).settings['recovery_target_name'], 'before_upgrade');
});

test('a restore command alone: archive recovery to the end of the archive', () => {
  const plan = planRecovery({ restoreCommand: 'cp /a/%f %p' });
  assert.deepEqual(plan.settings, { restore_command: 'cp /a/%f %p' });
  assert.equal(plan.signalFile, 'recovery.signal');
});

test('standby: standby.signal with primary_conninfo and slot; no WAL staging; a warning when it has no source', () => {
  const plan = planRecovery({ standby: true, primaryConninfo: 'host=a port=5432', primarySlotName: 's1' });
  assert.deepEqual(plan.settings, { primary_conninfo: 'host=a port=5432', primary_slot_name: 's1' });
  assert.equal(plan.signalFile, 'standby.signal');
  assert.equal(plan.warnings.length, 0);
  const bare = planRecovery({ standby: true });
  assert.equal(bare.signalFile, 'standby.signal');
  assert.equal(bare.warnings.length, 1);
  assert.equal(planRecovery({ standby: true, target: { kind: 'immediate' } }).stageWal, false, 'a standby reads pg_wal itself');
});

test('impossible combinations are refused before anything is written', () => {
  assert.equal(codeOf(() => planRecovery({ primaryConninfo: 'host=a' })), 'OPTION_CONFLICT');
  assert.equal(codeOf(() => planRecovery({ primarySlotName: 's' })), 'OPTION_CONFLICT');
  assert.equal(codeOf(() => planRecovery({ targetExclusive: true })), 'OPTION_CONFLICT');
  assert.equal(codeOf(() => planRecovery({ targetAction: 'pause' })), 'OPTION_CONFLICT');
  assert.equal(codeOf(() => planRecovery({ target: { kind: 'name', value: 'x' }, targetExclusive: true })), 'OPTION_CONFLICT');
  assert.equal(codeOf(() => planRecovery({ target: { kind: 'lsn', value: 'not-an-lsn' } })), 'OPTION_INVALID');
  assert.equal(codeOf(() => planRecovery({ target: { kind: 'time', value: ' ' } })), 'OPTION_INVALID');
  assert.equal(codeOf(() => planRecovery({ restoreCommand: '' })), 'OPTION_INVALID');
});

test('pickTarget: at most one of the four target flags', () => {
  assert.equal(pickTarget({}), undefined);
  assert.deepEqual(pickTarget({ lsn: '0/1' }), { kind: 'lsn', value: '0/1' });
  assert.deepEqual(pickTarget({ immediate: true }), { kind: 'immediate' });
  assert.equal(codeOf(() => pickTarget({ lsn: '0/1', time: 'now' })), 'OPTION_CONFLICT');
  assert.equal(codeOf(() => pickTarget({ name: 'a', immediate: true })), 'OPTION_CONFLICT');
});

test('target values are checked as the server will check them, so a bad one never reaches postgresql.auto.conf', () => {
  assert.equal(codeOf(() => planRecovery({ target: { kind: 'time', value: 'not a time' } })), 'OPTION_INVALID');
  assert.equal(codeOf(() => planRecovery({ target: { kind: 'time', value: 'now' } })), 'OPTION_INVALID');
  assert.equal(codeOf(() => planRecovery({ target: { kind: 'time', value: '2024-01-08T04:05:06Z' } })), 'OPTION_INVALID');
  assert.equal(codeOf(() => planRecovery({ target: { kind: 'name', value: 'x'.repeat(64) } })), 'OPTION_INVALID');
  assert.equal(codeOf(() => planRecovery({ target: { kind: 'name', value: 'é'.repeat(32) } })), 'OPTION_INVALID', '64 bytes in UTF-8');
  assert.equal(codeOf(() => planRecovery({ target: { kind: 'name', value: 'before\nupgrade' } })), 'OPTION_INVALID');
  assert.equal(planRecovery({ target: { kind: 'name', value: 'x'.repeat(63) } }).settings['recovery_target_name'], 'x'.repeat(63));
  for (const slot of ['Upper', 'with-dash', 'x'.repeat(64), 'é']) {
    assert.equal(codeOf(() => planRecovery({ standby: true, primarySlotName: slot })), 'OPTION_INVALID', slot);
  }
  assert.equal(planRecovery({ standby: true, primarySlotName: 'standby_2' }).settings['primary_slot_name'], 'standby_2');
});

test('a target time without a zone is written as given, with a warning that the server\'s TimeZone decides', () => {
  const plan = planRecovery({ target: { kind: 'time', value: '2024-01-08 04:05:06' } });
  assert.equal(plan.settings['recovery_target_time'], '2024-01-08 04:05:06');
  assert.deepEqual(plan.warnings, ['recovery target time "2024-01-08 04:05:06" has no time zone: the restored server reads it in its own TimeZone setting']);
  assert.deepEqual(planRecovery({ target: { kind: 'time', value: '2024-01-08 04:05:06+02' } }).warnings, []);
});
