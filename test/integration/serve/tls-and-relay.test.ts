/**
 * Three parts of serve beside the shared read, with a PostgreSQL 15 cluster: TLS on serve's own listener (its own
 * certificate; the real pg_basebackup verifies it), a BASE_BACKUP that serve does not perform itself
 * (TARGET 'server:...') relayed to the cluster unchanged, so the client still gets its backup, and a CancelRequest
 * with the key serve handed out reaching the backup serve performs (compared with the cluster's own answer to the
 * same bytes, through the raw client). One cluster for the file; a serve per test.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { runCli, startCluster, tmpDir, type TestCluster } from '../harness.ts';
import { writeSelfSignedCert, SSL_CERT_FILE, SSL_KEY_FILE } from '../harness/ssl.ts';
import { pgVerifybackup } from '../verify/tools.ts';
import { CANCEL_REQUEST_CODE, errorFields, int32, query, RawConnection, startupPacket, TERMINATE } from './raw-client.ts';
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

/**
 * A replication login, then a slow BASE_BACKUP (MAX_RATE at its minimum) until its COPY starts; then a CancelRequest
 * on a second connection with the key from BackendKeyData. Returns the first connection's ErrorResponse fields.
 */
async function cancelledBackup(host: string, port: number): Promise<ReadonlyMap<string, string>> {
  const session = await RawConnection.open(host, port);
  try {
    session.send(startupPacket({ user: 'postgres', database: 'replication', replication: 'true' }));
    const login = await session.readUntil('Z', 'the login');
    const key = login.find((message) => message.type === 'K');
    assert.ok(key !== undefined, `BackendKeyData in ${login.map((message) => message.type).join('')}`);
    session.send(query("BASE_BACKUP (LABEL 'cancelled', CHECKPOINT 'fast', MAX_RATE 32)"));
    await session.readUntil('H', 'the COPY of the backup');
    const canceller = await RawConnection.open(host, port);
    canceller.send(int32(16), int32(CANCEL_REQUEST_CODE), key.body);
    await canceller.untilClosed('the cancel connection to close');
    const answers = await session.readUntil('EZ', 'the answer to the cancel');
    const error = answers.find((message) => message.type === 'E');
    assert.ok(error !== undefined, `an ErrorResponse, got ${answers.map((message) => message.type).join('')}`);
    session.send(TERMINATE);
    return errorFields(error);
  } finally {
    session.destroy();
  }
}

test('a CancelRequest with serve\'s key cancels the backup serve performs, as the cluster cancels its own', { timeout: 120_000 }, async () => {
  const serve = await startServe(cluster);
  try {
    const own = await cancelledBackup(cluster.host, cluster.port);
    const relayed = await cancelledBackup(serve.host, serve.port);
    assert.equal(relayed.get('C'), '57014', JSON.stringify([...relayed]));
    assert.equal(relayed.get('C'), own.get('C'));
    assert.equal(relayed.get('M'), own.get('M'));
    await serve.waitForEvent((event) => event.event === 'cancel-request' && event['matched'] === true);
    await serve.waitForEvent((event) => event.event === 'backup-failed');
    await expectClusterClean(cluster, 5_000, true);
  } finally {
    await serve.stop();
  }
});
