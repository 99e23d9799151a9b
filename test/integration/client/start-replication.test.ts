/**
 * START_REPLICATION against real servers: a temporary RESERVE_WAL slot, WAL arriving as contiguous XLogData
 * while another session writes, flush reports advancing the slot, and stop() ending the stream cleanly so
 * the session can go on. Also slot creation and drop in both CREATE_REPLICATION_SLOT syntaxes.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { connect } from '../../../src/client/connection.ts';
import { parseLsn, segmentStart } from '../../../src/util/lsn.ts';
import { majorMatrix, psql, startCluster } from '../harness.ts';

const SEGMENT_BYTES = 16 * 1024 * 1024;

for (const { major, skip } of majorMatrix()) {
  test(`PostgreSQL ${major}: START_REPLICATION streams WAL, reports flush to the slot, stops cleanly`, { skip }, async () => {
    const cluster = await startCluster({ major });
    try {
      const session = await connect(cluster.connectionParams({ replication: 'true', database: 'replication' }));
      try {
        const slot = `pgconvoy_${session.backendPid}`;
        await session.createPhysicalSlot(slot, { temporary: true, reserveWal: true });
        const system = await session.identifySystem();
        const startLsn = segmentStart(system.xlogPos, SEGMENT_BYTES);
        const stream = session.startReplication({ slot, startLsn, timeline: system.timeline, statusIntervalMs: 100 });
        const writer = psql(cluster, "CREATE TABLE w AS SELECT g, repeat('x', 200) AS pad FROM generate_series(1, 20000) g");
        await writer;
        const [[targetText] = []] = await psql(cluster, 'SELECT pg_current_wal_flush_lsn()');
        const target = parseLsn(targetText ?? '');
        let expected = startLsn;
        let received = 0;
        for await (const event of stream) {
          assert.equal(event.type, 'xlogdata');
          if (event.type !== 'xlogdata') break;
          assert.equal(event.dataStart, expected, 'contiguous');
          expected += BigInt(event.data.length);
          received += event.data.length;
          stream.reportPosition(expected, expected);
          if (expected >= target) {
            await sleep(300); // at least two status intervals carry the flush position
            await stream.stop();
          }
        }
        assert.ok(expected >= target, 'received up to the target');
        assert.ok(received > 4 * 1024 * 1024, `${received} bytes of WAL`);
        const [[restart] = []] = await psql(cluster, `SELECT restart_lsn FROM pg_replication_slots WHERE slot_name = '${slot}'`);
        assert.ok(parseLsn(restart ?? '') >= target, `slot restart_lsn ${restart} advanced by flush reports`);
        assert.equal((await session.identifySystem()).systemId, system.systemId, 'session usable after stop()');

        const persistent = `keep_${session.backendPid}`;
        await session.createPhysicalSlot(persistent, { temporary: false, reserveWal: false });
        assert.deepEqual(await psql(cluster, `SELECT slot_type, temporary FROM pg_replication_slots WHERE slot_name = '${persistent}'`), [['physical', 'f']]);
        await session.dropSlot(persistent);
        assert.deepEqual(await psql(cluster, `SELECT 1 FROM pg_replication_slots WHERE slot_name = '${persistent}'`), []);
        await assert.rejects(session.dropSlot(persistent), { code: 'SERVER_ERROR' });
        assert.equal((await session.identifySystem()).timeline, 1, 'a failed command leaves the session usable');
      } finally {
        await session.close();
      }
    } finally {
      await cluster.stopAndRemove();
    }
  });
}
