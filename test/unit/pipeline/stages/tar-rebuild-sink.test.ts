import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TarRebuildSink } from '../../../../src/pipeline/stages/tar-rebuild-sink.ts';
import { ConvoyError } from '../../../../src/errors/index.ts';
import { RecordingSink, buildTar, driveBackup, readTar, sampleBaseTar } from '../pipeline-helpers.ts';

const LINES = "primary_conninfo = 'host=h'\n";
const MANIFEST = Buffer.from('{"PostgreSQL-Backup-Manifest-Version": 1}\n');

test('recovery injection at several chunkings gives the same archive', async () => {
  const small = buildTar([{ name: 'postgresql.auto.conf', content: 'a = 1\n' }, { name: 'standby.signal', content: 'z' }, { name: 'd', type: 'directory' }]);
  let reference: Buffer | null = null;
  for (const chunkBytes of [1, 7, 511, 512, 513, 100000]) {
    const sink = new RecordingSink();
    await driveBackup(new TarRebuildSink(sink, { recoveryConf: { autoConfLines: LINES }, injectManifest: false, fileMode: 0o600 }), [{ name: 'base.tar', location: '', bytes: small }], null, { chunkBytes });
    const { members, order } = readTar(sink.archiveBytes());
    assert.deepEqual(order, ['postgresql.auto.conf', 'd', 'standby.signal']);
    assert.equal(members.get('postgresql.auto.conf')?.content, `a = 1\n${LINES}`);
    // Only mtimes of injected members may differ between runs.
    const withoutInjected = sink.archiveBytes().subarray(0, 512 * 3);
    reference ??= withoutInjected;
    assert.deepEqual(withoutInjected, reference);
  }
});

test('tablespace archives pass through untouched', async () => {
  const sink = new RecordingSink();
  const tablespace = buildTar([{ name: 'PG_17_1', type: 'directory' }]);
  await driveBackup(new TarRebuildSink(sink, { recoveryConf: { autoConfLines: LINES }, injectManifest: true, fileMode: 0o600 }),
    [{ name: '16400.tar', location: '/ts', bytes: tablespace }, { name: 'base.tar', location: '', bytes: sampleBaseTar() }], MANIFEST);
  assert.deepEqual(sink.archiveBytes(0), tablespace);
  const { order, members } = readTar(sink.archiveBytes(1));
  assert.deepEqual(order.slice(-2), ['standby.signal', 'backup_manifest']);
  assert.equal(members.get('backup_manifest')?.content, MANIFEST.toString());
  // The manifest went into the archive: the terminal sees no manifest hooks, and base.tar ends after it.
  assert.deepEqual(sink.hooks().filter((hook) => hook !== 'archiveContents'),
    ['beginBackup', 'beginArchive', 'endArchive', 'beginArchive', 'endArchive', 'endBackup']);
});

test('without a manifest the deferred end of base.tar comes at endBackup', async () => {
  const sink = new RecordingSink();
  await driveBackup(new TarRebuildSink(sink, { recoveryConf: null, injectManifest: true, fileMode: 0o600 }), [{ name: 'base.tar', location: '', bytes: sampleBaseTar() }], null);
  assert.deepEqual(sink.archiveBytes(), sampleBaseTar());
});

test('refuses to inject into a compressed base archive', async () => {
  const sink = new RecordingSink();
  const stage = new TarRebuildSink(sink, { recoveryConf: null, injectManifest: true, fileMode: 0o600 });
  await assert.rejects(driveBackup(stage, [{ name: 'base.tar.gz', location: '', bytes: Buffer.alloc(10) }], null), (error: unknown) => error instanceof ConvoyError && error.code === 'OPTION_CONFLICT');
});
