import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  appendSettings, isAcceptingConnections, parsePostmasterPid, prependHbaLines, renderSettings,
} from '../../../src/cluster/server-files.ts';

test('renders settings in postgresql.conf syntax', () => {
  assert.equal(renderSettings({ max_connections: 50, fsync: false, ssl: true }), 'max_connections = 50\nfsync = off\nssl = on\n');
  assert.equal(renderSettings({ shared_buffers: '32MB' }), "shared_buffers = '32MB'\n");
  assert.equal(renderSettings({ archive_command: "cp '%p' C:\\x" }), "archive_command = 'cp ''%p'' C:\\\\x'\n");
  assert.equal(renderSettings({ 'pg_stat_statements.max': 100 }), 'pg_stat_statements.max = 100\n');
  assert.throws(() => renderSettings({ 'bad name': 1 }), { code: 'OPTION_INVALID' });
  assert.throws(() => renderSettings({ 'x\nssl': 1 }), { code: 'OPTION_INVALID' });
});

test('parses postmaster.pid as written while starting and once ready', () => {
  const ready = '4242\n/tmp/data\n1732520000\n5433\n/tmp/run\n127.0.0.1\n  5433001     32769\nready   \n';
  assert.deepEqual(parsePostmasterPid(ready), {
    pid: 4242, dataDir: '/tmp/data', startTime: 1732520000, port: 5433, socketDir: '/tmp/run',
    listenAddress: '127.0.0.1', status: 'ready',
  });
  assert.equal(parsePostmasterPid('4242\n/tmp/data\n1732520000\n5433\n')?.status, undefined);
  assert.equal(parsePostmasterPid('4242\n/tmp/data\n1732520000\n5433\n/tmp/run\n127.0.0.1\n 1 2\nstarting\n')?.status, 'starting');
  assert.equal(parsePostmasterPid(''), null);
  assert.equal(parsePostmasterPid('garbage\n'), null);
  assert.equal(isAcceptingConnections('ready'), true);
  assert.equal(isAcceptingConnections('standby'), true);
  assert.equal(isAcceptingConnections('starting'), false);
  assert.equal(isAcceptingConnections(undefined), false);
});

test('settings go to an include appended once to postgresql.conf; hba lines are prepended', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'pgconvoy-server-files-'));
  try {
    await writeFile(join(dir, 'postgresql.conf'), '# initdb output\nport = 5432');
    await writeFile(join(dir, 'pg_hba.conf'), 'local all all trust\n');
    await appendSettings(dir, { wal_level: 'replica' });
    await appendSettings(dir, { max_wal_senders: 20 });
    assert.equal(await readFile(join(dir, 'postgresql.conf'), 'utf8'),
      "# initdb output\nport = 5432\ninclude_if_exists = 'pgconvoy.conf'\n");
    assert.equal(await readFile(join(dir, 'pgconvoy.conf'), 'utf8'), "wal_level = 'replica'\nmax_wal_senders = 20\n");
    await prependHbaLines(dir, ['host all alice 127.0.0.1/32 md5']);
    assert.equal(await readFile(join(dir, 'pg_hba.conf'), 'utf8'), 'host all alice 127.0.0.1/32 md5\nlocal all all trust\n');
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
