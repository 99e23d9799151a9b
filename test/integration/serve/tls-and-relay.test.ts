/**
 * Two parts of serve beside the shared read, with the real pg_basebackup 15 and a PostgreSQL 15 cluster: TLS on
 * serve's own listener (its own certificate; the client verifies it), and a BASE_BACKUP that serve does not perform
 * itself (TARGET 'server:...') relayed to the cluster unchanged, so the client still gets its backup. One cluster
 * for the file; a serve per test.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { runCli, startCluster, tmpDir, type TestCluster } from '../harness.ts';
import { writeSelfSignedCert, SSL_CERT_FILE, SSL_KEY_FILE } from '../harness/ssl.ts';
import { pgVerifybackup } from '../verify/tools.ts';
import { expectClusterClean, pgBasebackup, startServe } from './serve-harness.ts';

let cluster: TestCluster;

before(async () => {
  cluster = await startCluster({ major: 15 });
});

after(async () => {
  await cluster?.stopAndRemove();
});

test('TLS on serve\'s listener: sslmode=verify-full against serve\'s own certificate; without one, SSL is refused', { timeout: 120_000 }, async () => {
  const certDir = await tmpDir('serve-tls-cert');
  const rootCert = await writeSelfSignedCert(certDir);
  const serve = await startServe(cluster, { extraArgs: ['--ssl-cert', join(certDir, SSL_CERT_FILE), '--ssl-key', join(certDir, SSL_KEY_FILE)] });
  const plain = await startServe(cluster);
  try {
    const dir = join(await tmpDir('serve-tls'), 'b');
    const secure = await pgBasebackup(cluster, serve, ['-D', dir, '-X', 'fetch', '-c', 'fast', '-d', `sslmode=verify-full sslrootcert=${rootCert} host=localhost`]).result;
    assert.equal(secure.status, 0, `${secure.stderr}\nserve log:\n${serve.log()}`);
    const authorized = await serve.waitForEvent((event) => event.event === 'connection-authorized');
    assert.equal(authorized['ssl'], true, JSON.stringify(authorized));
    const verified = await pgVerifybackup(cluster, dir);
    assert.equal(verified.status, 0, verified.stderr);

    const refused = await pgBasebackup(cluster, plain, ['-D', join(dir, '..', 'no-tls'), '-X', 'fetch', '-d', 'sslmode=require']).result;
    assert.notEqual(refused.status, 0);
    assert.match(refused.stderr, /server does not support SSL, but SSL was required/);
  } finally {
    await serve.stop();
    await plain.stop();
  }
  await expectClusterClean(cluster, 5_000, false);
});

test('BASE_BACKUP with TARGET \'server:DIR\' is relayed to the cluster unchanged and logged as relayed', { timeout: 120_000 }, async () => {
  const serve = await startServe(cluster);
  try {
    const dir = join(await tmpDir('serve-target'), 'on-server');
    const result = await pgBasebackup(cluster, serve, ['-t', `server:${dir}`, '-X', 'fetch', '-c', 'fast']).result;
    assert.equal(result.status, 0, `${result.stderr}\nserve log:\n${serve.log()}`);
    await serve.waitForEvent((event) => event.event === 'backup-relayed');
    assert.equal(serve.events.some((event) => event.event === 'backup-start'), false, 'serve did not perform it');
    // the server wrote tar files there, which pg_verifybackup 15 cannot read
    const verified = await runCli(['verify', dir]);
    assert.equal(verified.status, 0, verified.stderr);
  } finally {
    await serve.stop();
  }
  await expectClusterClean(cluster, 5_000, false);
});
