import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { connect } from '../../../src/client/connection.ts';
import { toolPath } from '../../../src/cluster/binaries.ts';
import {
  checkPgbenchInvariant, createRole, installFor, majorMatrix, psql, restoreAndStart, runCli,
  startCluster, startPgbench, tmpDir, type TestCluster,
} from '../harness.ts';

const run = promisify(execFile);

for (const { major, skip } of majorMatrix()) {
  test(`PostgreSQL ${major}: SSL with a verifiable certificate, SCRAM/MD5/trust roles`, { skip }, async () => {
    const cluster = await startCluster({ major, ssl: true, hba: ['host all mallory 127.0.0.1/32 reject'] });
    try {
      assert.ok(cluster.sslCertPath !== null);
      const verifyFull = `host=localhost hostaddr=127.0.0.1 sslmode=verify-full sslrootcert=${cluster.sslCertPath}`;
      assert.deepEqual(await psql(cluster, 'select ssl from pg_stat_ssl where pid = pg_backend_pid()', { conninfo: verifyFull }), [['t']]);
      assert.deepEqual(await psql(cluster, 'select ssl from pg_stat_ssl where pid = pg_backend_pid()', { conninfo: 'sslmode=disable' }), [['f']]);

      await createRole(cluster, 'alice', { password: 'pa ss', method: 'scram-sha-256', replication: true });
      await createRole(cluster, 'bob', { password: "it's", method: 'md5' });
      await createRole(cluster, 'carol');
      await createRole(cluster, 'mallory', { password: 'x' }); // the extra hba line of startCluster comes later
      const stored = await psql(cluster, "select rolname, left(rolpassword, 13), rolreplication from pg_authid where rolname in ('alice', 'bob', 'carol') order by 1");
      assert.deepEqual(stored.map((row) => [row[0], row[1]?.startsWith('SCRAM-SHA-256') ? 'scram' : row[1]?.slice(0, 3) ?? null, row[2]]),
        [['alice', 'scram', 't'], ['bob', 'md5', 'f'], ['carol', null, 'f']]);

      assert.deepEqual(await psql(cluster, 'select current_user', { user: 'alice', password: 'pa ss' }), [['alice']]);
      assert.deepEqual(await psql(cluster, 'select current_user', { user: 'bob', password: "it's" }), [['bob']]);
      assert.deepEqual(await psql(cluster, 'select current_user', { user: 'carol' }), [['carol']]);
      await assert.rejects(psql(cluster, 'select 1', { user: 'alice', password: 'wrong' }), /password authentication failed/);
      await assert.rejects(psql(cluster, 'select 1', { user: 'bob', password: 'wrong' }), /password authentication failed/);
      const [[systemId] = []] = await psql(cluster, 'IDENTIFY_SYSTEM', { user: 'alice', password: 'pa ss', conninfo: 'replication=true' });
      assert.match(systemId ?? '', /^\d+$/);
      await assert.rejects(psql(cluster, 'IDENTIFY_SYSTEM', { user: 'bob', password: "it's", conninfo: 'replication=true' }));

      // the same logins through our own client, with and without TLS
      for (const [user, password, sslmode] of [['alice', 'pa ss', 'require'], ['bob', "it's", 'disable']] as const) {
        const session = await connect(cluster.connectionParams({ user, password, sslmode }));
        try {
          assert.deepEqual(await session.query('select current_user'), [[user]]);
        } finally {
          await session.close();
        }
      }
    } finally {
      await cluster.stopAndRemove();
    }
  });
}

test('pgbench load keeps its invariant, stops early on request, and a broken invariant is caught', async () => {
  const cluster = await startCluster();
  try {
    await startPgbench(cluster, { scale: 1, clients: 2, seconds: 2 }).done;
    await checkPgbenchInvariant(cluster);
    const [[transactions] = []] = await psql(cluster, 'select count(*) from pgbench_history');
    assert.ok(Number(transactions) > 0);

    const long = startPgbench(cluster, { clients: 2, seconds: 120 });
    await sleep(1000);
    const stopAt = Date.now();
    await long.stop();
    await long.done;
    assert.ok(Date.now() - stopAt < 5000, 'stop() ends the run at once');
    await checkPgbenchInvariant(cluster);

    await psql(cluster, 'update pgbench_branches set bbalance = bbalance + 1');
    await assert.rejects(checkPgbenchInvariant(cluster), /pgbench invariant broken/);
  } finally {
    await cluster.stopAndRemove();
  }
});

async function backupUnderLoad(cluster: TestCluster, format: 'plain' | 'tar'): Promise<string> {
  const pgBasebackup = toolPath(cluster.install, 'pg_basebackup');
  assert.ok(pgBasebackup !== null);
  const load = startPgbench(cluster, { scale: 1, clients: 2, seconds: 60 });
  try {
    while (Number((await psql(cluster, "select count(*) from pgbench_history where to_regclass('pgbench_history') is not null").catch(() => [['0']]))[0]?.[0]) < 50) {
      await sleep(100);
    }
    const target = join(await tmpDir('backup'), 'backup');
    await run(pgBasebackup, [
      '-D', target, '-F', format === 'plain' ? 'p' : 't', '-X', 'stream', '-c', 'fast', '--no-sync',
      '-h', cluster.host, '-p', String(cluster.port), '-U', 'postgres',
    ], { env: { PATH: process.env['PATH'] ?? '' } });
    return target;
  } finally {
    await load.stop();
  }
}

for (const { major, skip } of majorMatrix()) {
  const install = installFor(major);
  const noTool = install !== null && toolPath(install, 'pg_basebackup') === null
    ? `no pg_basebackup for PostgreSQL ${major} or newer is installed` : false;
  test(`PostgreSQL ${major}: restoreAndStart recovers a pg_basebackup -X stream copy taken under pgbench load`,
    { skip: skip || noTool }, async () => {
      const cluster = await startCluster({ major });
      try {
        const backup = await backupUnderLoad(cluster, 'plain');
        const verify = toolPath(cluster.install, 'pg_verifybackup');
        // pg_verifybackup parses WAL with the pg_waldump beside it, which reads only its own major's WAL.
        const canParseWal = toolPath(cluster.install, 'pg_waldump') !== null;
        if (verify !== null) await run(verify, canParseWal ? [backup] : ['--no-parse-wal', backup]);
        const restored = await restoreAndStart(backup, cluster.install);
        try {
          assert.equal(restored.isRunning, true);
          assert.notEqual(restored.port, cluster.port);
          await checkPgbenchInvariant(restored);
          const systemId = 'select system_identifier::text, pg_is_in_recovery() from pg_control_system()';
          const [[sourceId] = []] = await psql(cluster, systemId);
          assert.deepEqual(await psql(restored, systemId), [[sourceId ?? '', 'f']]);
          assert.match(await restored.logText(), /redo done|consistent recovery state reached/);
        } finally {
          await restored.stop();
        }
      } finally {
        await cluster.stopAndRemove();
      }
    });
}

test('restoreAndStart extracts a tar-format backup (base.tar + pg_wal.tar)', async () => {
  const cluster = await startCluster();
  try {
    const backup = await backupUnderLoad(cluster, 'tar');
    assert.ok(existsSync(join(backup, 'base.tar')) && existsSync(join(backup, 'pg_wal.tar')));
    const restored = await restoreAndStart(backup, cluster.install);
    try {
      await checkPgbenchInvariant(restored);
      assert.notEqual(restored.dataDir, backup, 'extracted elsewhere; the backup stays as it was');
    } finally {
      await restored.stop();
    }
  } finally {
    await cluster.stopAndRemove();
  }
});

test('runCli runs the CLI from source and enforces its timeout', async () => {
  const version = await runCli(['--version']);
  assert.equal(version.status, 0, version.stderr);
  assert.match(version.stdout.trim(), /^\d+\.\d+\.\d+/);
  const killed = await runCli(['--version'], { timeoutMs: 1 });
  assert.deepEqual([killed.status, killed.signal], [null, 'SIGKILL']);
});
