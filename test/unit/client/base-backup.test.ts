import assert from 'node:assert/strict';
import { test } from 'node:test';
import { connect } from '../../../src/client/connection.ts';
import type { BaseBackupEvent, BaseBackupOptions, ReplicationSession } from '../../../src/client/types.ts';
import {
  commandComplete, copyData, copyDone, copyOutResponse, errorResponse, readyForQuery, resultSet, u64,
} from '../protocol/wire-builder.ts';
import { scriptedServer, type PeerConnection } from './scripted-server.ts';

const OPTIONS: BaseBackupOptions = {
  label: 'unit', progress: true, fastCheckpoint: true, wal: false, wait: false, tablespaceMap: true,
  verifyChecksums: true, manifest: 'yes',
};

const startRows = (lsn: string): Buffer => resultSet(['recptr', ['tli', 20]], [[lsn, '1']], 'SELECT');
const tablespaces = (rows: Array<Array<string | null>>): Buffer => resultSet([['spcoid', 26], 'spclocation', ['size', 20]], rows, 'SELECT');
const sub = (type: string, ...parts: Buffer[]): Buffer => copyData(Buffer.concat([Buffer.from(type), ...parts]));

/** Plain objects for comparison: chunks as text. */
function summarise(events: BaseBackupEvent[]): unknown[] {
  return events.map((event) => (event.type === 'data' ? { type: 'data', text: event.chunk.toString('latin1') } : event));
}

async function runBackup(
  serverVersion: string, script: (peer: PeerConnection) => Promise<void>,
): Promise<{ events: BaseBackupEvent[]; error: unknown; session: ReplicationSession; query: string; close(): Promise<void> }> {
  let query = '';
  const server = await scriptedServer(async (peer) => {
    await peer.acceptStartup(serverVersion);
    query = (await peer.readMessage()).body.toString();
    await script(peer);
  });
  const session = await connect(server.params);
  const events: BaseBackupEvent[] = [];
  let error: unknown = null;
  try {
    for await (const event of session.baseBackup(OPTIONS)) events.push(event);
  } catch (caught) {
    error = caught;
  }
  return { events, error, session, query, close: () => server.close() };
}

test('15+ form: n/d/p/m sub-messages become events', async () => {
  const { events, error, query, close } = await runBackup('15.18', async (peer) => {
    peer.write(Buffer.concat([
      startRows('0/2000028'), tablespaces([['16384', '/srv/ts1', '66'], [null, null, '23367']]),
      copyOutResponse(),
      sub('n', Buffer.from('16384.tar\0/srv/ts1\0')), sub('d', Buffer.from('ts-bytes')), sub('p', u64(68608n)),
      sub('n', Buffer.from('base.tar\0\0')), sub('d', Buffer.from('base-1')), sub('d'), sub('d', Buffer.from('base-2')), sub('p', u64(45408768n)),
      sub('m'), sub('d', Buffer.from('{"PostgreSQL-Backup-Manifest-Version": 1}')),
      copyDone(), startRows('0/2000100'), commandComplete('BASE_BACKUP'), readyForQuery(),
    ]));
  });
  assert.equal(error, null);
  assert.match(query, /^BASE_BACKUP \(LABEL 'unit', PROGRESS, CHECKPOINT 'fast', WAIT 0, TABLESPACE_MAP, MANIFEST 'yes', TARGET 'client'\)\0$/);
  assert.deepEqual(summarise(events), [
    { type: 'start', startLsn: 0x2000028n, startTli: 1 },
    { type: 'tablespaces', tablespaces: [{ oid: 16384, location: '/srv/ts1', sizeKb: 66n }, { oid: null, location: null, sizeKb: 23367n }] },
    { type: 'archive', name: '16384.tar', location: '/srv/ts1' },
    { type: 'data', text: 'ts-bytes' },
    { type: 'progress', bytesDone: 68608n },
    { type: 'archive', name: 'base.tar', location: '' },
    { type: 'data', text: 'base-1' },
    { type: 'data', text: 'base-2' },
    { type: 'progress', bytesDone: 45408768n },
    { type: 'manifest' },
    { type: 'data', text: '{"PostgreSQL-Backup-Manifest-Version": 1}' },
    { type: 'end', endLsn: 0x2000100n, endTli: 1 },
  ]);
  await close();
});

test('< 15 form: archives named from the tablespace rows, tars terminated, manifest COPY last', async () => {
  const { events, error, query, close } = await runBackup('14.23', async (peer) => {
    peer.write(Buffer.concat([
      startRows('0/2000028'), tablespaces([['16384', '/srv/ts1', null], [null, null, null]]),
      copyOutResponse(), copyData(Buffer.from('ts-bytes')), copyDone(),
      copyOutResponse(), copyData(Buffer.from('base')), copyDone(),
      copyOutResponse(), copyData(Buffer.from('{}')), copyDone(),
      startRows('0/2000100'), commandComplete('BASE_BACKUP'), readyForQuery(),
    ]));
  });
  assert.equal(error, null);
  assert.equal(query, "BASE_BACKUP LABEL 'unit' PROGRESS FAST NOWAIT TABLESPACE_MAP MANIFEST 'yes'\0");
  const zeros = '\0'.repeat(1024);
  assert.deepEqual(summarise(events).filter((event) => (event as { type: string }).type !== 'progress'), [
    { type: 'start', startLsn: 0x2000028n, startTli: 1 },
    { type: 'tablespaces', tablespaces: [{ oid: 16384, location: '/srv/ts1', sizeKb: null }, { oid: null, location: null, sizeKb: null }] },
    { type: 'archive', name: '16384.tar', location: '/srv/ts1' },
    { type: 'data', text: 'ts-bytes' },
    { type: 'data', text: zeros },
    { type: 'archive', name: 'base.tar', location: '' },
    { type: 'data', text: 'base' },
    { type: 'data', text: zeros },
    { type: 'manifest' },
    { type: 'data', text: '{}' },
    { type: 'end', endLsn: 0x2000100n, endTli: 1 },
  ]);
  const progress = events.filter((event) => event.type === 'progress').map((event) => event.type === 'progress' && event.bytesDone);
  assert.equal(progress.at(-1), BigInt(8 + 1024 + 4 + 1024), 'cumulative, terminators included');
  await close();
});

test('XX001 after the end position: all events, then CHECKSUM_FAILURE; the session stays usable', async () => {
  const { events, error, session, close } = await runBackup('15.18', async (peer) => {
    peer.write(Buffer.concat([
      startRows('0/2000028'), tablespaces([[null, null, null]]), copyOutResponse(), sub('n', Buffer.from('base.tar\0\0')),
      sub('d', Buffer.from('x')), copyDone(), startRows('0/2000100'),
      errorResponse({ S: 'ERROR', V: 'ERROR', C: 'XX001', M: 'checksum verification failure during base backup' }), readyForQuery(),
    ]));
    await peer.readMessage();
    peer.write(Buffer.concat([resultSet(['wal_segment_size'], [['16MB']], 'SHOW'), readyForQuery()]));
  });
  assert.equal(events.at(-1)?.type, 'end');
  assert.equal((error as { code: string }).code, 'CHECKSUM_FAILURE');
  assert.equal(await session.show('wal_segment_size'), '16MB');
  session.destroy();
  await close();
});

test('an error before the tablespace list is "could not initiate base backup"', async () => {
  const { events, error, close } = await runBackup('15.18', async (peer) => {
    peer.write(Buffer.concat([errorResponse({ S: 'ERROR', V: 'ERROR', C: '55000', M: 'WAL level not sufficient for making an online backup' }), readyForQuery()]));
  });
  assert.deepEqual(events, []);
  assert.equal((error as { code: string }).code, 'SERVER_ERROR');
  assert.equal((error as Error).message, 'could not initiate base backup: WAL level not sufficient for making an online backup');
  await close();
});

test('the 15+ sub-protocol is enforced strictly', async () => {
  const cases: Array<[string, Buffer[], string]> = [
    ['archive after manifest', [sub('n', Buffer.from('base.tar\0\0')), sub('m'), sub('n', Buffer.from('x.tar\0\0'))], 'COPY_SUBMESSAGE_INVALID'],
    ['data before any archive', [sub('d', Buffer.from('x'))], 'COPY_SUBMESSAGE_INVALID'],
    ['unknown sub-message', [sub('z')], 'COPY_SUBMESSAGE_INVALID'],
    ['hostile archive name', [sub('n', Buffer.from('../../etc/passwd\0\0'))], 'INVALID_ARCHIVE_NAME'],
  ];
  for (const [name, body, code] of cases) {
    const { error, session, close } = await runBackup('15.18', async (peer) => {
      peer.write(Buffer.concat([startRows('0/2000028'), tablespaces([[null, null, null]]), copyOutResponse(), ...body]));
      await peer.readMessage().catch(() => {});
    });
    await close();
    assert.equal((error as { code: string }).code, code, name);
    await assert.rejects(session.show('x'), (rejection: { code: string }) => rejection.code !== undefined, 'session abandoned');
  }
});

test('a connection closing mid-stream is CONNECTION_CLOSED, never a silent end', async () => {
  const { events, error, close } = await runBackup('15.18', async (peer) => {
    peer.write(Buffer.concat([startRows('0/2000028'), tablespaces([[null, null, null]]), copyOutResponse(), sub('n', Buffer.from('base.tar\0\0')), sub('d', Buffer.from('partial'))]));
    peer.write(Buffer.from([0x64, 0, 0, 0, 100, 0x64])); // a frame cut short
    peer.socket.end();
  });
  assert.equal(events.at(-1)?.type, 'data');
  assert.equal((error as { code: string }).code, 'CONNECTION_CLOSED');
  assert.equal((error as Error).message, 'server closed the connection unexpectedly');
  await close();
});

test('server-side compression is refused before anything is sent to a server < 15', async () => {
  const server = await scriptedServer(async (peer) => { await peer.acceptStartup('14.23'); });
  const session = await connect(server.params);
  assert.throws(() => session.baseBackup({ ...OPTIONS, compression: { method: 'gzip' } }), { code: 'OPTION_CONFLICT' });
  session.destroy();
  await server.close();
});
