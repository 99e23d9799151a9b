import { test } from 'node:test';
import assert from 'node:assert/strict';
import { IgnoreList } from '../../../src/verify/ignore.ts';

test('pg_verifybackup\'s fixed list, whole subtrees, no partial names', () => {
  const ignore = new IgnoreList(['log/', 'base/5']);
  for (const path of ['backup_manifest', 'pg_wal', 'pg_wal/000000010000000000000002', 'pg_wal/archive_status/x.done',
    'postgresql.auto.conf', 'recovery.signal', 'standby.signal', 'log/a', 'base/5', 'base/5/1259']) {
    assert.equal(ignore.matches(path), true, path);
  }
  for (const path of ['pg_wal2', 'postgresql.conf', 'base/50', 'base/1/1259', 'logs/a', 'global/pg_control']) {
    assert.equal(ignore.matches(path), false, path);
  }
  ignore.add('global');
  assert.equal(ignore.matches('global/pg_control'), true);
});

test('non-ASCII --ignore paths match the byte-string form', () => {
  assert.equal(new IgnoreList(['café']).matches(Buffer.from('café/x', 'utf8').toString('latin1')), true);
});
