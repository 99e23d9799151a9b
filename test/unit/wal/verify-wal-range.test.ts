import { test } from 'node:test';
import assert from 'node:assert/strict';
import { describeWalRange, verifyWalRange, walSegmentsFor, type WalRangeReport } from '../../../src/wal/index.ts';
import { flip, PAGE, payload, sourceOf, WalBuilder } from './wal-builder.ts';

const MB = 1 << 20;

function verify(builder: WalBuilder, startLsn: bigint, endLsn: bigint, files = builder.files(),
  extra: { systemId?: string; tli?: number; segmentBytes?: number } = {}): Promise<WalRangeReport> {
  return verifyWalRange({
    source: sourceOf(files), segmentBytes: extra.segmentBytes ?? builder.segmentBytes, tli: extra.tli ?? builder.tli,
    startLsn, endLsn, ...(extra.systemId === undefined ? {} : { systemId: extra.systemId }),
  });
}

function codes(report: WalRangeReport): string[] {
  return report.problems.map((problem) => problem.code);
}

/** Small records, a few page-spanning ones, until the WAL reaches `untilSegno`; returns record starts. */
function fill(builder: WalBuilder, untilSegno: bigint): bigint[] {
  const starts: bigint[] = [];
  let n = 0;
  while (builder.position / BigInt(builder.segmentBytes) < untilSegno) {
    n++;
    if (n % 7 === 0) starts.push(builder.append({ fullPageImage: true, mainData: payload(14, n) }));
    else if (n % 11 === 0) starts.push(builder.append({ mainData: payload(20000, n) }));
    else starts.push(builder.append({ mainData: payload(n % 200, n), xid: n }));
  }
  return starts;
}

function spanning(starts: bigint[], next: bigint, boundary: bigint): bigint {
  const index = starts.findIndex((start, i) => start < boundary && (starts[i + 1] ?? next) > boundary + 40n);
  assert.ok(index >= 0, 'expected a record across the boundary');
  return starts[index] as bigint;
}

test('verifies a chain across page and segment boundaries, records spanning both', async () => {
  const builder = new WalBuilder();
  const starts = fill(builder, 3n);
  const end = builder.position;
  spanning(starts, end, 2n * BigInt(MB)); // a record crosses into segment 2
  const report = await verify(builder, starts[0] as bigint, end);
  assert.deepEqual(report.problems, []);
  assert.equal(report.ok, true);
  assert.equal(report.recordsChecked, starts.length);
  assert.equal(report.firstRecordLsn, starts[0]);
  assert.equal(report.lastRecordEndLsn, end);
  assert.deepEqual(report.segments, ['000000010000000000000001', '000000010000000000000002', '000000010000000000000003']);
});

test('stops at the first record that reaches the end LSN, in the middle of the WAL', async () => {
  const builder = new WalBuilder();
  const starts = fill(builder, 2n);
  const middle = starts[Math.floor(starts.length / 2)] as bigint;
  const report = await verify(builder, starts[3] as bigint, middle + 1n);
  assert.equal(report.ok, true);
  assert.equal(report.recordsChecked, starts.indexOf(middle) - 3 + 1);
  assert.ok((report.lastRecordEndLsn as bigint) > middle);
});

test('reads segments in order, each once, and none past the range', async () => {
  const builder = new WalBuilder();
  const starts = fill(builder, 4n);
  const source = sourceOf(builder.files());
  const end = starts[starts.length - 2] as bigint;
  const report = await verifyWalRange({ source, segmentBytes: MB, tli: 1, startLsn: starts[0] as bigint, endLsn: end });
  assert.equal(report.ok, true);
  assert.deepEqual(source.reads, report.segments);
  assert.ok(report.segments.length >= 3);
});

test('follows XLOG_SWITCH to the next segment and ignores what follows it in the old one', async () => {
  const builder = new WalBuilder();
  const first = builder.append({ mainData: payload(100) });
  builder.append({ fullPageImage: true });
  const switchLsn = builder.appendSwitch();
  assert.equal(builder.position, 2n * BigInt(MB));
  const after = builder.append({ mainData: payload(50) });
  assert.equal(after, 2n * BigInt(MB) + 40n);
  builder.append({ rmid: 0, info: 0x50, mainData: payload(8) });
  const end = builder.position;
  const files = builder.files();
  files.get('000000010000000000000001')?.fill(0xab, Number(switchLsn % BigInt(MB)) + 24); // garbage after the switch
  const report = await verify(builder, first, end, files);
  assert.deepEqual(report.problems, []);
  assert.equal(report.recordsChecked, 5);
});

test('an end LSN right after XLOG_SWITCH is reached at the segment boundary', async () => {
  const builder = new WalBuilder();
  const first = builder.append({ mainData: payload(100) });
  builder.appendSwitch();
  const report = await verify(builder, first, builder.position);
  assert.equal(report.ok, true);
  assert.equal(report.lastRecordEndLsn, 2n * BigInt(MB));
  assert.deepEqual(report.segments, ['000000010000000000000001']);
});

test('reports a CRC mismatch at the LSN of the damaged record, also when the damage is on a continuation page', async () => {
  const builder = new WalBuilder();
  const starts = fill(builder, 2n);
  const end = builder.position;
  const target = starts[20] as bigint;
  let files = builder.files();
  flip(files.get('000000010000000000000001') as Buffer, Number(target) % MB + 26, 0x01);
  let report = await verify(builder, starts[0] as bigint, end, files);
  assert.deepEqual(codes(report), ['WAL_CRC_MISMATCH']);
  assert.equal(report.problems[0]?.lsn, target);
  assert.equal(report.problems[0]?.file, '000000010000000000000001');
  assert.match(report.problems[0]?.message ?? '', /record at 0\/[0-9A-F]+ has incorrect CRC/);
  assert.equal(report.recordsChecked, 20);

  const big = builder.append({ mainData: payload(30000, 9) });
  const bigEnd = builder.position;
  files = builder.files();
  const nextPage = (big / BigInt(PAGE) + 2n) * BigInt(PAGE);
  flip(files.get(builder.fileName(nextPage / BigInt(MB))) as Buffer, Number(nextPage) % MB + 100, 0x80);
  report = await verify(builder, starts[0] as bigint, bigEnd, files);
  assert.deepEqual(codes(report), ['WAL_CRC_MISMATCH']);
  assert.equal(report.problems[0]?.lsn, big);
});

test('reports a page whose address is wrong', async () => {
  const builder = new WalBuilder();
  const starts = fill(builder, 2n);
  const files = builder.files();
  const segment = files.get('000000010000000000000001') as Buffer;
  segment.writeBigUInt64LE(0x1004000n, 3 * PAGE + 8); // page 3 claims to be page 2
  const report = await verify(builder, starts[0] as bigint, builder.position, files);
  assert.deepEqual(codes(report), ['WAL_PAGE_HEADER']);
  assert.equal(report.problems[0]?.lsn, BigInt(MB + 3 * PAGE));
  assert.match(report.problems[0]?.message ?? '', /unexpected pageaddr 0\/1004000 in WAL segment "000000010000000000000001"/);
});

test('reports every missing segment of the range, also those after the walk stopped', async () => {
  const builder = new WalBuilder();
  const starts = fill(builder, 5n);
  const files = builder.files();
  files.delete('000000010000000000000002');
  files.delete('000000010000000000000004');
  const report = await verify(builder, starts[0] as bigint, builder.position, files);
  assert.deepEqual(codes(report), ['WAL_SEGMENT_MISSING', 'WAL_SEGMENT_MISSING']);
  assert.deepEqual(report.problems.map((p) => p.file), ['000000010000000000000002', '000000010000000000000004']);
  assert.equal(report.problems[0]?.message, 'WAL segment "000000010000000000000002" is missing');
  assert.equal(report.problems[0]?.lsn, 2n * BigInt(MB));
});

test('reports a missing first segment', async () => {
  const builder = new WalBuilder();
  const starts = fill(builder, 2n);
  const files = builder.files();
  files.delete('000000010000000000000001');
  const report = await verify(builder, starts[0] as bigint, builder.position, files);
  assert.deepEqual(codes(report), ['WAL_SEGMENT_MISSING']);
  assert.equal(report.recordsChecked, 0);
  assert.equal(report.firstRecordLsn, null);
});

test('reports short and long segments', async () => {
  const builder = new WalBuilder();
  const starts = fill(builder, 4n);
  const files = builder.files();
  files.set('000000010000000000000002', (files.get('000000010000000000000002') as Buffer).subarray(0, MB - PAGE));
  files.set('000000010000000000000003', Buffer.concat([files.get('000000010000000000000003') as Buffer, Buffer.alloc(1)]));
  const report = await verify(builder, starts[0] as bigint, builder.position, files);
  assert.deepEqual(codes(report), ['WAL_SEGMENT_SIZE', 'WAL_SEGMENT_SIZE']);
  assert.deepEqual(report.problems.map((p) => p.file), ['000000010000000000000002', '000000010000000000000003']);
});

test('reports WAL that ends before the end LSN: zero record, never-written page', async () => {
  const builder = new WalBuilder();
  const first = builder.append({ mainData: payload(100) });
  const last = builder.append({ mainData: payload(60) });
  let report = await verify(builder, first, builder.position + 200n);
  assert.deepEqual(codes(report), ['WAL_ENDS_EARLY']);
  assert.equal(report.problems[0]?.lsn, builder.position);
  assert.equal(report.recordsChecked, 2);
  assert.equal(report.lastRecordEndLsn, builder.position);

  // The last record fills its page exactly; the next page is all zeros.
  const fresh = new WalBuilder();
  const start = fresh.append({ mainData: payload(100) });
  const room = PAGE - Number(fresh.position % BigInt(PAGE)) - 24 - 5;
  fresh.append({ mainData: payload(room) });
  assert.equal(fresh.position % BigInt(PAGE), 0n);
  report = await verify(fresh, start, fresh.position + 3000n);
  assert.deepEqual(codes(report), ['WAL_ENDS_EARLY']);
  assert.equal(report.problems[0]?.lsn, fresh.position);
  assert.ok(last > first);
});

test('a record that ends exactly on a page boundary reaches an end LSN there', async () => {
  const builder = new WalBuilder();
  const start = builder.append({ mainData: payload(100) });
  builder.append({ mainData: payload(PAGE - Number(builder.position % BigInt(PAGE)) - 24 - 5) });
  const report = await verify(builder, start, builder.position);
  assert.equal(report.ok, true);
  assert.equal(report.lastRecordEndLsn, BigInt(MB + PAGE));
});

test('accepts the WAL of every release 13 to 18 and names an unknown magic', async () => {
  for (const magic of [0xd106, 0xd10d, 0xd110, 0xd113, 0xd116, 0xd118]) {
    const builder = new WalBuilder({ magic });
    const starts = fill(builder, 2n);
    const report = await verify(builder, starts[0] as bigint, builder.position);
    assert.deepEqual(report.problems, [], magic.toString(16));
  }
  const builder = new WalBuilder({ magic: 0xd101 });
  const report = await verify(builder, builder.append({ mainData: payload(10) }), builder.position);
  assert.deepEqual(codes(report), ['WAL_PAGE_HEADER']);
  assert.match(report.problems[0]?.message ?? '', /invalid magic number D101/);
});

test('refuses a range whose segments come from different releases', async () => {
  const builder = new WalBuilder({ magic: 0xd110 });
  const starts = fill(builder, 2n);
  const files = builder.files();
  const second = files.get('000000010000000000000002') as Buffer;
  for (let page = 0; page < MB; page += PAGE) second.writeUInt16LE(0xd10d, page);
  const report = await verify(builder, starts[0] as bigint, builder.position, files);
  assert.deepEqual(codes(report), ['WAL_PAGE_HEADER']);
  assert.match(report.problems[0]?.message ?? '', /PostgreSQL 14 magic number D10D .* began with PostgreSQL 15 WAL/);
});

test('checks the system identifier and the long header fields', async () => {
  const builder = new WalBuilder({ systemId: 7412345678901234567n });
  const starts = fill(builder, 2n);
  const start = starts[0] as bigint;
  assert.equal((await verify(builder, start, builder.position, undefined, { systemId: '7412345678901234567' })).ok, true);
  let report = await verify(builder, start, builder.position, undefined, { systemId: '7412345678901234568' });
  assert.deepEqual(codes(report), ['WAL_SYSTEM_ID_MISMATCH']);
  assert.match(report.problems[0]?.message ?? '', /different database system/);

  let files = builder.files();
  (files.get('000000010000000000000002') as Buffer).writeBigUInt64LE(1n, 24);
  report = await verify(builder, start, builder.position, files);
  assert.deepEqual(codes(report), ['WAL_SYSTEM_ID_MISMATCH']);
  assert.equal(report.problems[0]?.file, '000000010000000000000002');

  files = builder.files();
  (files.get('000000010000000000000001') as Buffer).writeUInt32LE(2 * MB, 32);
  assert.match((await verify(builder, start, builder.position, files)).problems[0]?.message ?? '', /incorrect segment size/);
  files = builder.files();
  (files.get('000000010000000000000001') as Buffer).writeUInt32LE(16384, 36);
  assert.match((await verify(builder, start, builder.position, files)).problems[0]?.message ?? '', /incorrect XLOG_BLCKSZ/);
  files = builder.files();
  (files.get('000000010000000000000002') as Buffer).writeUInt16LE(0x0000, 2); // first page without long header
  assert.deepEqual(codes(await verify(builder, start, builder.position, files)), ['WAL_PAGE_HEADER']);
  files = builder.files();
  (files.get('000000010000000000000001') as Buffer).writeUInt16LE(0x0012, PAGE + 2); // unknown info bit
  assert.deepEqual(codes(await verify(builder, start, builder.position, files)), ['WAL_PAGE_HEADER']);
});

test('accepts older timelines in page headers but never a newer one or a step back', async () => {
  const builder = new WalBuilder({ tli: 2 });
  const starts = fill(builder, 2n);
  let files = builder.files();
  const first = files.get('000000020000000000000001') as Buffer;
  for (let page = 0; page < 8 * PAGE; page += PAGE) first.writeUInt32LE(1, page + 4); // switch from 1 to 2 here
  assert.deepEqual((await verify(builder, starts[0] as bigint, builder.position, files)).problems, []);

  files = builder.files();
  (files.get('000000020000000000000001') as Buffer).writeUInt32LE(1, 5 * PAGE + 4);
  let report = await verify(builder, starts[0] as bigint, builder.position, files);
  assert.deepEqual(codes(report), ['WAL_PAGE_HEADER']);
  assert.match(report.problems[0]?.message ?? '', /out-of-sequence timeline ID 1 \(after 2\)/);

  files = builder.files();
  (files.get('000000020000000000000001') as Buffer).writeUInt32LE(3, 5 * PAGE + 4);
  report = await verify(builder, starts[0] as bigint, builder.position, files);
  assert.deepEqual(codes(report), ['WAL_TIMELINE_MISMATCH']);
});

test('reports a broken prev-link, a missing contrecord flag and a wrong remaining length', async () => {
  let builder = new WalBuilder();
  const first = builder.append({ mainData: payload(40) });
  builder.append({ mainData: payload(40) });
  const bad = builder.append({ mainData: payload(40), prevLsn: first });
  let report = await verify(builder, first, builder.position);
  assert.deepEqual(codes(report), ['WAL_RECORD_INVALID']);
  assert.equal(report.problems[0]?.lsn, bad);
  assert.match(report.problems[0]?.message ?? '', /incorrect prev-link/);

  builder = new WalBuilder();
  const start = builder.append({ mainData: payload(40) });
  const big = builder.append({ mainData: payload(12000) });
  let files = builder.files();
  const segment = files.get('000000010000000000000001') as Buffer;
  segment.writeUInt16LE(0, PAGE + 2);
  report = await verify(builder, start, builder.position, files);
  assert.deepEqual(codes(report), ['WAL_RECORD_INVALID']);
  assert.equal(report.problems[0]?.lsn, big);
  assert.match(report.problems[0]?.message ?? '', /no contrecord flag/);

  files = builder.files();
  (files.get('000000010000000000000001') as Buffer).writeUInt32LE(9, PAGE + 16);
  report = await verify(builder, start, builder.position, files);
  assert.deepEqual(codes(report), ['WAL_RECORD_INVALID']);
  assert.match(report.problems[0]?.message ?? '', /invalid contrecord length 9/);
});

test('reports a start LSN that does not point at a record', async () => {
  const builder = new WalBuilder();
  const starts = fill(builder, 2n);
  const report = await verify(builder, (starts[5] as bigint) + 8n, builder.position);
  assert.equal(report.ok, false);
  assert.equal(report.recordsChecked, 0);
  const spanned = new WalBuilder();
  spanned.append({ mainData: payload(100) });
  spanned.append({ mainData: payload(20000) });
  const contrecord = await verify(spanned, BigInt(MB + PAGE), spanned.position);
  assert.deepEqual(codes(contrecord), ['WAL_RECORD_INVALID']);
  assert.match(contrecord.problems[0]?.message ?? '', /contrecord is requested/);
});

test('skips a record cut short by a crash when the next page carries the overwrite flag', async () => {
  const builder = new WalBuilder();
  const first = builder.append({ mainData: payload(100) });
  builder.appendAborted({ mainData: payload(20000) });
  const overwrite = builder.append({ rmid: 0, info: 0xd0, mainData: payload(16) });
  builder.append({ mainData: payload(30) });
  const report = await verify(builder, first, builder.position);
  assert.deepEqual(report.problems, []);
  assert.equal(report.recordsChecked, 3);
  assert.equal(overwrite, BigInt(MB + PAGE + 24));
});

test('reports a record whose fragments do not add up, though its CRC is right', async () => {
  const builder = new WalBuilder();
  const first = builder.append({ mainData: payload(40) });
  const bad = builder.append({ rawPayload: Buffer.from([255, 10, 1, 2, 3]) });
  const report = await verify(builder, first, builder.position);
  assert.deepEqual(codes(report), ['WAL_RECORD_INVALID']);
  assert.equal(report.problems[0]?.lsn, bad);
});

test('reports an unknown resource manager and a record length below the header size', async () => {
  let builder = new WalBuilder();
  const first = builder.append({ mainData: payload(40) });
  builder.append({ rmid: 77, mainData: payload(4) });
  assert.match((await verify(builder, first, builder.position)).problems[0]?.message ?? '', /resource manager ID 77/);
  builder = new WalBuilder();
  const start = builder.append({ rmid: 130, mainData: payload(4) }); // custom rmgr range, 15+
  assert.equal((await verify(builder, start, builder.position)).ok, true);
  const files = builder.files();
  (files.get('000000010000000000000001') as Buffer).writeUInt32LE(12, Number(start) % MB);
  assert.deepEqual(codes(await verify(builder, start, builder.position, files)), ['WAL_RECORD_INVALID']);
});

test('works on segment buffers that are views into larger memory', async () => {
  const builder = new WalBuilder();
  const starts = fill(builder, 2n);
  const files = new Map<string, Buffer>();
  for (const [name, bytes] of builder.files()) {
    const backing = Buffer.alloc(bytes.length + 3);
    bytes.copy(backing, 3);
    files.set(name, backing.subarray(3));
  }
  assert.equal((await verify(builder, starts[0] as bigint, builder.position, files)).ok, true);
});

test('refuses impossible parameters and empty ranges', async () => {
  const builder = new WalBuilder();
  const start = builder.append({ mainData: payload(10) });
  await assert.rejects(verify(builder, start, builder.position, undefined, { segmentBytes: 3 * MB }), { code: 'WAL_INVALID' });
  await assert.rejects(verify(builder, start, builder.position, undefined, { tli: 0 }), { code: 'WAL_INVALID' });
  await assert.rejects(verify(builder, start, builder.position, undefined, { systemId: '12x' }), { code: 'WAL_INVALID' });
  const report = await verify(builder, start, start);
  assert.equal(report.ok, false);
  assert.deepEqual(report.segments, []);
});

test('lets source failures other than a missing file propagate', async () => {
  const failing = { readSegment: async (): Promise<Buffer | null> => { throw Object.assign(new Error('EIO'), { code: 'EIO' }); } };
  await assert.rejects(verifyWalRange({ source: failing, segmentBytes: MB, tli: 1, startLsn: BigInt(MB + 40), endLsn: BigInt(MB + 100) }), /EIO/);
});

test('names the segments of a range', () => {
  const size = 16 * MB;
  assert.deepEqual(walSegmentsFor(0x1000028n, 0x3000000n, 1, size), ['000000010000000000000001', '000000010000000000000002']);
  assert.deepEqual(walSegmentsFor(0x1000028n, 0x3000001n, 1, size).length, 3);
  assert.deepEqual(walSegmentsFor(0xff000028n, 0x100000100n, 3, size), ['0000000300000000000000FF', '000000030000000100000000']);
  assert.deepEqual(walSegmentsFor(0x2000100n, 0x2000100n, 1, size), []);
  assert.equal(describeWalRange(1, 0x2000028n, 0x2000100n, size),
    'timeline 1, 0/2000028 to 0/2000100, 1 segment (000000010000000000000002)');
  assert.equal(describeWalRange(2, 0x2000028n, 0x4000100n, size),
    'timeline 2, 0/2000028 to 0/4000100, 3 segments (000000020000000000000002 to 000000020000000000000004)');
});

test('splits a record at every possible point across a page and a segment boundary', async () => {
  for (const boundary of [BigInt(MB + 2 * PAGE), BigInt(2 * MB)]) {
    for (let before = 8; before <= 96; before += 8) {
      for (const size of [0, 1, 7, 60, 300]) {
        const builder = new WalBuilder();
        const first = builder.append({ mainData: payload(10) });
        padTo(builder, boundary - BigInt(before));
        const split = builder.append({ mainData: payload(size, before) });
        assert.equal(split, boundary - BigInt(before));
        builder.append({ mainData: payload(33) });
        const where = `${before} bytes before ${boundary}, payload ${size}`;
        const report = await verify(builder, first, builder.position);
        assert.deepEqual(report.problems, [], where);
        // Damage its first byte after the boundary (or its last byte if it fits): found, and blamed on it.
        const length = BigInt(24 + (size > 0 ? 2 + size : 0));
        const lastByte = length > BigInt(before) ? boundary + (boundary % BigInt(MB) === 0n ? 40n : 24n) : split + length - 1n;
        const files = builder.files();
        const file = files.get(builder.fileName(lastByte / BigInt(MB))) as Buffer;
        flip(file, Number(lastByte) % MB, 0xff);
        const damaged = await verify(builder, first, builder.position, files);
        assert.equal(damaged.problems[0]?.lsn, split, where);
      }
    }
  }
});

test('checks fragment headers that straddle a page boundary', async () => {
  for (let before = 8; before <= 64; before += 8) {
    const builder = new WalBuilder();
    const first = builder.append({ mainData: payload(10) });
    padTo(builder, BigInt(MB + 3 * PAGE - before));
    builder.append({ fullPageImage: true, mainData: payload(12) });
    builder.append({ mainData: payload(5) });
    assert.deepEqual((await verify(builder, first, builder.position)).problems, [], `${before}`);

    const broken = new WalBuilder();
    const start = broken.append({ mainData: payload(10) });
    padTo(broken, BigInt(MB + 3 * PAGE - before));
    const block = [0, 0x20, 1, 0, ...Array<number>(12).fill(1), 7, 0, 0, 0];
    const bad = broken.append({ rawPayload: Buffer.from([...block, ...block, 9, 9, 9, 9, 9, 9]) }); // block 0 twice
    broken.append({ mainData: payload(5) });
    const report = await verify(broken, start, broken.position);
    assert.deepEqual(report.problems.map((p) => [p.code, p.lsn]), [['WAL_RECORD_INVALID', bad]], `${before}`);
    assert.match(report.problems[0]?.message ?? '', /out-of-order block_id 0/);
  }
});

/** Appends filler records so that the next record starts exactly at `target`. */
function padTo(builder: WalBuilder, target: bigint): void {
  const page = BigInt(PAGE);
  for (;;) {
    const at = builder.position;
    const start = at % page === 0n ? at + (at % BigInt(MB) === 0n ? 40n : 24n) : at;
    const pageEnd = (start / page + 1n) * page;
    const bytes = target < pageEnd ? target - start : pageEnd - start;
    if (bytes === 0n) return;
    builder.append({ rawPayload: fillerPayload(Number(bytes)) });
  }
}

/** A payload (long main-data header) that makes the whole record exactly `recordBytes` long. */
function fillerPayload(recordBytes: number): Buffer {
  const main = recordBytes - 24 - 5;
  assert.ok(main >= 0, `cannot pad ${recordBytes} bytes`);
  const out = Buffer.alloc(5 + main, 0x11);
  out.writeUInt8(254, 0);
  out.writeUInt32LE(main, 1);
  return out;
}
