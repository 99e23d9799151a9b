import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, lstatSync, mkdirSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ConvoyError } from '../../../src/errors/index.ts';
import { TargetDirs, chownTree, dataDirectoryMode } from '../../../src/restore/target-dirs.ts';
import { scratch } from './fixtures.ts';

test('dataDirectoryMode: group access in the backup gives 0750, anything else 0700', () => {
  assert.equal(dataDirectoryMode(0o100600), 0o700);
  assert.equal(dataDirectoryMode(0o100640), 0o750);
  assert.equal(dataDirectoryMode(0o40750), 0o750);
  assert.equal(dataDirectoryMode(0o40700), 0o700);
});

test('TargetDirs: creates missing roots with the exact mode, refuses non-empty ones, undoes only its own work', async () => {
  const root = scratch('targets');
  const previous = process.umask(0o077);
  try {
    mkdirSync(join(root, 'empty'));
    mkdirSync(join(root, 'full'));
    writeFileSync(join(root, 'full/x'), '');
    const targets = new TargetDirs(0o750);
    await targets.prepare(join(root, 'deep/new'), 'directory');
    await targets.prepare(join(root, 'empty'), 'directory');
    assert.equal(lstatSync(join(root, 'deep/new')).mode & 0o777, 0o750, 'despite the umask');
    await assert.rejects(targets.prepare(join(root, 'full'), 'tablespace directory'),
      (error) => error instanceof ConvoyError && error.code === 'TARGET_NOT_EMPTY' && /-T OLDDIR=NEWDIR/.test(error.hint ?? ''));
    writeFileSync(join(root, 'empty/written'), '');
    await targets.undo();
    assert.equal(existsSync(join(root, 'deep/new')), false);
    assert.deepEqual(readdirSync(join(root, 'empty')), [], 'a pre-existing empty directory is emptied, not removed');
    assert.deepEqual(readdirSync(join(root, 'full')), ['x']);
  } finally {
    process.umask(previous);
    rmSync(root, { recursive: true, force: true });
  }
});

test('chownTree: every entry below the root, symlinks as links', async () => {
  const root = scratch('chown');
  try {
    mkdirSync(join(root, 'a/b'), { recursive: true });
    writeFileSync(join(root, 'a/b/file'), '');
    symlinkSync('/nonexistent/target', join(root, 'a/link'));
    const uid = process.getuid?.() ?? 0;
    const gid = process.getgid?.() ?? 0;
    await chownTree(root, uid, gid);
    for (const path of ['a', 'a/b', 'a/b/file', 'a/link']) assert.equal(lstatSync(join(root, path)).uid, uid, path);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});
