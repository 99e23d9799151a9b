import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { appendFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import type { ArchiveEntry } from '../../../../src/serve/backup/archive-walk.ts';
import { FileRead, JoinedRead, type FileReadOptions } from '../../../../src/serve/backup/file-read.ts';
import type { PageFailure } from '../../../../src/serve/backup/member-queue.ts';
import { PAGE_BYTES } from '../../../../src/util/page-checksum.ts';
import { Throttle } from '../../../../src/serve/backup/throttle.ts';
import { withTempDir } from '../../pipeline/pipeline-helpers.ts';
import { contentOf } from './fake-data-dir.ts';

/** Small files are read whole when their pass starts, large ones in chunks with a read ahead: both sizes each time. */
const SIZES = { small: 40_000, large: 3 * 1024 * 1024 + 123 } as const;

function entryFor(path: string, size: number): ArchiveEntry {
  return {
    key: path, name: path, path, pgPath: `./${path}`, kind: 'file', linkTarget: null, ancestors: [], inTablespaceDir: false,
    checksumSegno: null, stat: { mode: 0o600, uid: 0, gid: 0, size, mtimeSec: 0 },
  };
}

function options(): FileReadOptions & { counters: { dataBytesRead: number } } {
  return { chunkBytes: 1024 * 1024, throttle: new Throttle(null), counters: { dataBytesRead: 0 } };
}

async function readAll(read: FileRead): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for (let chunk = await read.next(); chunk !== null; chunk = await read.next()) chunks.push(chunk);
  await read.close();
  return Buffer.concat(chunks);
}

for (const [kind, size] of Object.entries(SIZES)) {
  test(`a ${kind} file: exactly its walked size, its SHA256 as sent, bytes counted once`, withTempDir(async (root) => {
    const path = join(root, 'f');
    const content = contentOf('f', size);
    writeFileSync(path, content);
    const opts = options();
    const read = await FileRead.start(entryFor(path, size), ['SHA256'], false, opts);
    assert.ok(read !== null);
    const sent = await readAll(read);
    assert.deepEqual(sent, content);
    assert.equal(read.finish().digests.get('SHA256'), createHash('sha256').update(content).digest('hex'));
    assert.equal(opts.counters.dataBytesRead, size);
  }));

  test(`a ${kind} file that grew after the walk: only the walked size is sent`, withTempDir(async (root) => {
    const path = join(root, 'f');
    writeFileSync(path, contentOf('f', size));
    const entry = entryFor(path, size);
    appendFileSync(path, Buffer.alloc(10_000, 7));
    const read = await FileRead.start(entry, [], false, options());
    assert.deepEqual(await readAll(read as FileRead), contentOf('f', size));
  }));

  test(`a ${kind} file that shrank after the walk: padded with zeros to the walked size`, withTempDir(async (root) => {
    const path = join(root, 'f');
    writeFileSync(path, contentOf('f', size));
    const entry = entryFor(path, size);
    truncateSync(path, 5000);
    const sent = await readAll(await FileRead.start(entry, [], false, options()) as FileRead);
    assert.equal(sent.length, size);
    assert.deepEqual(sent.subarray(0, 5000), contentOf('f', 5000));
    assert.equal(sent.subarray(5000).every((byte) => byte === 0), true);
  }));

  test(`a ${kind} file that vanished after the walk: no pass at all`, withTempDir(async (root) => {
    const path = join(root, 'f');
    writeFileSync(path, contentOf('f', size));
    const entry = entryFor(path, size);
    rmSync(path);
    assert.equal(await FileRead.start(entry, [], false, options()), null);
  }));
}

test('a pass with an end stops there; a JoinedRead goes on with the shared rest to the whole file\'s checksum', withTempDir(async (root) => {
  const path = join(root, 'f');
  const size = SIZES.large;
  const content = contentOf('f', size);
  writeFileSync(path, content);
  const entry = entryFor(path, size);
  const shared = await FileRead.start(entry, ['CRC32C'], false, options()) as FileRead;
  const head = await shared.next() as Buffer;
  const opts = options();
  const alone = await FileRead.start(entry, ['SHA256'], false, opts, head.length) as FileRead;
  assert.deepEqual(await readAll(alone), content.subarray(0, head.length));
  assert.equal(opts.counters.dataBytesRead, head.length, 'nothing read past its end');
  const joined = new JoinedRead(alone.snapshot('SHA256'));
  for (let chunk = await shared.next(); chunk !== null; chunk = await shared.next()) joined.take(chunk);
  await shared.close();
  const { digests } = joined.finish(shared.finish());
  assert.equal(digests.get('SHA256'), createHash('sha256').update(content).digest('hex'));
  assert.equal(digests.has('CRC32C'), false, 'only its own algorithm');
}));

test('a JoinedRead counts the shared read\'s page failures only from where it joined, and keeps its own', () => {
  const failure = (block: number): PageFailure => ({ block, lsn: 1n, calculated: 1, expected: 2 });
  const joined = new JoinedRead({ offset: 4 * PAGE_BYTES, digesters: new Map(), failures: [failure(1)], verifying: true, unverifiable: null });
  const shared = { failures: [failure(2), failure(3), failure(4), failure(9)], unverifiable: null };
  assert.deepEqual(joined.finish(shared).failures.map(({ block }) => block), [1, 4, 9]);
  const state = joined.snapshot({ offset: 6 * PAGE_BYTES, digesters: new Map(), failures: shared.failures, verifying: true, unverifiable: null });
  assert.deepEqual(state.failures.map(({ block }) => block), [1, 4, 9]);
  assert.equal(state.offset, 6 * PAGE_BYTES, 'it leaves where the shared read stands');
});
