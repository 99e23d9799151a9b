import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { Convoy, type ConvoyMember } from '../../../../src/serve/backup/convoy.ts';
import type { ReadCounters } from '../../../../src/serve/backup/file-read.ts';
import { MemberQueue } from '../../../../src/serve/backup/member-queue.ts';
import { Throttle } from '../../../../src/serve/backup/throttle.ts';
import { withTempDir } from '../../pipeline/pipeline-helpers.ts';
import { contentOf, makeFakeDataDir, mainLayout, SENT_FILES } from './fake-data-dir.ts';

const TOTAL_FILE_BYTES = Object.values(SENT_FILES).reduce((sum, size) => sum + size, 0);

type LogLine = { readonly event: string; readonly fields: Record<string, unknown> };

function convoy(counters: ReadCounters, chunkBytes = 4096, log: LogLine[] = []): Convoy {
  return new Convoy({ chunkBytes, throttle: new Throttle(null), counters, dataChecksums: false, log: (event, fields) => log.push({ event, fields: fields ?? {} }) });
}

/** A relation segment large enough to be read in many chunks (the fake data directory's files are read whole). */
const BIG_FILE = 'base/1/16600';
const BIG_BYTES = 64 * 8192;

function member(id: number, capacityBytes = 1 << 20): ConvoyMember {
  return { id, queue: new MemberQueue(capacityBytes), checksumAlgorithm: 'SHA256', verifyChecksums: false, tablespaceMap: false, sentDirectories: new Set() };
}

interface Received {
  readonly files: Map<string, Buffer>;
  readonly digests: Map<string, string>;
  readonly order: string[];
  sharedBytes: number;
}

/**
 * Takes the member's events to archive-end; `onFile` runs after each file and `onData` after each chunk (with the
 * file's bytes so far); either may pause the consumer.
 */
async function drain(m: ConvoyMember, onFile: (count: number) => Promise<void> | void = () => {},
  onData: (name: string, bytes: number) => Promise<void> | void = () => {}): Promise<Received> {
  const received: Received = { files: new Map(), digests: new Map(), order: [], sharedBytes: 0 };
  let current: Buffer[] = [];
  let currentName = '';
  let currentBytes = 0;
  for (;;) {
    const event = await m.queue.next();
    if (event.type === 'archive-end') return received;
    if (event.type === 'entry') {
      assert.ok(event.entry.ancestors.every((a) => received.order.includes(a.name)), `${event.entry.name} after its directories`);
      assert.ok(!received.order.includes(event.entry.name), `${event.entry.name} only once`);
      received.order.push(event.entry.name);
      current = [];
      currentName = event.entry.name;
      currentBytes = 0;
    } else if (event.type === 'data') {
      current.push(event.chunk);
      currentBytes += event.chunk.length;
      if (event.shared) received.sharedBytes += event.chunk.length;
      await onData(currentName, currentBytes);
    } else {
      received.files.set(event.entry.name, Buffer.concat(current));
      received.digests.set(event.entry.name, event.digests.get('SHA256') ?? '');
      await onFile(received.files.size);
    }
  }
}

function assertComplete(received: Received, files: Readonly<Record<string, number>> = SENT_FILES): void {
  assert.deepEqual([...received.files.keys()].sort(), Object.keys(files).sort());
  for (const [name, size] of Object.entries(files)) {
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

/** The fake data directory with BIG_FILE added; returns what a backup of it must contain. */
function withBigFile(dataDir: string): Record<string, number> {
  writeFileSync(join(dataDir, BIG_FILE), contentOf(BIG_FILE, BIG_BYTES));
  return { ...SENT_FILES, [BIG_FILE]: BIG_BYTES };
}

const catchUps = (log: LogLine[], backup: number): LogLine[] => log.filter(({ event, fields }) => event === 'convoy-catch-up' && fields.backup === backup);
const detaches = (log: LogLine[], backup: number): LogLine[] => log.filter(({ event, fields }) => event === 'convoy-detach' && fields.backup === backup);

/**
 * One backup reads the big file; a second joins when the first has taken `joinAtBytes` of it. `lateOnData` is the
 * second's chunk hook (it may pause it), `onFirstDone` runs when the first has everything. Returns both receptions, the bytes read beyond one backup, and the log.
 */
async function joinDuringBigFile(root: string, joinAtBytes: number,
  lateOnData: (name: string, bytes: number, log: LogLine[]) => Promise<void> | void = () => {}, onFirstDone = (): void => {}):
  Promise<{ files: Record<string, number>; first: Received; late: Received; extraBytes: number; log: LogLine[] }> {
  const { dataDir } = makeFakeDataDir(root);
  const files = withBigFile(dataDir);
  const counters = { dataBytesRead: 0 };
  const log: LogLine[] = [];
  const shared = convoy(counters, 4096, log);
  const first = member(1, 8192);
  const late = member(2, 8192);
  let lateDrain: Promise<Received> | null = null;
  shared.join('main', mainLayout(dataDir), first);
  const firstReceived = await drain(first, () => {}, (name, bytes) => {
    if (name !== BIG_FILE || bytes !== joinAtBytes) return;
    shared.join('main', mainLayout(dataDir), late);
    lateDrain = drain(late, () => {}, (lateName, lateBytes) => lateOnData(lateName, lateBytes, log));
  });
  onFirstDone();
  assert.notEqual(lateDrain, null, 'the second backup joined');
  const lateReceived = await (lateDrain as unknown as Promise<Received>);
  const oneBackup = Object.values(files).reduce((sum, size) => sum + size, 0);
  return { files, first: firstReceived, late: lateReceived, extraBytes: counters.dataBytesRead - oneBackup, log };
}

test('a backup that joins in the first half of a large file reads that part alone, shares the rest, and does not read the file again', withTempDir(async (root) => {
  const { files, first, late, extraBytes, log } = await joinDuringBigFile(root, 8 * 4096);
  assertComplete(first, files);
  assertComplete(late, files);
  const [catchUp] = catchUps(log, 2);
  assert.ok(catchUp !== undefined, 'it caught up');
  const caughtUp = catchUp.fields.bytes as number;
  assert.ok(caughtUp > 0 && caughtUp <= BIG_BYTES / 2, `caught up on ${caughtUp} bytes`);
  assert.equal(late.order.find((name) => name in files), BIG_FILE, 'its archive starts with the file it joined in');
  assert.ok(late.sharedBytes >= BIG_BYTES - caughtUp, 'the rest of the file was shared');
  // without catching up the second lap reads the whole file again: at least BIG_BYTES more
  assert.ok(extraBytes < caughtUp + TOTAL_FILE_BYTES, `read ${extraBytes} bytes beyond one backup`);
}));

test('a backup that joins in the second half of a large file waits for the next lap to get it', withTempDir(async (root) => {
  const { files, first, late, extraBytes, log } = await joinDuringBigFile(root, 96 * 4096);
  assertComplete(first, files);
  assertComplete(late, files);
  assert.deepEqual(catchUps(log, 2), []);
  assert.ok(extraBytes >= BIG_BYTES, 'the file was read again for it');
}));

test('a backup that stops while it catches up finishes the file alone, with its checksum right', withTempDir(async (root) => {
  let release: () => void = () => {};
  const released = new Promise<void>((resolve) => { release = resolve; });
  // the first backup can finish only after the stuck one has left the shared read, or this test times out
  const { files, late, log } = await joinDuringBigFile(root, 8 * 4096, async (name) => { if (name === BIG_FILE) await released; }, release);
  assertComplete(late, files);
  assert.equal(catchUps(log, 2).length, 1);
  assert.equal(detaches(log, 2).length, 1);
}));

test('a backup that stops after it caught up finishes the file alone, with its checksum right', withTempDir(async (root) => {
  let release: () => void = () => {};
  const released = new Promise<void>((resolve) => { release = resolve; });
  const { files, late, log } = await joinDuringBigFile(root, 8 * 4096, async (name, bytes, lines) => {
    const caughtUp = catchUps(lines, 2)[0]?.fields.bytes as number;
    if (name === BIG_FILE && bytes === caughtUp + 2 * 4096) await released; // two chunks into the shared part
  }, release);
  assertComplete(late, files);
  assert.equal(catchUps(log, 2).length, 1);
  const [detach] = detaches(log, 2);
  assert.ok(detach !== undefined && (detach.fields.offset as number) > (catchUps(log, 2)[0]?.fields.bytes as number), 'it left during the shared part');
}));
