import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { test } from 'node:test';
import { Convoy, type ConvoyMember } from '../../../../src/serve/backup/convoy.ts';
import type { ReadCounters } from '../../../../src/serve/backup/file-read.ts';
import { MemberQueue } from '../../../../src/serve/backup/member-queue.ts';
import { Throttle } from '../../../../src/serve/backup/throttle.ts';
import { withTempDir } from '../../pipeline/pipeline-helpers.ts';
import { contentOf, makeFakeDataDir, mainLayout, SENT_FILES } from './fake-data-dir.ts';

const TOTAL_FILE_BYTES = Object.values(SENT_FILES).reduce((sum, size) => sum + size, 0);

function convoy(counters: ReadCounters, chunkBytes = 4096): Convoy {
  return new Convoy({ chunkBytes, throttle: new Throttle(null), counters, dataChecksums: false, log: () => {} });
}

function member(id: number, capacityBytes = 1 << 20): ConvoyMember {
  return { id, queue: new MemberQueue(capacityBytes), checksumAlgorithm: 'SHA256', verifyChecksums: false, tablespaceMap: false, sentDirectories: new Set() };
}

interface Received {
  readonly files: Map<string, Buffer>;
  readonly digests: Map<string, string>;
  readonly order: string[];
  sharedBytes: number;
}

/** Takes the member's events to archive-end; `onFile` runs after each file and may pause the consumer. */
async function drain(m: ConvoyMember, onFile: (count: number) => Promise<void> | void = () => {}): Promise<Received> {
  const received: Received = { files: new Map(), digests: new Map(), order: [], sharedBytes: 0 };
  let current: Buffer[] = [];
  for (;;) {
    const event = await m.queue.next();
    if (event.type === 'archive-end') return received;
    if (event.type === 'entry') {
      assert.ok(event.entry.ancestors.every((a) => received.order.includes(a.name)), `${event.entry.name} after its directories`);
      assert.ok(!received.order.includes(event.entry.name), `${event.entry.name} only once`);
      received.order.push(event.entry.name);
      current = [];
    } else if (event.type === 'data') {
      current.push(event.chunk);
      if (event.shared) received.sharedBytes += event.chunk.length;
    } else {
      received.files.set(event.entry.name, Buffer.concat(current));
      received.digests.set(event.entry.name, event.digests.get('SHA256') ?? '');
      await onFile(received.files.size);
    }
  }
}

function assertComplete(received: Received): void {
  assert.deepEqual([...received.files.keys()].sort(), Object.keys(SENT_FILES).sort());
  for (const [name, size] of Object.entries(SENT_FILES)) {
    const expected = contentOf(name, size);
    assert.ok(received.files.get(name)?.equals(expected), `content of ${name}`);
    assert.equal(received.digests.get(name), createHash('sha256').update(expected).digest('hex'), `digest of ${name}`);
  }
}

test('one backup alone gets every file once, with its manifest checksum', withTempDir(async (root) => {
  const { dataDir } = makeFakeDataDir(root);
  const counters = { dataBytesRead: 0 };
  const a = member(1);
  convoy(counters).join('main', mainLayout(dataDir), a);
  const received = await drain(a);
  assertComplete(received);
  assert.equal(received.sharedBytes, 0);
  assert.equal(counters.dataBytesRead, TOTAL_FILE_BYTES);
}));

test('backups that join together share every read', withTempDir(async (root) => {
  const { dataDir } = makeFakeDataDir(root);
  const counters = { dataBytesRead: 0 };
  const shared = convoy(counters);
  const members = [member(1), member(2), member(3)];
  for (const m of members) shared.join('main', mainLayout(dataDir), m);
  const all = await Promise.all(members.map((m) => drain(m)));
  for (const received of all) {
    assertComplete(received);
    assert.equal(received.sharedBytes, TOTAL_FILE_BYTES);
  }
  assert.equal(counters.dataBytesRead, TOTAL_FILE_BYTES, 'three backups, one read');
}));

test('a backup that joins halfway gets what it missed when the reader wraps round, and only that is read twice', withTempDir(async (root) => {
  const { dataDir } = makeFakeDataDir(root);
  const counters = { dataBytesRead: 0 };
  const shared = convoy(counters);
  const first = member(1);
  const late = member(2);
  let lateDrain: Promise<Received> | null = null;
  shared.join('main', mainLayout(dataDir), first);
  const firstReceived = await drain(first, (count) => {
    if (count === 4) {
      shared.join('main', mainLayout(dataDir), late);
      lateDrain = drain(late);
    }
  });
  assertComplete(firstReceived);
  assert.notEqual(lateDrain, null);
  const lateReceived = await (lateDrain as unknown as Promise<Received>);
  assertComplete(lateReceived);
  assert.notDeepEqual(lateReceived.order, firstReceived.order, 'the late backup starts where the reader was');
  assert.ok(counters.dataBytesRead < 2 * TOTAL_FILE_BYTES, `read ${counters.dataBytesRead} bytes for ${TOTAL_FILE_BYTES}`);
  assert.ok(lateReceived.sharedBytes > 0);
}));

test('a backup that stops reading leaves the shared read and finishes alone; the other does not wait for it', withTempDir(async (root) => {
  const { dataDir } = makeFakeDataDir(root);
  const counters = { dataBytesRead: 0 };
  const shared = convoy(counters, 2048);
  const fast = member(1, 8192);
  const stuck = member(2, 8192);
  let release: () => void = () => {};
  const released = new Promise<void>((resolve) => { release = resolve; });
  shared.join('main', mainLayout(dataDir), fast);
  shared.join('main', mainLayout(dataDir), stuck);
  // the stuck backup takes one file, then waits until the fast one is completely done: without leaving the
  // convoy the fast one could never finish, and this test would time out
  const stuckDrain = drain(stuck, async (count) => { if (count === 1) await released; });
  const fastReceived = await drain(fast);
  release();
  assertComplete(fastReceived);
  const stuckReceived = await stuckDrain;
  assertComplete(stuckReceived);
  assert.ok(stuckReceived.sharedBytes < TOTAL_FILE_BYTES, 'part of it was read alone');
}));

test('a backup that fails is forgotten by the reader; the others go on', withTempDir(async (root) => {
  const { dataDir } = makeFakeDataDir(root);
  const counters = { dataBytesRead: 0 };
  const shared = convoy(counters, 2048);
  const ok = member(1, 8192);
  const failing = member(2, 8192);
  shared.join('main', mainLayout(dataDir), ok);
  shared.join('main', mainLayout(dataDir), failing);
  failing.queue.close(new Error('client went away'));
  assertComplete(await drain(ok));
  await assert.rejects(failing.queue.next(), /client went away/);
}));

test('a backup that joins while the reader waits on a full one alone is not held back by it', withTempDir(async (root) => {
  const { dataDir } = makeFakeDataDir(root);
  const counters = { dataBytesRead: 0 };
  const shared = convoy(counters, 2048);
  const stuck = member(1, 8192);
  let release: () => void = () => {};
  const released = new Promise<void>((resolve) => { release = resolve; });
  shared.join('main', mainLayout(dataDir), stuck);
  // the stuck backup takes one file and stops, so the reader waits on it alone (nobody's fault) until...
  const stuckDrain = drain(stuck, async (count) => { if (count === 1) await released; });
  await new Promise((resolve) => setTimeout(resolve, 100));
  // ...a second backup joins: without blaming the stuck one it would wait for it forever, and this test time out
  const late = member(2, 8192);
  shared.join('main', mainLayout(dataDir), late);
  const lateReceived = await drain(late);
  release();
  assertComplete(lateReceived);
  assertComplete(await stuckDrain);
}));
