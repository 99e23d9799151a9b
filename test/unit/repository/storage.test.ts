import assert from 'node:assert/strict';
import { readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { LocalStorage } from '../../../src/repository/storage.ts';
import { scratchDir } from './scratch-dirs.ts';

async function freshStorage(): Promise<{ root: string; storage: LocalStorage }> {
  const root = await scratchDir('storage');
  return { root, storage: new LocalStorage(join(root, 'repo')) };
}

test('put creates parents, get returns the bytes, a missing key is null, list is sorted and shows no temporaries', async () => {
  const { root, storage } = await freshStorage();
  assert.equal(await storage.put('wal/B', Buffer.from('second')), true);
  assert.equal(await storage.put('wal/A', Buffer.from('first')), true);
  await writeFile(join(root, 'repo', 'wal', '.A.123.abcd.tmp'), 'left by a crash');
  assert.deepEqual(await storage.get('wal/A'), Buffer.from('first'));
  assert.equal(await storage.get('wal/C'), null);
  assert.deepEqual(await storage.list('wal'), ['A', 'B']);
  assert.deepEqual(await storage.list(''), ['wal']);
  assert.deepEqual(await storage.list('nothing/here'), []);
  assert.equal((await stat(join(root, 'repo', 'wal', 'A'))).mode & 0o777, 0o600);
  assert.equal((await stat(join(root, 'repo', 'wal'))).mode & 0o777, 0o700);
});

test('put replaces whole; an exclusive put leaves an existing object alone and says so; no temporary file remains', async () => {
  const { root, storage } = await freshStorage();
  await storage.put('record.json', Buffer.from('old'));
  await storage.put('record.json', Buffer.from('new, and longer'));
  assert.deepEqual(await storage.get('record.json'), Buffer.from('new, and longer'));
  assert.equal(await storage.put('record.json', Buffer.from('claim'), { exclusive: true }), false);
  assert.deepEqual(await storage.get('record.json'), Buffer.from('new, and longer'));
  assert.equal(await storage.put('other.json', Buffer.from('claim'), { exclusive: true }), true);
  assert.deepEqual(await readdir(join(root, 'repo')), ['other.json', 'record.json']);
});

test('exclusive puts racing for one key: exactly one wins', async () => {
  const { storage } = await freshStorage();
  const results = await Promise.all(Array.from({ length: 8 }, (_, index) => storage.put('claim', Buffer.from(String(index)), { exclusive: true })));
  assert.equal(results.filter(Boolean).length, 1);
  assert.deepEqual(await storage.get('claim'), Buffer.from(String(results.indexOf(true))));
});

test('delete removes, and is quiet about a missing object', async () => {
  const { storage } = await freshStorage();
  await storage.put('wal/A', Buffer.from('x'));
  await storage.delete('wal/A');
  await storage.delete('wal/A');
  assert.equal(await storage.get('wal/A'), null);
});

test('a partial object: positional writes, reopened with its size, published under its key', async () => {
  const { root, storage } = await freshStorage();
  const first = await storage.openPartial('wal/SEG');
  assert.equal(first.initialBytes, 0);
  await first.write(0, Buffer.from('abcd'));
  await first.write(4, Buffer.from('efgh'));
  await first.sync();
  await first.close();
  assert.deepEqual(await storage.list('wal'), ['SEG.partial']);
  const again = await storage.openPartial('wal/SEG');
  assert.equal(again.initialBytes, 8);
  await again.write(0, Buffer.from('abcd')); // a restart rewrites from the start: the rest stays
  await again.write(8, Buffer.from('ijkl'));
  await again.publish();
  assert.deepEqual(await storage.list('wal'), ['SEG']);
  assert.equal(await readFile(join(root, 'repo', 'wal', 'SEG'), 'utf8'), 'abcdefghijkl');
});

test('publishing over an identical object is a no-op; over a different one is WAL_CONFLICT and keeps both', async () => {
  const { storage } = await freshStorage();
  await storage.put('wal/SEG', Buffer.from('same'));
  const same = await storage.openPartial('wal/SEG');
  await same.write(0, Buffer.from('same'));
  await same.publish();
  assert.deepEqual(await storage.list('wal'), ['SEG']);
  const differs = await storage.openPartial('wal/SEG');
  await differs.write(0, Buffer.from('diff'));
  await assert.rejects(differs.publish(), { code: 'WAL_CONFLICT' });
  assert.deepEqual(await storage.list('wal'), ['SEG', 'SEG.partial']);
  assert.deepEqual(await storage.get('wal/SEG'), Buffer.from('same'));
});

test('keys that could leave the repository or hide as temporaries are refused', async () => {
  const { storage } = await freshStorage();
  for (const key of ['', '../x', 'a/../../x', '.hidden', 'a//b', '/abs', 'a b']) {
    await assert.rejects(storage.put(key, Buffer.from('x')), { code: 'INTERNAL_ASSERTION' }, key);
  }
});

test('a file where a directory should be: FS_ERROR naming the path', async () => {
  const { root, storage } = await freshStorage();
  await storage.put('wal', Buffer.from('not a directory'));
  await assert.rejects(storage.put('wal/A', Buffer.from('x')), (error: { code: string; message: string }) => {
    assert.equal(error.code, 'FS_ERROR');
    assert.ok(error.message.includes(join(root, 'repo', 'wal')), error.message);
    return true;
  });
});

test('a tree written in place under directoryFor moves whole, never over an existing tree, and is deleted whole', async () => {
  const { storage } = await freshStorage();
  await storage.put('staging/t1/record', Buffer.from('r'));
  await writeFile(join(storage.directoryFor('staging/t1'), 'data'), 'written in place');
  await storage.moveTree('staging/t1', 'backups/t1');
  assert.deepEqual(await storage.list('staging'), []);
  assert.deepEqual(await storage.list('backups/t1'), ['data', 'record']);
  await storage.put('staging/t2/record', Buffer.from('r'));
  await assert.rejects(storage.moveTree('staging/t2', 'backups/t1'), { code: 'INTERNAL_ASSERTION' });
  await storage.deleteTree('backups/t1');
  await storage.deleteTree('backups/never-was');
  assert.deepEqual(await storage.list('backups'), []);
});
