import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { checksumHex } from '../../../src/manifest/checksum.ts';
import { FileHasher, type HashJob, type HashOutcome } from '../../../src/verify/file-hasher.ts';
import { splitIntoParts } from '../../../src/verify/file-parts.ts';

const PART = 65536;

function withFile(bytes: Buffer, body: (path: string) => Promise<void>): () => Promise<void> {
  return async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pgconvoy-parts-'));
    const path = join(dir, '16384');
    writeFileSync(path, bytes);
    try {
      await body(path);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  };
}

function data(length: number): Buffer {
  const bytes = Buffer.alloc(length);
  for (let i = 0; i < length; i++) bytes[i] = (i * 197 + (i >>> 9)) & 0xff;
  return bytes;
}

/** Hashes every job in a scrambled order (lanes finish in any order) and returns the whole-file outcomes. */
async function hashAll(jobs: readonly HashJob[], partBytes = PART): Promise<HashOutcome[]> {
  const split = splitIntoParts(jobs, partBytes);
  const hasher = new FileHasher(); // one lane: a hasher's buffers serve one job at a time
  const outcomes: HashOutcome[] = [];
  for (const job of split.jobs) outcomes.push(hasher.hash(job, () => {}));
  const whole: HashOutcome[] = [];
  for (const outcome of [...outcomes].reverse()) {
    const done = split.assembler.add(outcome);
    if (done !== null) whole.push(done);
  }
  return whole;
}

const bytes = data(4 * PART + 12345);

test('a large CRC32C file is cut into parts, the last one taking the remainder', () => {
  const { jobs } = splitIntoParts([{ index: 7, path: 'f', size: bytes.length, algorithm: 'CRC32C' }], PART);
  assert.deepEqual(jobs.map((job) => [job.part?.offset, job.size, job.part?.last]),
    [[0, PART, false], [PART, PART, false], [2 * PART, PART, false], [3 * PART, PART + 12345, true]]);
});

test('files under two parts and SHA files stay whole', () => {
  const { jobs } = splitIntoParts([
    { index: 1, path: 'a', size: 2 * PART - 1, algorithm: 'CRC32C' },
    { index: 2, path: 'b', size: 10 * PART, algorithm: 'SHA256' },
  ], PART);
  assert.deepEqual(jobs.map((job) => job.part), [undefined, undefined]);
});

test('the parts\' CRCs combine to the whole file\'s checksum, in any arrival order', withFile(bytes, async (path) => {
  const [outcome] = await hashAll([{ index: 3, path, size: bytes.length, algorithm: 'CRC32C' }]);
  assert.deepEqual(outcome, { index: 3, bytesRead: bytes.length, checksum: checksumHex('CRC32C', bytes), error: null });
}));

test('a file that grew since the walk is read to its end by the last part', withFile(bytes, async (path) => {
  const [outcome] = await hashAll([{ index: 3, path, size: bytes.length - 5000, algorithm: 'CRC32C' }]);
  assert.equal(outcome?.bytesRead, bytes.length);
}));

test('a file that shrank since the walk reads short', withFile(bytes, async (path) => {
  const [outcome] = await hashAll([{ index: 3, path, size: bytes.length + 3 * PART, algorithm: 'CRC32C' }]);
  assert.equal(outcome?.bytesRead, bytes.length);
  assert.equal(outcome?.error, null);
}));

test('a part that cannot be opened makes the file unreadable', async () => {
  const [outcome] = await hashAll([{ index: 4, path: '/nonexistent/pgconvoy/16384', size: 3 * PART, algorithm: 'CRC32C' }]);
  assert.equal(outcome?.checksum, null);
  assert.equal(outcome?.error?.action, 'open');
});
