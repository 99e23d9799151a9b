/**
 * Authentication and transport against a real PostgreSQL 15: SCRAM and MD5 roles, a wrong password, a role
 * without REPLICATION, a connection no pg_hba.conf line allows, and SSL modes against ssl=on and ssl=off.
 */
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { connect } from '../../../src/client/connection.ts';
import { createRole, majorMatrix, startCluster } from '../harness.ts';

const pg15 = majorMatrix().find((entry) => entry.major === 15);
const skip = pg15?.skip ?? 'PostgreSQL 15 is not part of the matrix';

test('SCRAM and MD5 logins; wrong password, missing password, no REPLICATION, no pg_hba.conf entry', { skip }, async () => {
  const cluster = await startCluster({ major: 15 });
  try {
    await createRole(cluster, 'scram_user', { password: 'scram pw', method: 'scram-sha-256', replication: true });
    await createRole(cluster, 'md5_user', { password: "md5'pw", method: 'md5', replication: true });
    await createRole(cluster, 'plain_user', { password: 'plain', method: 'scram-sha-256', replication: false });
    const replication = { replication: 'true' as const, database: 'replication' };

    for (const [user, password] of [['scram_user', 'scram pw'], ['md5_user', "md5'pw"]] as const) {
      const session = await connect(cluster.connectionParams({ ...replication, user, password }));
      assert.match((await session.identifySystem()).systemId, /^\d+$/);
      await session.close();
    }

    await assert.rejects(connect(cluster.connectionParams({ ...replication, user: 'scram_user', password: 'wrong' })), (error: Error & { code: string }) => {
      assert.equal(error.code, 'AUTH_FAILED');
      assert.match(error.message, /^connection to server at "127\.0\.0\.1", port \d+ failed: password authentication failed for user "scram_user"$/);
      return true;
    });
    await assert.rejects(connect(cluster.connectionParams({ ...replication, user: 'md5_user', password: 'wrong' })), { code: 'AUTH_FAILED' });
    await assert.rejects(connect(cluster.connectionParams({ ...replication, user: 'scram_user' })), { code: 'PASSWORD_REQUIRED' });
    await assert.rejects(connect(cluster.connectionParams({ ...replication, user: 'plain_user', password: 'plain' })), (error: Error & { code: string }) => {
      assert.equal(error.code, 'AUTH_FAILED');
      assert.match(error.message, /must be superuser or replication role to start walsender/);
      return true;
    });

    // only lines for other roles: nothing matches "nobody"
    await writeFile(join(cluster.dataDir, 'pg_hba.conf'), 'host all postgres 127.0.0.1/32 trust\nhost replication postgres 127.0.0.1/32 trust\n');
    await cluster.prependHba([]); // reloads
    await assert.rejects(connect(cluster.connectionParams({ ...replication, user: 'nobody' })), (error: Error & { code: string }) => {
      assert.equal(error.code, 'AUTH_FAILED');
      assert.match(error.message, /no pg_hba\.conf entry for replication connection from host "127\.0\.0\.1", user "nobody"/);
      return true;
    });
  } finally {
    await cluster.stopAndRemove();
  }
});

test('sslmode: require encrypts against ssl=on, verify-ca refuses an unknown CA, require fails against ssl=off', { skip }, async () => {
  const sslCluster = await startCluster({ major: 15, ssl: true });
  try {
    for (const sslmode of ['require', 'prefer'] as const) {
      const session = await connect(sslCluster.connectionParams({ sslmode }));
      assert.deepEqual(await session.query('SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()'), [['t']], sslmode);
      await session.close();
    }
    const walsender = await connect(sslCluster.connectionParams({ sslmode: 'require', replication: 'true', database: 'replication' }));
    assert.match((await walsender.identifySystem()).systemId, /^\d+$/);
    await walsender.close();
    // the throwaway certificate is in no trusted store
    await assert.rejects(connect(sslCluster.connectionParams({ sslmode: 'verify-ca' })), { code: 'SSL_FAILED' });
  } finally {
    await sslCluster.stopAndRemove();
  }
  const plainCluster = await startCluster({ major: 15 });
  try {
    await assert.rejects(connect(plainCluster.connectionParams({ sslmode: 'require' })), { code: 'SSL_REFUSED' });
    const session = await connect(plainCluster.connectionParams({ sslmode: 'prefer' }));
    assert.deepEqual(await session.query('SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()'), [['f']]);
    await session.close();
    const socketDir = plainCluster.socketDir;
    if (socketDir !== null) {
      const overSocket = await connect(plainCluster.connectionParams({ host: socketDir, sslmode: 'require' }));
      assert.deepEqual(await overSocket.query('SELECT 1'), [['1']], 'Unix sockets never negotiate SSL');
      await overSocket.close();
    }
  } finally {
    await plainCluster.stopAndRemove();
  }
});
