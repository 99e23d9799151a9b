import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { checksumHex } from '../../../src/manifest/checksum.ts';
import { hashFiles } from '../../../src/verify/checksum-pool.ts';
import type { HashOutcome } from '../../../src/verify/file-hasher.ts';
import { PART_BYTES } from '../../../src/verify/file-parts.ts';

test('a file big enough to be split over a worker and this thread gets its whole checksum, with every byte counted', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'pgconvoy-pool-'));
  try {
    const big = Buffer.allocUnsafe(2 * PART_BYTES + 4321);
    for (let at = 0; at < big.length; at += 4) big.writeUInt32LE((at * 2654435761) >>> 0, Math.min(at, big.length - 4));
    const small = Buffer.from('small file');
    writeFileSync(join(dir, 'big'), big);
    writeFileSync(join(dir, 'small'), small);
    const outcomes: HashOutcome[] = [];
    let bytes = 0;
    await hashFiles([
      { index: 0, path: join(dir, 'big'), size: big.length, algorithm: 'CRC32C' },
      { index: 1, path: join(dir, 'small'), size: small.length, algorithm: 'CRC32C' },
    ], { workers: 1, onOutcome: (outcome) => outcomes.push(outcome), onBytes: (n) => { bytes += n; } });
    assert.deepEqual(outcomes.sort((a, b) => a.index - b.index), [
      { index: 0, bytesRead: big.length, checksum: checksumHex('CRC32C', big), error: null },
      { index: 1, bytesRead: small.length, checksum: checksumHex('CRC32C', small), error: null },
    ]);
    assert.equal(bytes, big.length + small.length);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
