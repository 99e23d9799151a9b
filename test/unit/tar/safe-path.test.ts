import { test } from 'node:test';
import assert from 'node:assert/strict';
import { normaliseMemberName } from '../../../src/tar/safe-path.ts';
import { TarError } from '../../../src/errors/index.ts';

test('normalises PostgreSQL names', () => {
  assert.equal(normaliseMemberName('./pg_wal/archive_status/'), 'pg_wal/archive_status');
  assert.equal(normaliseMemberName('./pg_wal/summaries/'), 'pg_wal/summaries');
  assert.equal(normaliseMemberName('base/5/16388_init'), 'base/5/16388_init');
  assert.equal(normaliseMemberName('PG_15_202209061/'), 'PG_15_202209061');
});

test('rejects unsafe names with TAR_UNSAFE_PATH', () => {
  for (const name of ['/etc/passwd', '../x', 'a/../../x', 'a/..', 'a\\..\\x', 'a\u0000b', '', './', '.', 'a//b', 'a/./b', '././x']) {
    assert.throws(() => normaliseMemberName(name), (error: unknown) => error instanceof TarError && error.code === 'TAR_UNSAFE_PATH', JSON.stringify(name));
  }
});
