import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { FileOutput } from '../../../../src/pipeline/destination/file-output.ts';
import { TaskQueue } from '../../../../src/pipeline/destination/task-queue.ts';
import { ConvoyError } from '../../../../src/errors/index.ts';
import { tempDir } from '../pipeline-helpers.ts';

for (const writeMode of ['sync', 'overlapped'] as const) {
test(`${writeMode}: batched writes land at the right positions; seek and truncate`, async () => {
  const dir = tempDir();
  try {
    const path = join(dir, 'f');
    const file = await FileOutput.create(path, 0o640, writeMode);
    const expected: Buffer[] = [];
    for (let i = 0; i < 700; i++) {
      const chunk = Buffer.alloc(4093, i & 255);
      expected.push(chunk);
      await file.write(chunk);
    }
    assert.equal(file.position, 700 * 4093);
    await file.truncate(4 * 1024 * 1024);
    await file.seek(10);
    await file.write(Buffer.from('xyz'));
    await file.close();
    const content = readFileSync(path);
    const want = Buffer.concat([...expected, Buffer.alloc(4 * 1024 * 1024 - 700 * 4093)]);
    want.write('xyz', 10);
    assert.ok(content.equals(want));
    assert.equal(statSync(path).mode & 0o777, 0o640);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
}

test('a full batch is on disk when the write that completed it returns; a failing batch throws from that call', async () => {
  const dir = tempDir();
  try {
    const path = join(dir, 'f');
    const file = await FileOutput.create(path, 0o600);
    await file.write(Buffer.alloc(512 * 1024, 1));
    assert.equal(statSync(path).size, 0, 'half a batch is only collected');
    await file.write(Buffer.alloc(512 * 1024, 2));
    assert.equal(statSync(path).size, 1024 * 1024, 'the completed batch was written before write() resolved');
    await file.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  if (!existsSync('/dev/full')) return;
  const full = await FileOutput.create('/dev/full', 0o600);
  await full.write(Buffer.alloc(1024));
  await assert.rejects(full.write(Buffer.alloc(1024 * 1024)), { code: 'DISK_FULL' });
  await full.abandon();
  const overlapped = await FileOutput.create('/dev/full', 0o600, 'overlapped');
  await overlapped.write(Buffer.alloc(1024 * 1024));
  await assert.rejects(overlapped.close(), { code: 'DISK_FULL' }, 'an overlapped write fails later, at the latest in close()');
});

test('close() whose last write fails still closes the file (no descriptor left for the garbage collector)', { skip: !existsSync('/dev/full') || !existsSync('/proc/self/fd') }, async () => {
  const openDescriptors = (): number => readdirSync('/proc/self/fd').length;
  const before = openDescriptors();
  const file = await FileOutput.create('/dev/full', 0o600);
  await file.write(Buffer.alloc(1024));
  await assert.rejects(file.close(), { code: 'DISK_FULL' });
  assert.equal(openDescriptors(), before);
});

test('ENOSPC becomes FsError DISK_FULL', { skip: !existsSync('/dev/full') }, async () => {
  const file = await FileOutput.create('/dev/full', 0o600);
  let error: unknown;
  try {
    for (let i = 0; i < 4; i++) await file.write(Buffer.alloc(1024 * 1024));
    await file.close();
  } catch (caught) {
    error = caught;
  }
  await file.abandon();
  assert.ok(error instanceof ConvoyError && error.code === 'DISK_FULL', String(error));
  assert.equal(error.hint, 'Check free disk space.');
});

test('TaskQueue bounds concurrency and reports the first failure', async () => {
  const queue = new TaskQueue(2);
  let running = 0;
  let peak = 0;
  const gates: (() => void)[] = [];
  const task = (): Promise<void> => {
    running++;
    peak = Math.max(peak, running);
    return new Promise<void>((resolve) => gates.push(() => {
      running--;
      resolve();
    }));
  };
  await queue.run(task);
  await queue.run(task);
  const third = queue.run(task); // waits for a slot
  await new Promise((resolve) => setImmediate(resolve));
  assert.equal(running, 2);
  gates.shift()?.();
  await third;
  while (gates.length > 0) gates.shift()?.();
  await queue.drain();
  assert.equal(peak, 2);
  await queue.run(() => Promise.reject(new Error('first')));
  await queue.run(() => Promise.reject(new Error('second'))).catch(() => undefined);
  await assert.rejects(queue.drain(), /first/);
});
