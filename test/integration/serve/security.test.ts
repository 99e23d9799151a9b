/**
 * Who may connect through serve: PostgreSQL decides. Each refusal is compared with what the cluster itself says
 * to the same client connecting directly, so "PostgreSQL's wording" is checked against PostgreSQL, not against a
 * copy of its strings: a role without REPLICATION, a wrong password, a `reject` line. The fourth case is the trap
 * a relay sets: serve reaches the cluster over its Unix socket, where `local replication all trust` lets anyone
 * in, while the client's own TCP address has a `scram-sha-256` line; the client must still be refused, password
 * or not, because the cluster never checked one. One PostgreSQL 15 cluster for the file, two serves (one relaying
 * over TCP, one over the socket); every login is a psql replication connection running IDENTIFY_SYSTEM.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { createRole, psql, runTool, startCluster, type TestCluster } from '../harness.ts';
import { clientToolEnv, requireTool } from '../harness/psql.ts';
import { serveFootprint, startServe, type RunningServe } from './serve-harness.ts';

let cluster: TestCluster;
let overTcp: RunningServe;
let overSocket: RunningServe;
let systemId: string;

before(async () => {
  cluster = await startCluster({ major: 15, hba: ['host replication mallory 127.0.0.1/32 reject'] });
  await createRole(cluster, 'norep');
  await createRole(cluster, 'alice', { password: 'right horse', replication: true });
  // not createRole: its trust lines would come ahead of the reject line
  await psql(cluster, 'CREATE ROLE mallory LOGIN REPLICATION');
  await createRole(cluster, 'dave', { password: 'battery staple', replication: true });
  const [[id] = []] = await psql(cluster, 'IDENTIFY_SYSTEM', { conninfo: 'replication=true' });
  systemId = id ?? '';
  overTcp = await startServe(cluster);
  overSocket = await startServe(cluster, { conninfo: `host=${cluster.socketDir ?? ''} port=${cluster.port} user=postgres dbname=postgres` });
});

after(async () => {
  await overTcp?.stop();
  await overSocket?.stop();
  await cluster?.stopAndRemove();
});

interface Login {
  readonly status: number | null;
  /** the server's FATAL line and what follows, without libpq's "connection to server at ... failed:" prefix */
  readonly refusal: string;
  readonly stdout: string;
}

/** A replication connection by psql to host:port as `user`, running IDENTIFY_SYSTEM. */
async function login(host: string, port: number, user: string, password?: string): Promise<Login> {
  const env = clientToolEnv();
  if (password !== undefined) env['PGPASSWORD'] = password;
  const run = await runTool(requireTool(cluster, 'psql'), [
    '-X', '-A', '-t', '-w', '-d', `host=${host} port=${port} user=${user} dbname=replication replication=true sslmode=disable`,
    '-c', 'IDENTIFY_SYSTEM',
  ], { env });
  return { status: run.status, refusal: run.stderr.replace(/^[^\n]*? failed: /, '').trim(), stdout: run.stdout };
}

function direct(user: string, password?: string): Promise<Login> {
  return login(cluster.host, cluster.port, user, password);
}

function through(serve: RunningServe, user: string, password?: string): Promise<Login> {
  return login(serve.host, serve.port, user, password);
}

test('a role without REPLICATION is refused with the cluster\'s own message', { timeout: 60_000 }, async () => {
  const [relayed, own] = [await through(overTcp, 'norep'), await direct('norep')];
  assert.notEqual(relayed.status, 0);
  assert.match(relayed.refusal, /FATAL: {2}must be superuser or replication role to start walsender/);
  assert.equal(relayed.refusal, own.refusal);
});

test('a wrong password is refused as the cluster refuses it; the right one logs in', { timeout: 60_000 }, async () => {
  const [relayed, own] = [await through(overTcp, 'alice', 'wrong horse'), await direct('alice', 'wrong horse')];
  assert.notEqual(relayed.status, 0);
  assert.match(relayed.refusal, /FATAL: {2}password authentication failed for user "alice"/);
  assert.equal(relayed.refusal, own.refusal);
  const missing = await through(overTcp, 'alice');
  assert.notEqual(missing.status, 0);
  assert.match(missing.refusal, /no password supplied|fe_sendauth/);
  const right = await through(overTcp, 'alice', 'right horse');
  assert.equal(right.status, 0, right.refusal);
  assert.equal(right.stdout.split('|')[0], systemId, 'IDENTIFY_SYSTEM was answered by the cluster');
});

test('a reject line for the client is applied by serve, in PostgreSQL\'s words', { timeout: 60_000 }, async () => {
  const [relayed, own] = [await through(overTcp, 'mallory'), await direct('mallory')];
  assert.notEqual(relayed.status, 0);
  assert.match(relayed.refusal, /FATAL: {2}pg_hba.conf rejects replication connection for host "127\.0\.0\.1", user "mallory", no encryption/);
  assert.equal(relayed.refusal, own.refusal);
  assert.ok(overTcp.events.some((event) => event.event === 'connection-refused' && event['reason'] === 'reject'));
});

test('a scram-sha-256 line for the client, trust for serve\'s own way in: refused with and without the password', { timeout: 60_000 }, async (t) => {
  const socketDir = cluster.socketDir ?? '';
  const trap = await login(socketDir, cluster.port, 'dave');
  t.diagnostic(`dave over the cluster's socket without a password: exit ${trap.status} (the way in serve relays through)`);
  assert.equal(trap.status, 0, 'the test needs serve\'s own way in to be trust');
  const own = await direct('dave');
  assert.notEqual(own.status, 0, 'the cluster itself asks dave for a password over TCP');

  for (const password of [undefined, 'battery staple']) {
    const relayed = await through(overSocket, 'dave', password);
    assert.notEqual(relayed.status, 0, `dave through serve, password ${password === undefined ? 'none' : 'right'}`);
    assert.match(relayed.refusal, /FATAL: {2}password authentication failed for user "dave"/);
    assert.match(relayed.refusal, /requires "scram-sha-256" for this connection, but the cluster asked pgconvoy serve for no password at all/);
  }
  // the same serve still lets in a client whose own line is trust
  const postgres = await through(overSocket, 'postgres');
  assert.equal(postgres.status, 0, postgres.refusal);
});

test('refused logins leave nothing of serve on the cluster but the two serves\' own sessions', { timeout: 30_000 }, async () => {
  const footprint = await serveFootprint(cluster);
  assert.deepEqual(footprint, { sessions: 2, slots: [], walsenders: 0 });
});
