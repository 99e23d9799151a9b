/**
 * Bugs found while testing the backup engine, in modules it does not own; each is a todo until its owner fixes
 * it (see the engine's report for the fix).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { fsError } from '../../../src/errors/index.ts';

test('fsError keeps only the reason of an errno without a path (ENOSPC on write)', {
  todo: 'src/errors/fs-error.ts: the suffix regex only strips ", <syscall> \'<path>\'", so ", write" stays',
}, () => {
  const cause = Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC', syscall: 'write' });
  const error = fsError('write to file', '/backup/base.tar', cause) as Error;
  assert.equal(error.message, 'could not write to file "/backup/base.tar": no space left on device');
});
