import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { findChecksumMismatches, pageChecksum, PAGE_BYTES } from '../../../src/util/page-checksum.ts';
import { fixturePage, PAGE_FIXTURES } from './page-checksum.fixtures.ts';

const RELSEG_BLOCKS = 131072;

/** The fixture pages back to back, starting `lead` bytes into a fresh buffer (so an odd lead misaligns them). */
function concatenated(lead: number): Buffer {
  const out = Buffer.alloc(lead + PAGE_FIXTURES.length * PAGE_BYTES, 0xee);
  PAGE_FIXTURES.forEach((fixture, i) => fixturePage(fixture).copy(out, lead + i * PAGE_BYTES));
  return out;
}

test('fixtures are whole, initialized pages', () => {
  for (const fixture of PAGE_FIXTURES) {
    const page = fixturePage(fixture);
    assert.equal(page.length, PAGE_BYTES, fixture.file);
    assert.notEqual(page.readUInt16LE(14), 0, `${fixture.file} pd_upper`);
    assert.equal(page.readUInt16LE(8), fixture.checksum, `${fixture.file} pd_checksum`);
  }
});

test('computes the pd_checksum PostgreSQL wrote on real pages', () => {
  for (const fixture of PAGE_FIXTURES) {
    assert.equal(pageChecksum(fixturePage(fixture), 0, fixture.block), fixture.checksum, `${fixture.file} block ${fixture.block}`);
  }
});

test('gives the same checksum at every alignment of the page in memory', () => {
  const fixture = PAGE_FIXTURES[1]!;
  for (let lead = 0; lead < 8; lead++) {
    const buffer = Buffer.alloc(lead + PAGE_BYTES + 3);
    fixturePage(fixture).copy(buffer, lead);
    assert.equal(pageChecksum(buffer, lead, fixture.block), fixture.checksum, `lead ${lead}`);
    const view = new Uint8Array(buffer.buffer, buffer.byteOffset + lead, PAGE_BYTES);
    assert.equal(pageChecksum(view, 0, fixture.block), fixture.checksum, `view at lead ${lead}`);
  }
});

test('ignores the stored checksum field but not the flags beside it', () => {
  const fixture = PAGE_FIXTURES[0]!;
  const page = fixturePage(fixture);
  page.writeUInt16LE(0x1234, 8);
  assert.equal(pageChecksum(page, 0, fixture.block), fixture.checksum);
  page[10] = (page[10] as number) ^ 0x01; // pd_flags
  assert.notEqual(pageChecksum(page, 0, fixture.block), fixture.checksum);
});

test('does not modify the page', () => {
  const page = fixturePage(PAGE_FIXTURES[2]!);
  const before = Buffer.from(page);
  pageChecksum(page, 0, 7);
  findChecksumMismatches(page, 0, PAGE_BYTES, 0);
  assert.deepEqual(page, before);
});

test('finds no mismatch in real pages, aligned or not', () => {
  for (const lead of [0, 1, 2, 3, 4, PAGE_BYTES]) {
    const buffer = concatenated(lead);
    // Every fixture is checked against its own block number.
    PAGE_FIXTURES.forEach((fixture, i) => {
      const at = lead + i * PAGE_BYTES;
      assert.deepEqual(findChecksumMismatches(buffer, at, at + PAGE_BYTES, fixture.block), [], `lead ${lead} page ${i}`);
    });
  }
});

test('checks a run of consecutive real blocks', () => {
  const fixtures = PAGE_FIXTURES.filter((f) => f.file === 'base/1/1255');
  // Blocks 0, 7 and 95 are not consecutive, so lay them out at their real positions within a sparse range.
  const first = fixtures[0]!.block;
  const span = fixtures.at(-1)!.block - first + 1;
  for (const lead of [0, 3]) {
    const buffer = Buffer.alloc(lead + span * PAGE_BYTES); // the gaps are all-zero pages, which are skipped
    for (const fixture of fixtures) fixturePage(fixture).copy(buffer, lead + (fixture.block - first) * PAGE_BYTES);
    assert.deepEqual(findChecksumMismatches(buffer, lead, buffer.length, first), [], `lead ${lead}`);
  }
});

test('reports exactly the block with a flipped data byte, with its lsn', () => {
  const fixtures = PAGE_FIXTURES.filter((f) => f.file === 'base/1/1255');
  const first = fixtures[0]!.block;
  const span = fixtures.at(-1)!.block - first + 1;
  for (const lead of [0, 1]) {
    const buffer = Buffer.alloc(lead + span * PAGE_BYTES);
    for (const fixture of fixtures) fixturePage(fixture).copy(buffer, lead + (fixture.block - first) * PAGE_BYTES);
    const victim = fixtures[1]!;
    const at = lead + (victim.block - first) * PAGE_BYTES + 5000;
    buffer[at] = (buffer[at] as number) ^ 0x20;
    const mismatches = findChecksumMismatches(buffer, lead, buffer.length, first);
    assert.equal(mismatches.length, 1, `lead ${lead}`);
    const [mismatch] = mismatches;
    assert.equal(mismatch!.block, victim.block);
    assert.equal(mismatch!.lsn, victim.lsn);
    assert.equal(mismatch!.expected, victim.checksum);
    assert.notEqual(mismatch!.calculated, victim.checksum);
  }
});

test('reports a page checked under the wrong block number (a transposed page)', () => {
  const fixture = PAGE_FIXTURES[3]!;
  const page = fixturePage(fixture);
  for (const wrong of [fixture.block + 1, fixture.block + RELSEG_BLOCKS]) {
    const [mismatch, ...rest] = findChecksumMismatches(page, 0, PAGE_BYTES, wrong);
    assert.deepEqual(rest, []);
    assert.equal(mismatch?.block, wrong);
    assert.equal(mismatch?.lsn, fixture.lsn);
    assert.equal(mismatch?.expected, fixture.checksum);
    assert.equal(mismatch?.calculated, pageChecksum(page, 0, wrong));
    assert.notEqual(mismatch?.calculated, fixture.checksum);
  }
});

test('skips new pages: all zeros, or pd_upper zero with a garbage checksum', () => {
  assert.deepEqual(findChecksumMismatches(Buffer.alloc(3 * PAGE_BYTES), 0, 3 * PAGE_BYTES, 10), []);
  const page = fixturePage(PAGE_FIXTURES[4]!);
  page.writeUInt16LE(0, 14);
  page.writeUInt16LE(0xbeef, 8);
  page[6000] = 0x5a;
  assert.deepEqual(findChecksumMismatches(page, 0, PAGE_BYTES, 1), []);
});

test('checksums stay in 1..65535', () => {
  const page = Buffer.alloc(PAGE_BYTES);
  page.writeUInt16LE(PAGE_BYTES, 14);
  for (let block = 0; block < 200; block++) {
    page.writeUInt32LE(block * 2654435761 >>> 0, 100);
    const checksum = pageChecksum(page, 0, block);
    assert.ok(Number.isInteger(checksum) && checksum >= 1 && checksum <= 65535, String(checksum));
  }
});

test('an empty range has no mismatches', () => {
  assert.deepEqual(findChecksumMismatches(Buffer.alloc(10), 3, 3, 0), []);
});

test('rejects ranges that are not whole pages and pages past the end', () => {
  const buffer = Buffer.alloc(2 * PAGE_BYTES);
  assert.throws(() => findChecksumMismatches(buffer, 0, PAGE_BYTES + 1, 0), { code: 'INTERNAL_ASSERTION' });
  assert.throws(() => findChecksumMismatches(buffer, 1, 2 * PAGE_BYTES + 1, 0), { code: 'INTERNAL_ASSERTION' });
  assert.throws(() => pageChecksum(buffer, PAGE_BYTES + 1, 0), { code: 'INTERNAL_ASSERTION' });
});

test('the WebAssembly kernel and the JavaScript agree on random pages, block numbers, lengths and alignments', () => {
  let seed = 20261203;
  const random = (): number => {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    return seed;
  };
  for (let round = 0; round < 40; round++) {
    const pages = 1 + (random() % 200); // past the kernel's first memory size, so its growth is exercised
    const shift = random() % 5;
    const bytes = new Uint8Array(shift + pages * PAGE_BYTES);
    for (let i = 0; i < bytes.length; i++) bytes[i] = random() & 0xff;
    const firstBlock = round % 2 === 0 ? random() % 1000 : 0xffffffff - pages - (random() % 1000);
    // every page's stored checksum set to what the JavaScript computes: the kernel must find no mismatch
    for (let page = 0; page < pages; page++) {
      const at = shift + page * PAGE_BYTES;
      bytes[at + 14] = (bytes[at + 14] as number) | 1; // pd_upper non-zero: not a new page
      const sum = pageChecksum(bytes, at, firstBlock + page);
      bytes[at + 8] = sum & 0xff;
      bytes[at + 9] = sum >>> 8;
    }
    assert.deepEqual(findChecksumMismatches(bytes, shift, bytes.length, firstBlock), [], `round ${round}`);
    // and a page whose checksum is off by one is the one reported, with what the JavaScript says it should be
    const victim = random() % pages;
    const at = shift + victim * PAGE_BYTES;
    const right = pageChecksum(bytes, at, firstBlock + victim);
    bytes[at + 8] = (bytes[at + 8] as number) ^ 1;
    const found = findChecksumMismatches(bytes, shift, bytes.length, firstBlock);
    assert.deepEqual(found.map((m) => [m.block, m.calculated]), [[firstBlock + victim, right]], `round ${round}`);
  }
});

test('the committed WebAssembly module is compiled from the committed .wat', () => {
  const run = spawnSync(process.execPath, [fileURLToPath(new URL('../../../scripts/build-wasm.mjs', import.meta.url)), '--check'], { encoding: 'utf8' });
  assert.equal(run.status, 0, run.stderr);
});
