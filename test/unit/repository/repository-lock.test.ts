import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { ConvoyError } from '../../../src/errors/index.ts';
import { acquireLock } from '../../../src/repository/repository-lock.ts';
import { LocalStorage } from '../../../src/repository/storage.ts';
import { scratchDir } from './scratch-dirs.ts';

async function freshStorage(): Promise<LocalStorage> {
  return new LocalStorage(await scratchDir('lock'));
}

/** The pid of a process that has exited (its pid is not reused this soon). */
async function deadPid(): Promise<number> {
  const child = spawn('true');
  await once(child, 'exit');
  return child.pid as number;
}

function record(pid: number, token: string, host = hostname()): string {
  return JSON.stringify({ pid, host, startedAt: '2025-01-01T00:00:00.000Z', token });
}

async function refusal(storage: LocalStorage): Promise<ConvoyError> {
  try {
    await acquireLock(storage, 'expire');
  } catch (error) {
    assert.ok(error instanceof ConvoyError);
    return error;
  }
  throw new Error('not refused');
}

test('a free lock is taken with pid and host, refused to a second taker meanwhile, and gone once released', async () => {
  const storage = await freshStorage();
  const lock = await acquireLock(storage, 'expire');
  assert.equal(lock.tookOver, null);
  const held = JSON.parse(await readFile(join(storage.location, 'expire.lock'), 'utf8')) as { pid: number; host: string; token: string };
  assert.equal(held.pid, process.pid);
  assert.equal(held.host, hostname());
  assert.match(held.token, /^[0-9a-f]{16}$/);
  const refused = await refusal(storage);
  assert.equal(refused.code, 'REPOSITORY_LOCKED');
  assert.match(refused.message, new RegExp(`locked by another expire: process ${process.pid} on host "${hostname()}"`));
  await lock.release();
  assert.deepEqual(await readdir(storage.location), []);
  await (await acquireLock(storage, 'expire')).release();
});

test('the lock of a live process is refused; of a dead one on this host, taken over and reported', async (t) => {
  const storage = await freshStorage();
  const live: ChildProcess = spawn('sleep', ['60']);
  t.after(() => live.kill('SIGKILL'));
  await writeFile(join(storage.location, 'expire.lock'), record(live.pid as number, 'aaaa'));
  assert.equal((await refusal(storage)).code, 'REPOSITORY_LOCKED');

  const pid = await deadPid();
  await writeFile(join(storage.location, 'expire.lock'), record(pid, 'bbbb'));
  const lock = await acquireLock(storage, 'expire');
  assert.deepEqual(lock.tookOver, { pid, host: hostname(), startedAt: '2025-01-01T00:00:00.000Z', token: 'bbbb' });
  assert.equal((JSON.parse(await readFile(join(storage.location, 'expire.lock'), 'utf8')) as { pid: number }).pid, process.pid);
  assert.deepEqual(await readdir(storage.location), ['expire.lock']);
  await lock.release();
});

test('never taken over: a lock of another host (its holder cannot be judged from here) or an unreadable one; the error says which file to remove', async () => {
  const storage = await freshStorage();
  const path = join(storage.location, 'expire.lock');
  for (const text of [record(await deadPid(), 'cccc', `not-${hostname()}`), 'garbage', '{}']) {
    await writeFile(path, text);
    const refused = await refusal(storage);
    assert.equal(refused.code, 'REPOSITORY_LOCKED', text);
    assert.match(refused.hint ?? '', /remove "expire\.lock"/, text);
    assert.equal(await readFile(path, 'utf8'), text, 'left as it was');
  }
});

test('our own pid in a record this process did not write is a dead holder\'s (a pid reused, as in containers)', async () => {
  const storage = await freshStorage();
  await writeFile(join(storage.location, 'expire.lock'), record(process.pid, 'dddd'));
  const lock = await acquireLock(storage, 'expire');
  assert.equal(lock.tookOver?.token, 'dddd');
  await lock.release();
});

test('eight takers racing for one dead holder\'s lock: exactly one takes it, the others are refused', async () => {
  const storage = await freshStorage();
  await writeFile(join(storage.location, 'expire.lock'), record(await deadPid(), 'eeee'));
  const results = await Promise.allSettled(Array.from({ length: 8 }, () => acquireLock(storage, 'expire')));
  const won = results.flatMap((result) => (result.status === 'fulfilled' ? [result.value] : []));
  assert.equal(won.length, 1);
  for (const result of results) {
    if (result.status === 'rejected') assert.equal((result.reason as ConvoyError).code, 'REPOSITORY_LOCKED');
  }
  assert.equal(won[0]?.tookOver?.token, 'eeee');
  assert.deepEqual(await readdir(storage.location), ['expire.lock']);
  await won[0]?.release();
});

test('a taker that died while taking over is taken over in turn; nothing of either is left', async () => {
  const storage = await freshStorage();
  await writeFile(join(storage.location, 'expire.lock'), record(await deadPid(), 'ffff'));
  await writeFile(join(storage.location, 'expire.lock.takeover-ffff'), record(await deadPid(), 'gggg'));
  const lock = await acquireLock(storage, 'expire');
  assert.equal(lock.tookOver?.token, 'ffff');
  assert.deepEqual(await readdir(storage.location), ['expire.lock']);
  await lock.release();
  assert.deepEqual(await readdir(storage.location), []);
});

test('release leaves a lock that is no longer this run\'s (removed by hand and taken by another)', async () => {
  const storage = await freshStorage();
  const lock = await acquireLock(storage, 'expire');
  const other = record(await deadPid(), 'hhhh');
  await writeFile(join(storage.location, 'expire.lock'), other);
  await lock.release();
  assert.equal(await readFile(join(storage.location, 'expire.lock'), 'utf8'), other);
});
