import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { findInstall } from '../../../src/cluster/binaries.ts';
import { freePort } from '../../../src/cluster/free-port.ts';
import { majorMatrix, psql, REPO_ROOT, startCluster, tmpDir } from '../harness.ts';

for (const { major, skip } of majorMatrix()) {
  test(`PostgreSQL ${major}: init, start, query, stop, restart`, { skip }, async () => {
    const cluster = await startCluster({ major });
    try {
      assert.equal(cluster.isRunning, true);
      assert.ok(cluster.port > 0);
      const [row = []] = await psql(cluster, "select current_setting('server_version_num'), " +
        "current_setting('data_checksums'), current_setting('wal_level'), current_setting('max_wal_senders'), " +
        "current_setting('shared_buffers'), current_setting('listen_addresses'), current_user");
      assert.deepEqual(row, [row[0], 'on', 'replica', '20', '32MB', '127.0.0.1', 'postgres']);
      assert.equal(Math.floor(Number(row[0]) / 10000), major);
      assert.ok(existsSync(join(cluster.socketDir ?? '', `.s.PGSQL.${cluster.port}`)), 'Unix socket in the private run dir');
      assert.match(await cluster.logText(), /database system is ready to accept connections/);

      await cluster.stop();
      assert.equal(cluster.isRunning, false);
      assert.equal(existsSync(join(cluster.dataDir, 'postmaster.pid')), false, 'fast shutdown completed');
      await cluster.stop(); // idempotent
      await cluster.start();
      const [[answer] = []] = await psql(cluster, 'select 6 * 7');
      assert.equal(answer, '42');
      assert.equal((await cluster.logText()).match(/ready to accept connections/g)?.length, 2, 'one log across starts');
    } finally {
      await cluster.stopAndRemove();
    }
    assert.equal(existsSync(cluster.dataDir), false);
  });
}

test('sql() runs through our own client', async () => {
  const cluster = await startCluster();
  try {
    assert.deepEqual(await cluster.sql("select 1, null::text, 'x'"), [['1', null, 'x']]);
    assert.deepEqual(await cluster.sql('select current_database()', 'template1'), [['template1']]);
  } finally {
    await cluster.stopAndRemove();
  }
});

test('a server that cannot start rejects with CLUSTER_FAILED and the log tail', async () => {
  const cluster = await startCluster();
  try {
    await cluster.stop();
    await cluster.configure({ shared_buffers: 'plenty' });
    await assert.rejects(cluster.start({ timeoutMs: 20_000 }), (error: Error & { code?: string; details?: Record<string, unknown> }) => {
      assert.equal(error.code, 'CLUSTER_FAILED');
      assert.match(String(error.details?.['logTail']), /shared_buffers/);
      return true;
    });
    assert.equal(cluster.isRunning, false);
  } finally {
    await cluster.stopAndRemove();
  }
});

test('an explicit port that is taken is not retried elsewhere', async () => {
  const first = await startCluster();
  const second = await startCluster();
  try {
    await second.stop();
    await assert.rejects(second.start({ port: first.port, timeoutMs: 20_000 }), { code: 'CLUSTER_FAILED' });
    assert.match(await second.logText(), /already in use/i);
    const port = await freePort();
    await second.start({ port });
    assert.equal(second.port, port);
  } finally {
    await first.stopAndRemove();
    await second.stopAndRemove();
  }
});

test('stop() copes with a postmaster that already died, and immediate mode crashes the server', async () => {
  const cluster = await startCluster();
  try {
    const pid = cluster.postmasterPid;
    assert.ok(pid !== null);
    process.kill(pid, 'SIGKILL');
    await cluster.stop();
    assert.equal(cluster.isRunning, false);
    await cluster.start(); // the orphaned backends notice the postmaster's death and leave; then it starts
    await psql(cluster, 'create table t as select 1 as x');
    await cluster.stop('immediate');
    await cluster.start();
    assert.match(await cluster.logText(), /not properly shut down|automatic recovery/);
    assert.deepEqual(await psql(cluster, 'select x from t'), [['1']]);
  } finally {
    await cluster.stopAndRemove();
  }
});

for (const how of ['exit', 'SIGTERM'] as const) {
  test(`servers are shut down when the process ends by ${how}`, async () => {
    const install = findInstall();
    assert.ok(install !== null);
    const dir = await tmpDir('exit-hook');
    const script = join(dir, 'child.mts');
    const module = (path: string): string => JSON.stringify(pathToFileURL(join(REPO_ROOT, path)).href);
    await writeFile(script, [
      `import { LocalCluster } from ${module('src/cluster/local-cluster.ts')};`,
      `import { findInstall } from ${module('src/cluster/binaries.ts')};`,
      `const cluster = await LocalCluster.init({ install: findInstall(), dataDir: ${JSON.stringify(join(dir, 'data'))}, noSync: true });`,
      'await cluster.start();',
      'process.stdout.write(`${cluster.postmasterPid} ${cluster.socketDir}\\n`);',
      how === 'SIGTERM' ? 'setInterval(() => {}, 1000);' : '',
    ].join('\n'));
    const child = spawn(process.execPath, ['--import', import.meta.resolve('tsx'), script], { stdio: ['ignore', 'pipe', 'inherit'] });
    const line = await new Promise<string>((resolveLine) => child.stdout.once('data', (chunk: Buffer) => resolveLine(chunk.toString())));
    const [pid, socketDir] = line.trim().split(' ');
    assert.ok(existsSync(`/proc/${pid}`));
    if (how === 'SIGTERM') child.kill('SIGTERM');
    const [status, signal] = await new Promise<[number | null, string | null]>((resolveExit) =>
      child.once('exit', (code, sig) => resolveExit([code, sig])));
    assert.deepEqual([status, signal], how === 'SIGTERM' ? [null, 'SIGTERM'] : [0, null]);
    const isGone = (): boolean => !existsSync(`/proc/${pid}`) || / Z /.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
    assert.ok(isGone(), `postmaster ${pid} still running`);
    assert.equal(existsSync(socketDir ?? ''), false, 'run directory removed');
    assert.equal(existsSync(join(dir, 'data', 'postmaster.pid')), false);
  });
}
