import { test } from 'node:test';
import assert from 'node:assert/strict';
import { verifyBackup, type VerifyReport } from '../../../src/verify/index.ts';
import { ProblemList } from '../../../src/verify/report.ts';
import { WalIdentity } from '../../../src/verify/wal-identity.ts';
import { WalBuilder } from '../wal/wal-builder.ts';
import { controlFile, plainBackup, SAMPLE_SYSTEM_ID, sampleFiles, tarBackup, type BackupSpec } from './backup-builder.ts';

const OTHER_SYSTEM_ID = 7312345678901234568n;
const SEGMENT_1 = '000000010000000000000001';
const SEGMENT_2 = '000000010000000000000002';

/** A long page header built by hand: magic 0xD110, info XLP_LONG_HEADER, tli, pageaddr, sysid, 16 MiB, 8192. */
function longHeader(systemId: bigint, tli: number, info = 0x0002): Buffer {
  const page = Buffer.alloc(40);
  page.writeUInt16LE(0xd110, 0);
  page.writeUInt16LE(info, 2);
  page.writeUInt32LE(tli, 4);
  page.writeBigUInt64LE(0x1000000n, 8);
  page.writeBigUInt64LE(systemId, 24);
  page.writeUInt32LE(16 << 20, 32);
  page.writeUInt32LE(8192, 36);
  return page;
}

function label(segment: string, tli: number | null, from = 'primary'): string {
  return `START WAL LOCATION: 0/1000028 (file ${segment})\nCHECKPOINT LOCATION: 0/1000060\nBACKUP METHOD: streamed\n` +
    `BACKUP FROM: ${from}\n${tli === null ? '' : `START TIMELINE: ${tli}\n`}`;
}

function judge(setup: (identity: WalIdentity) => void, already: ProblemList = new ProblemList(false)): string[] {
  const identity = new WalIdentity();
  setup(identity);
  identity.check(already);
  return already.items.map((problem) => `${problem.code} ${problem.path ?? ''}`);
}

function codes(report: VerifyReport): string[] {
  return report.problems.map((problem) => `${problem.code} ${problem.path ?? ''}`);
}

test('every segment\'s long header against pg_control\'s system identifier', () => {
  const control = controlFile(SAMPLE_SYSTEM_ID);
  assert.deepEqual(judge((identity) => {
    identity.control(control);
    identity.segment(SEGMENT_1, longHeader(SAMPLE_SYSTEM_ID, 1));
  }), []);
  const identity = new WalIdentity();
  identity.control(control);
  identity.segment(SEGMENT_2, longHeader(OTHER_SYSTEM_ID, 1));
  identity.segment(SEGMENT_1, longHeader(OTHER_SYSTEM_ID, 1));
  const problems = new ProblemList(false);
  identity.check(problems);
  assert.deepEqual(problems.items.map((problem) => problem.path), [`pg_wal/${SEGMENT_1}`, `pg_wal/${SEGMENT_2}`], 'in name order');
  assert.equal(problems.items[0]?.code, 'WAL_SYSTEM_ID_MISMATCH');
  assert.equal(problems.items[0]?.expected, SAMPLE_SYSTEM_ID.toString());
  assert.equal(problems.items[0]?.actual, OTHER_SYSTEM_ID.toString());
  assert.equal(identity.systemId, SAMPLE_SYSTEM_ID.toString());
});

test('nothing to compare: no pg_control, a short one, a segment without a long header or too short', () => {
  assert.deepEqual(judge((identity) => identity.segment(SEGMENT_1, longHeader(OTHER_SYSTEM_ID, 1))), []);
  assert.deepEqual(judge((identity) => {
    identity.control(Buffer.alloc(4));
    identity.segment(SEGMENT_1, longHeader(OTHER_SYSTEM_ID, 1));
  }), []);
  assert.equal(new WalIdentity().systemId, null);
  assert.deepEqual(judge((identity) => {
    identity.control(controlFile(SAMPLE_SYSTEM_ID));
    identity.segment(SEGMENT_1, longHeader(OTHER_SYSTEM_ID, 1, 0x0000));
    identity.segment(SEGMENT_2, longHeader(OTHER_SYSTEM_ID, 1).subarray(0, 39));
  }), []);
});

test('a finding the WAL walk already reported for that segment is not repeated', () => {
  const already = new ProblemList(false);
  already.add({ code: 'WAL_SYSTEM_ID_MISMATCH', path: `pg_wal/${SEGMENT_1}`, message: 'from the walk' });
  already.add({ code: 'WAL_CRC_MISMATCH', path: `pg_wal/${SEGMENT_2}`, message: 'another finding' });
  assert.deepEqual(judge((identity) => {
    identity.control(controlFile(SAMPLE_SYSTEM_ID));
    identity.segment(SEGMENT_1, longHeader(OTHER_SYSTEM_ID, 1));
    identity.segment(SEGMENT_2, longHeader(OTHER_SYSTEM_ID, 1));
  }, already), [`WAL_SYSTEM_ID_MISMATCH pg_wal/${SEGMENT_1}`, `WAL_CRC_MISMATCH pg_wal/${SEGMENT_2}`, `WAL_SYSTEM_ID_MISMATCH pg_wal/${SEGMENT_2}`]);
});

test('the start segment\'s timeline against START TIMELINE: exact from a primary, older allowed from a standby', () => {
  const start = '000000020000000000000001';
  const run = (text: string, headerTli: number): string[] => judge((identity) => {
    identity.label(text);
    identity.segment(start, longHeader(SAMPLE_SYSTEM_ID, headerTli));
  });
  assert.deepEqual(run(label(start, 2), 2), []);
  assert.deepEqual(run(label(start, 2), 1), [`WAL_TIMELINE_MISMATCH pg_wal/${start}`]);
  assert.deepEqual(run(label(start, 2), 3), [`WAL_TIMELINE_MISMATCH pg_wal/${start}`]);
  assert.deepEqual(run(label(start, 2), 0), [`WAL_TIMELINE_MISMATCH pg_wal/${start}`]);
  assert.deepEqual(run(label(start, 2, 'standby'), 1), []);
  assert.deepEqual(run(label(start, 2, 'standby'), 0), [`WAL_TIMELINE_MISMATCH pg_wal/${start}`]);
  assert.deepEqual(run(label(start, 2, 'standby'), 3), [`WAL_TIMELINE_MISMATCH pg_wal/${start}`]);
  assert.deepEqual(run(label(start, null), 2), [], 'a label without START TIMELINE: the file name\'s timeline');
  assert.deepEqual(run(label(start, 3), 2), ['WAL_TIMELINE_MISMATCH backup_label'], 'the server refuses such a label');
  assert.deepEqual(judge((identity) => identity.label(label(start, 2))), [], 'start segment missing: the walk reports it');
  assert.deepEqual(run('not a label', 5), []);
});

/** Records in segment 1 only (one segment, as a small backup's WAL often is), or across segments 1 and 2. */
function wal(segments: 1 | 2, options: { tli?: number } = {}): Required<Pick<BackupSpec, 'wal' | 'walRanges'>> {
  const builder = new WalBuilder({ systemId: SAMPLE_SYSTEM_ID, ...options });
  const start = builder.append({ mainData: Buffer.alloc(100, 1) });
  const end = segments === 1 ? 200_000n + start : 2n * BigInt(builder.segmentBytes) + 5000n;
  while (builder.position < end) builder.append({ mainData: Buffer.alloc(3000, 2) });
  return { wal: builder.files(), walRanges: [{ tli: builder.tli, startLsn: start, endLsn: builder.position }] };
}

function withForeignSegment(spec: Required<Pick<BackupSpec, 'wal'>>, name: string): Map<string, Buffer> {
  const files = new Map(spec.wal);
  const bytes = Buffer.from(files.get(name) as Buffer);
  bytes.writeBigUInt64LE(OTHER_SYSTEM_ID, 24); // xlp_sysid; page headers carry no CRC
  files.set(name, bytes);
  return files;
}

test('a version 1 manifest: a first segment from another system fails, plain and tar, one segment or two', async () => {
  for (const segments of [1, 2] as const) {
    const good = { files: sampleFiles(), ...wal(segments) };
    assert.deepEqual(codes(await verifyBackup(await plainBackup(good))), [], `${segments}: the undamaged backup verifies`);
    const spec = { ...good, wal: withForeignSegment(good, SEGMENT_1) };
    const expected = [`WAL_SYSTEM_ID_MISMATCH pg_wal/${SEGMENT_1}`];
    assert.deepEqual(codes(await verifyBackup(await plainBackup(spec))), expected, `plain, ${segments} segment(s)`);
    for (const walIn of ['pg_wal.tar', 'base.tar'] as const) {
      assert.deepEqual(codes(await verifyBackup(await tarBackup(spec, { walIn }))), expected, `tar ${walIn}, ${segments} segment(s)`);
    }
    // pg_control after the WAL: the walk starts without it and may also blame segment 2 for differing from 1.
    const late = codes(await verifyBackup(await tarBackup(spec, { walIn: 'base.tar', walFirst: true })));
    assert.ok(late.includes(expected[0] as string), `pg_control after the WAL, ${segments} segment(s): ${late.join()}`);
  }
});

test('segments outside the WAL range and segments the walk never reached are checked too', async () => {
  const good = { files: sampleFiles(), ...wal(1) };
  const extra = new Map(good.wal);
  const beyond = Buffer.from(good.wal.get(SEGMENT_1) as Buffer);
  beyond.writeBigUInt64LE(0x2000000n, 8);
  beyond.writeBigUInt64LE(OTHER_SYSTEM_ID, 24);
  extra.set(SEGMENT_2, beyond);
  const spec = { ...good, wal: extra };
  assert.deepEqual(codes(await verifyBackup(await plainBackup(spec))), [`WAL_SYSTEM_ID_MISMATCH pg_wal/${SEGMENT_2}`]);
  assert.deepEqual(codes(await verifyBackup(await tarBackup(spec))), [`WAL_SYSTEM_ID_MISMATCH pg_wal/${SEGMENT_2}`]);

  const two = { files: sampleFiles(), ...wal(2) };
  const damaged = withForeignSegment(two, SEGMENT_2);
  const first = damaged.get(SEGMENT_1) as Buffer;
  first[9000] = (first[9000] as number) ^ 0xff; // the walk stops in segment 1
  const report = await verifyBackup(await plainBackup({ ...two, wal: damaged }));
  assert.ok(codes(report).includes(`WAL_SYSTEM_ID_MISMATCH pg_wal/${SEGMENT_2}`), codes(report).join());
});

test('the start segment on another timeline than backup_label says', async () => {
  const files = sampleFiles();
  const onTimeline2 = wal(1, { tli: 2 });
  const start = '000000020000000000000001';
  files.set('backup_label', Buffer.from(label(start, 2)));
  const good = { files, ...onTimeline2 };
  assert.deepEqual(codes(await verifyBackup(await plainBackup(good))), []);
  const segment = Buffer.from(onTimeline2.wal.get(start) as Buffer);
  segment.writeUInt32LE(1, 4); // xlp_tli of the first page: 1, older than the backup's timeline
  const spec = { ...good, wal: new Map([[start, segment]]) };
  assert.deepEqual(codes(await verifyBackup(await plainBackup(spec))), [`WAL_TIMELINE_MISMATCH pg_wal/${start}`]);
  assert.deepEqual(codes(await verifyBackup(await tarBackup(spec, { walIn: 'base.tar' }))), [`WAL_TIMELINE_MISMATCH pg_wal/${start}`]);
  files.set('backup_label', Buffer.from(label(start, 2, 'standby')));
  assert.deepEqual(codes(await verifyBackup(await plainBackup({ ...spec, files }))), [], 'from a standby the start segment may begin on an older timeline');
});

test('-n skips the WAL identity with the rest of the WAL stage', async () => {
  const good = { files: sampleFiles(), ...wal(1) };
  const root = await plainBackup({ ...good, wal: withForeignSegment(good, SEGMENT_1) });
  assert.deepEqual(codes(await verifyBackup(root, { skipWal: true })), []);
});
