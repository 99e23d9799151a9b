import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { FileOutput } from '../../../../src/pipeline/destination/file-output.ts';
import { TaskQueue } from '../../../../src/pipeline/destination/task-queue.ts';
import { ConvoyError } from '../../../../src/errors/index.ts';
import { tempDir } from '../pipeline-helpers.ts';

test('batched, double-buffered writes land at the right positions; seek and truncate', async () => {
  const dir = tempDir();
  try {
    const path = join(dir, 'f');
    const file = await FileOutput.create(path, 0o640);
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
