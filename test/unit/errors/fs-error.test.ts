import assert from 'node:assert/strict';
import { test } from 'node:test';
import { fsError } from '../../../src/errors/index.ts';

test('fsError keeps only the reason of an errno without a path (ENOSPC on write)', () => {
  const cause = Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC', syscall: 'write' });
  const error = fsError('write to file', '/backup/base.tar', cause) as Error;
  assert.equal(error.message, 'could not write to file "/backup/base.tar": no space left on device');
});

test('fsError drops the syscall and path suffix, keeps errno, and maps ENOSPC to DISK_FULL with a hint', () => {
  const cause = Object.assign(new Error("ENOENT: no such file or directory, open '/x/y'"), { code: 'ENOENT', syscall: 'open', path: '/x/y' });
  const error = fsError('open file', '/x/y', cause) as Error & { code: string };
  assert.equal(error.message, 'could not open file "/x/y": no such file or directory');
  assert.equal(error.code, 'FS_ERROR');
  const full = fsError('write to file', '/b', Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' })) as Error & { code: string; hint?: string };
  assert.equal(full.code, 'DISK_FULL');
  assert.equal(full.hint, 'Check free disk space.');
});
