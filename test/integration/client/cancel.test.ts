/**
 * cancel(): a BASE_BACKUP waiting for a spread checkpoint (minutes with checkpoint_completion_target 0.9 and a
 * long checkpoint_timeout) is cancelled within seconds, and once the session ends the server shows no backup.
 * Also: startup parameters reach the server (client_connection_check_interval, PG 14+).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { connect } from '../../../src/client/connection.ts';
import { startCluster } from '../harness.ts';

test('cancel() aborts a BASE_BACKUP stuck in its spread start checkpoint', async () => {
  // Thousands of dirty buffers (INSERT .. SELECT uses no bulk-write ring; the bgwriter is off), written by a
  // checkpoint paced over 27 minutes: without a cancel the backup would wait for minutes.
  const cluster = await startCluster({ major: 15, settings: {
    checkpoint_timeout: '30min', checkpoint_completion_target: 0.9, shared_buffers: '128MB', bgwriter_lru_maxpages: 0,
  } });
  try {
    await cluster.sql("CREATE TABLE filler (g int, pad text); INSERT INTO filler SELECT g, repeat('x', 100) FROM generate_series(1, 300000) g");
    const session = await connect(cluster.connectionParams({ replication: 'true', database: 'replication' }));
    const events = session.baseBackup({
      label: 'to cancel', progress: false, fastCheckpoint: false, wal: false, wait: false, tablespaceMap: false,
      verifyChecksums: true, manifest: 'no',
    });
    const failure = (async () => {
      for await (const _event of events) { /* nothing arrives before the checkpoint ends */ }
    })().then(() => null, (error: unknown) => error as { sqlstate?: string });
    await waitFor(async () => (await cluster.sql('SELECT count(*) FROM pg_stat_progress_basebackup'))[0]?.[0] === '1');
    const startedAt = Date.now();
    await session.cancel();
    assert.equal((await failure)?.sqlstate, '57014'); // query_canceled
    assert.ok(Date.now() - startedAt < 10_000, 'cancelled within seconds');
    // A walsender keeps its progress row after an error until the session ends; ending it clears the row.
    session.destroy();
    await waitFor(async () => (await cluster.sql('SELECT count(*) FROM pg_stat_progress_basebackup'))[0]?.[0] === '0');
  } finally {
    await cluster.stopAndRemove();
  }
});

test('startup parameters are applied to the session', async () => {
  const cluster = await startCluster({ major: 15 });
  try {
    const session = await connect(cluster.connectionParams({ startupParameters: { client_connection_check_interval: '1500' } }));
    assert.deepEqual(await session.query('SHOW client_connection_check_interval'), [['1500ms']]);
    await session.close();
  } finally {
    await cluster.stopAndRemove();
  }
});

async function waitFor(condition: () => Promise<boolean>, timeoutMs = 20_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > until) throw new Error('condition not reached in time');
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
