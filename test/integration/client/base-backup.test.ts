/**
 * The replication client against real servers: connect, IDENTIFY_SYSTEM, SHOW, and a BASE_BACKUP whose event
 * sequence must be the same normalised shape for the 15+ wire form (15, 18) and the old one (14), with a
 * tablespace so that more than one archive travels. Plus a page checksum failure ending in CHECKSUM_FAILURE.
 */
import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { connect } from '../../../src/client/connection.ts';
import type { BaseBackupEvent, BaseBackupOptions, ReplicationSession } from '../../../src/client/types.ts';
import { majorMatrix, psql, startCluster, tmpDir, type TestCluster } from '../harness.ts';

const OPTIONS: BaseBackupOptions = {
  label: "client 'test'", progress: true, fastCheckpoint: true, wal: true, wait: false, tablespaceMap: true,
  verifyChecksums: true, manifest: 'yes', manifestChecksums: 'SHA256',
};

interface Archive { name: string; location: string; bytes: Buffer[] }

async function collect(session: ReplicationSession, options: BaseBackupOptions) {
  const types: string[] = [];
  const archives: Archive[] = [];
  const manifest: Buffer[] = [];
  const progress: bigint[] = [];
  let target: Buffer[] | null = null;
  let start: Extract<BaseBackupEvent, { type: 'start' }> | null = null;
  let end: Extract<BaseBackupEvent, { type: 'end' }> | null = null;
  let tablespaces: Extract<BaseBackupEvent, { type: 'tablespaces' }> | null = null;
  for await (const event of session.baseBackup(options)) {
    if (event.type !== 'progress' && types.at(-1) !== event.type) types.push(event.type); // runs of data collapsed
    if (event.type === 'start') start = event;
    else if (event.type === 'tablespaces') tablespaces = event;
    else if (event.type === 'archive') {
      archives.push({ name: event.name, location: event.location, bytes: [] });
      target = (archives.at(-1) as Archive).bytes;
    } else if (event.type === 'manifest') target = manifest;
    else if (event.type === 'data') target?.push(event.chunk);
    else if (event.type === 'progress') progress.push(event.bytesDone);
    else end = event;
  }
  return { types, archives, manifest: Buffer.concat(manifest), progress, start, end, tablespaces };
}

for (const { major, skip } of majorMatrix()) {
  test(`PostgreSQL ${major}: IDENTIFY_SYSTEM, SHOW and BASE_BACKUP events (${major >= 15 ? 'new' : 'old'} wire form)`, { skip }, async () => {
    const cluster = await startCluster({ major });
    const tablespaceDir = await tmpDir('tblspc');
    try {
      await psql(cluster, `CREATE TABLESPACE ts1 LOCATION '${tablespaceDir}'`);
      await psql(cluster, 'CREATE TABLE t (id int) TABLESPACE ts1; INSERT INTO t SELECT generate_series(1, 1000)');
      const [[oid] = []] = await psql(cluster, "SELECT oid FROM pg_tablespace WHERE spcname = 'ts1'");
      const session = await connect(cluster.connectionParams({ replication: 'true', database: 'replication' }));
      try {
        assert.equal(Math.floor(session.serverVersionNum / 10000), major);
        const system = await session.identifySystem();
        assert.match(system.systemId, /^\d+$/);
        assert.equal(system.timeline, 1);
        assert.ok(system.xlogPos > 0n);
        assert.equal(system.dbName, null);
        assert.equal(await session.show('wal_segment_size'), '16MB');
        assert.equal(await session.show('data_directory_mode'), '0700');

        const backup = await collect(session, OPTIONS);
        assert.deepEqual(backup.types,
          ['start', 'tablespaces', 'archive', 'data', 'archive', 'data', 'manifest', 'data', 'end']);
        assert.deepEqual(backup.tablespaces?.tablespaces.map((row) => [row.oid, row.location, typeof row.sizeKb]),
          [[Number(oid), tablespaceDir, 'bigint'], [null, null, 'bigint']]);
        assert.deepEqual(backup.archives.map((archive) => [archive.name, archive.location]), [[`${oid}.tar`, tablespaceDir], ['base.tar', '']]);
        for (const archive of backup.archives) {
          const tar = Buffer.concat(archive.bytes);
          assert.equal(tar.length % 512, 0, `${archive.name} is whole blocks`);
          assert.ok(tar.subarray(-1024).equals(Buffer.alloc(1024)), `${archive.name} ends with two zero blocks`);
        }
        const baseTar = Buffer.concat((backup.archives[1] as Archive).bytes);
        assert.equal(baseTar.subarray(0, 12).toString(), 'backup_label', 'backup_label comes first');
        assert.match(baseTar.toString('latin1'), /LABEL: client 'test'/);
        const manifest = JSON.parse(backup.manifest.toString()) as Record<string, unknown>;
        assert.ok(Array.isArray(manifest['Files']));
        assert.ok(backup.progress.length >= 2);
        assert.deepEqual([...backup.progress].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0)), backup.progress, 'cumulative');
        assert.ok(backup.start !== null && backup.end !== null);
        assert.ok(backup.start.startLsn < backup.end.endLsn);
        assert.equal(backup.end.endTli, 1);
        // the session goes on after the backup
        assert.equal((await session.identifySystem()).systemId, system.systemId);
      } finally {
        await session.close();
      }
    } finally {
      await cluster.stopAndRemove();
    }
  });
}

async function corruptTablePage(cluster: TestCluster): Promise<void> {
  await psql(cluster, "CREATE TABLE victim (filler text); INSERT INTO victim SELECT repeat('x', 100) FROM generate_series(1, 200); CHECKPOINT");
  const [[path] = []] = await psql(cluster, "SELECT pg_relation_filepath('victim')");
  const file = join(cluster.dataDir, path ?? '');
  await psql(cluster, 'CHECKPOINT');
  const bytes = await readFile(file);
  bytes.fill(0x55, 4000, 4016); // inside the first page's tuples: the page checksum no longer matches
  await writeFile(file, bytes);
}

const pg15 = majorMatrix().find((entry) => entry.major === 15);
test('a page checksum failure: every event arrives, then CHECKSUM_FAILURE, with WARNING notices', { skip: pg15?.skip ?? 'no 15' }, async () => {
  const cluster = await startCluster({ major: 15, checksums: true });
  try {
    await corruptTablePage(cluster);
    const session = await connect(cluster.connectionParams({ replication: 'true', database: 'replication' }));
    const notices: string[] = [];
    session.onNotice((notice) => notices.push(`${notice.severity}: ${notice.message}`));
    const types: string[] = [];
    try {
      await assert.rejects(async () => {
        for await (const event of session.baseBackup({ ...OPTIONS, wal: false, progress: false })) types.push(event.type);
      }, { code: 'CHECKSUM_FAILURE' });
      assert.equal(types.at(-1), 'end');
      assert.ok(notices.some((notice) => /^WARNING: checksum verification failed/.test(notice)), notices.join('\n'));
      assert.equal(await session.show('wal_segment_size'), '16MB', 'the session survives the failure');
    } finally {
      await session.close();
    }
  } finally {
    await cluster.stopAndRemove();
  }
});
