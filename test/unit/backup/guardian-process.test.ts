/**
 * The guardian child's decisions, in-process on temp dirs: what it removes, empties or keeps (backup_manifest means
 * complete: never touched), --no-clean, which orders it accepts, and that it acts only when `done` never came.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { after, test } from 'node:test';
import type { CancelKey, ConnectionParams } from '../../../src/client/types.ts';
import { cleanDestination, guard, GuardianOrders, type GuardianMessage } from '../../../src/backup/guardian-process.ts';

const root = await mkdtemp(join(tmpdir(), 'pgconvoy-guardian-'));
after(() => rm(root, { recursive: true, force: true }));
let counter = 0;

/** A destination directory holding `files` (relative paths; a trailing '/' makes a directory). */
async function makeDir(files: string[]): Promise<string> {
  const dir = join(root, `d${(counter += 1)}`);
  await mkdir(dir);
  for (const file of files) {
    if (file.endsWith('/')) await mkdir(join(dir, file), { recursive: true });
    else await writeFile(join(dir, file), 'x');
  }
  return dir;
}

async function listing(dir: string): Promise<string[] | null> {
  return existsSync(dir) ? (await readdir(dir, { recursive: true })).sort() : null;
}

test('created by the run, no backup_manifest: removed with everything in it', async () => {
  const dir = await makeDir(['base/', 'base/1', 'PG_VERSION', 'backup_manifest.tmp']);
  assert.equal(await cleanDestination({ dir, wasCreated: true }, false), 'removed');
  assert.equal(existsSync(dir), false);
});

test('empty before the run, no backup_manifest: emptied, the directory stays', async () => {
  const dir = await makeDir(['base/', 'base/1', 'base.tar']);
  assert.equal(await cleanDestination({ dir, wasCreated: false }, false), 'emptied');
  assert.deepEqual(await listing(dir), []);
});

test('backup_manifest present: a complete backup, never touched (created or not, --no-clean or not)', async () => {
  for (const wasCreated of [true, false]) {
    for (const noClean of [false, true]) {
      const dir = await makeDir(['base/', 'base/1', 'backup_manifest', 'backup_manifest.tmp']);
      const before = await listing(dir);
      assert.equal(await cleanDestination({ dir, wasCreated }, noClean), 'complete');
      assert.deepEqual(await listing(dir), before);
    }
  }
});

test('--no-clean: partial files stay, backup_manifest.tmp goes', async () => {
  for (const wasCreated of [true, false]) {
    const dir = await makeDir(['base/', 'base/1', 'PG_VERSION', 'backup_manifest.tmp']);
    assert.equal(await cleanDestination({ dir, wasCreated }, true), 'kept-partial');
    assert.deepEqual(await listing(dir), ['PG_VERSION', 'base', join('base', '1')]);
  }
});

test('a destination the run never got to create: nothing to do', async () => {
  assert.equal(await cleanDestination({ dir: join(root, 'never-created'), wasCreated: true }, false), 'missing');
});

test('orders: start, sessions and done are taken; malformed lines are ignored', () => {
  const orders = new GuardianOrders();
  for (const line of ['', 'not json', '42', '{"type":"session","processId":1,"secretKey":"xyz"}', '{"type":"session","processId":"1","secretKey":"00"}',
    '{"type":"start","host":"/tmp","port":5432,"noClean":true,"destinations":[{"dir":"/a","wasCreated":true},{"dir":"/b"},{"dir":"","wasCreated":false}]}',
    '{"type":"session","processId":7,"secretKey":"DEADBEEF"}']) orders.accept(line);
  assert.deepEqual(orders.server, { host: '/tmp', port: 5432 });
  assert.equal(orders.noClean, true);
  assert.deepEqual(orders.destinations, [{ dir: '/a', wasCreated: true }]);
  assert.deepEqual(orders.sessions, [{ processId: 7, secretKey: Buffer.from([0xde, 0xad, 0xbe, 0xef]) }]);
  assert.equal(orders.isDone, false);
  orders.accept('{"type":"done"}');
  assert.equal(orders.isDone, true);
});

function input(messages: GuardianMessage[]): Readable {
  return Readable.from(messages.map((message) => `${JSON.stringify(message)}\n`));
}

function recordingCancel(): { calls: Array<{ params: ConnectionParams; key: CancelKey }>; cancel: (params: ConnectionParams, key: CancelKey) => Promise<void> } {
  const calls: Array<{ params: ConnectionParams; key: CancelKey }> = [];
  return { calls, cancel: async (params, key) => void calls.push({ params, key }) };
}

test('input ends without done (the parent died): every session is cancelled, then the destinations cleaned', async () => {
  const created = await makeDir(['base/', 'base/1']);
  const preExisting = await makeDir(['pg_wal.tar']);
  const complete = await makeDir(['base.tar', 'backup_manifest']);
  const { calls, cancel } = recordingCancel();
  const outcome = await guard(input([
    { type: 'start', host: '127.0.0.1', port: 5433, noClean: false,
      destinations: [{ dir: created, wasCreated: true }, { dir: preExisting, wasCreated: false }, { dir: complete, wasCreated: true }] },
    { type: 'session', processId: 100, secretKey: '01020304' },
    { type: 'session', processId: 101, secretKey: '05060708' },
  ]), cancel);
  assert.equal(outcome, 'rescued');
  assert.deepEqual(calls.map(({ key }) => [key.processId, key.secretKey.toString('hex')]), [[100, '01020304'], [101, '05060708']]);
  for (const { params } of calls) {
    assert.equal(params.host, '127.0.0.1');
    assert.equal(params.port, 5433);
    assert.equal(params.password, undefined);
  }
  assert.equal(existsSync(created), false);
  assert.deepEqual(await listing(preExisting), []);
  assert.deepEqual(await listing(complete), ['backup_manifest', 'base.tar']);
});

test('a cancel that fails does not keep the destinations from being cleaned', async () => {
  const created = await makeDir(['base/']);
  const outcome = await guard(input([
    { type: 'start', host: '127.0.0.1', port: 1, noClean: false, destinations: [{ dir: created, wasCreated: true }] },
    { type: 'session', processId: 100, secretKey: '01020304' },
  ]), async () => { throw new Error('connection refused'); });
  assert.equal(outcome, 'rescued');
  assert.equal(existsSync(created), false);
});

test('done: nothing is cancelled and nothing is touched', async () => {
  const created = await makeDir(['base/', 'base/1']);
  const { calls, cancel } = recordingCancel();
  const outcome = await guard(input([
    { type: 'start', host: '127.0.0.1', port: 5433, noClean: false, destinations: [{ dir: created, wasCreated: true }] },
    { type: 'session', processId: 100, secretKey: '01020304' },
    { type: 'done' },
  ]), cancel);
  assert.equal(outcome, 'released');
  assert.equal(calls.length, 0);
  assert.deepEqual(await listing(created), ['base', join('base', '1')]);
});
