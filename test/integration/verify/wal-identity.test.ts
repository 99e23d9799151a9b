/**
 * The WAL's identity in real PostgreSQL 15 backups (version 1 manifests, which carry no system identifier): the
 * first WAL segment with another system identifier in its long header, and the start segment on another
 * timeline than backup_label's START TIMELINE. Page headers carry no CRC, so these are one-field edits that every
 * manifest checksum misses. For each: verify fails naming the segment (plain, and tar with the WAL in base.tar),
 * restore refuses the backup, pg_verifybackup 15 passes it, and the real postgres 15 refuses to start it.
 *
 * The cluster runs on timeline 2 (pg_resetwal -l) with no history file, as after a promotion whose history
 * was lost: a start segment page claiming timeline 1 is then fatal for recovery, and only pg_control and
 * backup_label can tell. pg_basebackup -X stream needs that history file, so both backups use -X fetch.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { cp, open, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ConvoyError } from '../../../src/errors/index.ts';
import { loadManifest } from '../../../src/manifest/reader.ts';
import { serverRunAs } from '../../../src/cluster/os-user.ts';
import { parseBackupLabel, restoreBackup } from '../../../src/restore/index.ts';
import { verifyBackup, type VerifyReport } from '../../../src/verify/index.ts';
import { requireTool } from '../harness/psql.ts';
import { majorMatrix, psql, restoreAndStart, startCluster, tmpDir, type TestCluster } from '../harness.ts';
import { basebackup, memberData, pgVerifybackup } from './tools.ts';

const skip = majorMatrix().find((entry) => entry.major === 15)?.skip ?? 'PostgreSQL 15 is not installed';
/** Bytes 24..31 of XLogLongPageHeaderData: xlp_sysid. Bytes 4..7 of every page header: xlp_tli. */
const SYSID_OFFSET = 24;
const TLI_OFFSET = 4;

let cluster: TestCluster;
let work: string;
let plain: string;
let tar: string;
/** The start segment each backup's backup_label names. */
const startSegment = new Map<string, string>();

before(async () => {
  if (skip !== false) return;
  cluster = await startCluster({ major: 15 });
  await cluster.stop();
  const runAs = serverRunAs();
  const reset = spawnSync(requireTool(cluster, 'pg_resetwal'), ['-l', '000000020000000000000010', cluster.dataDir], {
    encoding: 'utf8', ...(runAs === null ? {} : { uid: runAs.uid, gid: runAs.gid }),
  });
  assert.equal(reset.status, 0, reset.stderr);
  await cluster.start();
  await psql(cluster, 'create table t as select g from generate_series(1, 1000) g');
  work = await tmpDir('wal-identity');
  plain = await basebackup(cluster, join(work, 'plain'), ['-X', 'fetch']);
  tar = await basebackup(cluster, join(work, 'tar'), ['-X', 'fetch', '-F', 't']);
  for (const dir of [plain, tar]) {
    assert.equal(loadManifest(await readFile(join(dir, 'backup_manifest'))).version, 1, 'PostgreSQL 15 writes version 1 manifests');
  }
  const label = parseBackupLabel(await readFile(join(plain, 'backup_label'), 'utf8'));
  assert.equal(label?.declaredStartTli, 2);
  startSegment.set(plain, label?.startSegment as string);
  // base.tar's backup_label is the archive's first member.
  const tarLabel = memberData(join(tar, 'base.tar'), 'backup_label');
  const head = Buffer.alloc(tarLabel.size);
  const handle = await open(join(tar, 'base.tar'), 'r');
  await handle.read(head, 0, tarLabel.size, tarLabel.offset);
  await handle.close();
  startSegment.set(tar, parseBackupLabel(head.toString('utf8'))?.startSegment as string);
});

after(async () => {
  if (skip === false) await cluster.stopAndRemove();
});

function codes(report: VerifyReport): string[] {
  return report.problems.map((problem) => `${problem.code} ${problem.path ?? ''}`);
}

/** Where the start segment's first byte is: a file in pg_wal/, or pg_wal/<segment> inside base.tar. */
function startSegmentAt(dir: string): { path: string; offset: number; name: string } {
  const name = startSegment.get(dir) as string;
  if (dir === plain) return { path: join(dir, 'pg_wal', name), offset: 0, name };
  return { path: join(dir, 'base.tar'), offset: memberData(join(dir, 'base.tar'), `pg_wal/${name}`).offset, name };
}

/** Overwrites 4 or 8 bytes at `offset` of the start segment's first page; returns the undo. */
async function rewrite(dir: string, offset: number, value: Buffer): Promise<() => Promise<void>> {
  const at = startSegmentAt(dir);
  const handle = await open(at.path, 'r+');
  const saved = Buffer.alloc(value.length);
  await handle.read(saved, 0, saved.length, at.offset + offset);
  await handle.write(value, 0, value.length, at.offset + offset);
  await handle.close();
  return async () => {
    const undo = await open(at.path, 'r+');
    await undo.write(saved, 0, saved.length, at.offset + offset);
    await undo.close();
  };
}

async function otherSystemId(dir: string): Promise<Buffer> {
  const at = startSegmentAt(dir);
  const handle = await open(at.path, 'r');
  const sysid = Buffer.alloc(8);
  await handle.read(sysid, 0, 8, at.offset + SYSID_OFFSET);
  await handle.close();
  sysid.writeBigUInt64LE(sysid.readBigUInt64LE(0) ^ 1n);
  return sysid;
}

function u32(value: number): Buffer {
  const bytes = Buffer.alloc(4);
  bytes.writeUInt32LE(value);
  return bytes;
}

/** PostgreSQL's own verdict: the restored copy must not start, for the reason given. */
async function assertServerRefuses(dir: string, why: RegExp): Promise<void> {
  const copy = join(await tmpDir('wal-identity-start'), 'data');
  await cp(dir, copy, { recursive: true });
  await assert.rejects(restoreAndStart(copy, cluster.install, { timeoutMs: 60_000 }), (error: unknown) => {
    assert.ok(error instanceof ConvoyError && error.code === 'CLUSTER_FAILED', String(error));
    assert.match(String(error.details['logTail']), why);
    return true;
  });
}

test('the undamaged backups verify, here and with pg_verifybackup', { skip }, async () => {
  for (const dir of [plain, tar]) assert.deepEqual(codes(await verifyBackup(dir)), [], dir);
  assert.equal((await pgVerifybackup(cluster, plain)).status, 0);
});

test('the first WAL segment from another system: named by verify, refused by restore, fatal for PostgreSQL', { skip }, async () => {
  for (const dir of [plain, tar]) {
    const name = startSegmentAt(dir).name;
    const undo = await rewrite(dir, SYSID_OFFSET, await otherSystemId(dir));
    try {
      assert.deepEqual(codes(await verifyBackup(dir)), [`WAL_SYSTEM_ID_MISMATCH pg_wal/${name}`], dir);
      const target = join(work, 'restored');
      await assert.rejects(restoreBackup(dir, { targetDir: target, sync: false }), { code: 'BACKUP_INCOMPLETE' });
      assert.equal(existsSync(target), false);
      if (dir === plain) {
        assert.equal((await pgVerifybackup(cluster, dir)).status, 0, 'pg_verifybackup 15 does not compare WAL system identifiers');
        await assertServerRefuses(dir, /WAL file is from different database system/);
      }
    } finally {
      await undo();
    }
  }
});

test('the start segment on another timeline than START TIMELINE: named by verify, fatal for PostgreSQL', { skip }, async () => {
  for (const dir of [plain, tar]) {
    const name = startSegmentAt(dir).name;
    for (const tli of [1, 3]) {
      const undo = await rewrite(dir, TLI_OFFSET, u32(tli));
      try {
        assert.deepEqual(codes(await verifyBackup(dir)), [`WAL_TIMELINE_MISMATCH pg_wal/${name}`], `${dir} timeline ${tli}`);
        if (dir === plain && tli === 1) {
          assert.equal((await pgVerifybackup(cluster, dir)).status, 0, 'pg_verifybackup 15 accepts older timelines in page headers');
          await assertServerRefuses(dir, /unexpected timeline ID 1 in log segment/);
        }
      } finally {
        await undo();
      }
    }
  }
  for (const dir of [plain, tar]) assert.deepEqual(codes(await verifyBackup(dir)), [], `${dir} restored`);
});
