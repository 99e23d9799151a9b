import { test } from 'node:test';
import assert from 'node:assert/strict';
import { describeRestore, restoreJson } from '../../../src/cli/commands/restore.ts';
import type { RestoreResult } from '../../../src/restore/index.ts';

const RESULT: RestoreResult = {
  backupDir: '/b', targetDir: '/new', format: 'tar', major: 15,
  label: { startLsn: 0x3000028n, startTli: 1, startSegment: '000000010000000000000003', declaredStartTli: 1, checkpointLsn: 0x3000060n, label: 'x', backupFrom: 'primary', isIncremental: false },
  verify: null, tablespaces: [{ oid: '16384', from: '/old/ts', to: '/new-ts' }], signalFile: 'recovery.signal',
  removedSignalFiles: ['standby.signal'], settings: { restore_command: 'cp "pg_wal_restore/%f" "%p"', recovery_target: 'immediate', recovery_target_action: 'promote' },
  stagedWal: { dir: '/new/pg_wal_restore', files: 2 }, owner: { name: 'postgres', uid: 101, gid: 104 }, dirMode: 0o700,
  files: null, bytes: 3 * 1024 * 1024, seconds: 1.25, warnings: ['backup not verified (--no-verify): it may be incomplete or damaged'],
};

test('the summary says what was verified, written, relocated, staged and configured', () => {
  assert.deepEqual(describeRestore(RESULT), [
    'restored tar backup "/b" (PostgreSQL 15, start 0/3000028 on timeline 1) into "/new" in 1.3 s',
    '  verified:    skipped (--no-verify)',
    '  written:     3.0 MB of archives extracted, modes 0700/0600',
    '  tablespace:  16384: "/new-ts" (was "/old/ts")',
    '  WAL:         2 files moved to "/new/pg_wal_restore"; restore_command copies them back during recovery (delete the directory once recovery has finished)',
    '  removed:     standby.signal carried by the backup',
    '  recovery:    recovery.signal',
    `  auto.conf:   restore_command = 'cp "pg_wal_restore/%f" "%p"'`,
    "  auto.conf:   recovery_target = 'immediate'",
    "  auto.conf:   recovery_target_action = 'promote'",
    '  owner:       postgres (uid 101, gid 104)',
  ]);
});

test('--json: the same facts, LSNs as text', () => {
  const json = restoreJson(RESULT);
  assert.equal(json['startLsn'], '0/3000028');
  assert.equal(json['dirMode'], '0700');
  assert.equal(json['verified'], null);
  assert.doesNotThrow(() => JSON.stringify(json));
});
