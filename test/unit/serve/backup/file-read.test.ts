import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { appendFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import type { ArchiveEntry } from '../../../../src/serve/backup/archive-walk.ts';
import { FileRead, type FileReadOptions } from '../../../../src/serve/backup/file-read.ts';
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
