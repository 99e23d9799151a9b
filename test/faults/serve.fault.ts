/**
 * `pgconvoy serve` beside PostgreSQL 15 under a pgbench write load, faulted on purpose: its clients killed (SIGKILL,
 * with whatever they forked) at random moments, serve itself killed mid-backup and started again, clients that
 * connect and never speak, and more clients than --max-backups, some of them killed while they wait their turn.
 *
 * After every trial: no serve SQL session but its admin one (so no backup in progress), no slot of serve or of its
 * clients, no walsender; a backup that reports success verifies (pg_verifybackup) and a client's directory holds
 * backup_manifest only if it verifies; serve is still running, except where the trial killed it.
 *
 * Startup timeout: serve takes the cluster's authentication_timeout (4 s here) for everything before a session is
 * logged in (client-session.ts), as PostgreSQL does; the silent-client trials show it closes such connections, and
 * that meanwhile it serves the others. The protocol fuzzer is serve-fuzz.fault.ts.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { createRole, installFor, startCluster, startPgbench, tmpDir, type PgbenchRun, type TestCluster } from '../integration/harness.ts';
import { pgBasebackupOk, startServe, type RunningServe, type ServeEvent } from '../integration/serve/serve-harness.ts';
import { expectClean, expectNothingFalselyComplete, FaultTally, randomMoment, settle, trials, SETTLE_CEILING_MS } from './fault-kit.ts';
import { CLIENT_KINDS, startServeClient, type ServeClient } from './serve-clients.ts';
import { errorMessage, int32, SSL_REQUEST_CODE, startupPacket, WireClient } from './wire.ts';

const skip = installFor(15) === null ? 'PostgreSQL 15 is not installed' : false;
const tally = new FaultTally();
const AUTHENTICATION_TIMEOUT_S = 4;
let cluster: TestCluster;
let load: PgbenchRun;
let serve: RunningServe;
let root: string;

before(async () => {
  if (skip !== false) return;
  cluster = await startCluster({
    major: 15, settings: { max_wal_size: '64MB', min_wal_size: '32MB', authentication_timeout: `${AUTHENTICATION_TIMEOUT_S}s` },
  });
  await createRole(cluster, 'fault_pw', { password: 'never sent', replication: true });
  await startPgbench(cluster, { scale: 3, seconds: 1 }).done;
  load = startPgbench(cluster, { clients: 1, seconds: 3600 });
  serve = await startServe(cluster);
  root = await tmpDir('fault-serve');
});

after(async () => {
  await serve?.stop('SIGKILL');
  await load?.stop();
  await cluster?.stopAndRemove();
});

function assertServeAlive(which: RunningServe): void {
  assert.ok(which.child.exitCode === null && which.child.signalCode === null, `serve exited; log:\n${which.log().slice(-3000)}`);
}

/** Longer than any client here takes beside a fault: past it, the client is named as stuck rather than the test timing out. */
const CLIENT_CEILING_MS = 120_000;

/** A client that finished: success must verify; anything else must not leave a manifest that does not. */
async function judge(client: ServeClient, mustSucceed: boolean, through: RunningServe = serve): Promise<string> {
  let ceiling: NodeJS.Timeout | undefined;
  const stuck = new Promise<never>((_, reject) => {
    ceiling = setTimeout(() => {
      reject(new Error(`${client.kind.name} (${client.label}) still running after ${CLIENT_CEILING_MS / 1000} s; ` +
        `its stderr:\n${client.stderrSoFar()}\nserve log:\n${through.log().slice(-4000)}`));
      void client.kill(); // so that the trials after this one start from a clean cluster
    }, CLIENT_CEILING_MS);
  });
  const result = await Promise.race([client.result, stuck]).finally(() => clearTimeout(ceiling));
  if (mustSucceed) assert.equal(result.status, 0, `${client.kind.name} (${client.label}) failed beside the fault:\n${result.stderr}`);
  const complete = await expectNothingFalselyComplete(cluster, [client.dir]);
  if (result.status === 0) {
    assert.equal(complete.length, 1, `${client.label} exited 0 without backup_manifest`);
    return 'verified';
  }
  return complete.length === 1 ? 'killed after completing, verified' : `failed (${result.status ?? result.signal}), nothing complete`;
}

test('serve: clients killed at random moments; the others complete, serve keeps nothing of the killed', { skip, timeout: trials(6) * 90_000 }, async (t) => {
  await tally.run(t, 'serve client-kill', trials(6), async ({ index, dice, describe, note }) => {
    const victimKind = dice.pick(CLIENT_KINDS);
    const bystanderKind = dice.chance(0.6) ? dice.pick(CLIENT_KINDS) : null;
    const victim = startServeClient(cluster, serve, victimKind, root, `kill${index}-victim`);
    const bystander = bystanderKind === null ? null : startServeClient(cluster, serve, bystanderKind, root, `kill${index}-bystander`);
    const atMs = await randomMoment(dice, 3500);
    describe(`SIGKILL ${victimKind.name} after ${atMs} ms${bystanderKind === null ? '' : `, beside ${bystanderKind.name}`}`);
    await victim.kill();
    note(`victim ${await judge(victim, false)}`);
    if (bystander !== null) note(`bystander ${await judge(bystander, true)}`);
    note(`cluster clean after ${await expectClean(cluster, { serves: 1 })} ms`);
    assertServeAlive(serve);
    return bystander === null ? 'victim gone, serve clean' : 'victim gone, bystander verified, serve clean';
  }, () => settle(cluster, { serves: 1 }));
});

test('serve killed by SIGKILL at a random moment: clients fail, the cluster holds nothing of it', { skip, timeout: trials(4) * 90_000 }, async (t) => {
  await tally.run(t, 'serve kill -9', trials(4), async ({ index, dice, describe, note }) => {
    const kinds = [dice.pick(CLIENT_KINDS), ...(dice.chance(0.5) ? [dice.pick(CLIENT_KINDS)] : [])];
    const clients = kinds.map((kind, n) => startServeClient(cluster, serve, kind, root, `serve-kill${index}-${n}`));
    const atMs = await randomMoment(dice, 3500);
    describe(`SIGKILL serve after ${atMs} ms, clients ${kinds.map((kind) => kind.name).join(' + ')}`);
    try {
      const exit = await serve.stop('SIGKILL');
      assert.equal(exit.signal, 'SIGKILL');
      for (const client of clients) note(`${client.label} ${await judge(client, false)}`);
      note(`cluster clean after ${await expectClean(cluster)} ms`);
    } finally {
      serve = await startServe(cluster);
    }
    return 'clients failed or verified, cluster clean';
  }, () => settle(cluster, { serves: 1 }));
});

interface Silent {
  readonly kind: string;
  readonly client: WireClient;
  readonly openedMs: number;
}

async function openSilent(kind: string): Promise<Silent> {
  const client = await WireClient.open(serve.host, serve.port);
  const openedMs = Date.now();
  if (kind === 'half a length word') client.send(Buffer.from([0, 0]));
  if (kind === 'SSLRequest, then nothing') client.send(Buffer.concat([int32(8), int32(SSL_REQUEST_CODE)]));
  if (kind === 'startup, no password') {
    client.send(startupPacket([['user', 'fault_pw'], ['database', 'postgres'], ['replication', 'true']]));
  }
  return { kind, client, openedMs };
}

const SILENT_KINDS = ['connect only', 'half a length word', 'SSLRequest, then nothing', 'startup, no password'] as const;

/**
 * Reads what serve sends a silent client until it closes the connection: null if that was well-formed (the one-byte
 * answer to SSLRequest, the relayed password request, at most an ErrorResponse that is not an internal error),
 * otherwise what was wrong. PostgreSQL itself closes such connections after authentication_timeout, saying nothing.
 */
async function closedBySilence(kind: string, client: WireClient): Promise<string | null> {
  if (kind === 'SSLRequest, then nothing') {
    const answer = await client.readNegotiationByte(SETTLE_CEILING_MS);
    if (answer !== 'N') return `answered the SSLRequest with ${answer}`;
  }
  for (;;) {
    const next = await client.read(SETTLE_CEILING_MS);
    if (next.kind === 'closed') return null;
    if (next.kind === 'garbled') return next.why;
    if (next.kind === 'idle') {
      return `still open ${SETTLE_CEILING_MS / 1000} s after its last byte, authentication_timeout being ${AUTHENTICATION_TIMEOUT_S} s`;
    }
    if (next.message.type === 'R' && kind === 'startup, no password') continue;
    if (next.message.type !== 'E') return `sent a ${next.message.type} message`;
    const error = errorMessage(next.message);
    if (error.code === 'XX000') return `closed it as an internal error: ${error.severity} ${error.code} "${error.text}"`;
  }
}

test('serve: clients that connect and never speak do not block others and are closed after authentication_timeout', {
  skip, timeout: trials(2) * 120_000,
}, async (t) => {
  await tally.run(t, 'serve silent clients', trials(2), async ({ index, describe, note }) => {
    describe(`${SILENT_KINDS.length * 3} silent connections (${SILENT_KINDS.join(', ')}) beside a pg_basebackup`);
    const silent: Silent[] = [];
    for (let copy = 0; copy < 3; copy += 1) for (const kind of SILENT_KINDS) silent.push(await openSilent(kind));
    // serve is not blocked by them: a real backup goes through while they sit there
    const dir = `${root}/silent${index}`;
    await pgBasebackupOk(cluster, serve, ['-D', dir, '-X', 'stream', '-c', 'fast']);
    await expectNothingFalselyComplete(cluster, [dir]);
    const closedAfter: Record<string, number[]> = {};
    const problems: string[] = [];
    // all at once: each may take up to the ceiling if serve never closes it
    await Promise.all(silent.map(async ({ kind, client, openedMs }) => {
      const problem = await closedBySilence(kind, client);
      if (problem !== null) problems.push(`${kind}: ${problem}`);
      else (closedAfter[kind] ??= []).push(Date.now() - openedMs);
      client.destroy();
    }));
    if (problems.length > 0) assert.fail(`${problems.length} of ${silent.length} silent connections not closed properly:\n${problems.sort().join('\n')}`);
    note(Object.entries(closedAfter).map(([kind, ms]) => `${kind}: closed after ${ms.join('/')} ms`).join('; '));
    note(`cluster clean after ${await expectClean(cluster, { serves: 1 })} ms`);
    assertServeAlive(serve);
    return 'all closed by serve, backup beside them verified';
  }, () => settle(cluster, { serves: 1 }));
});

/** The most backups a serve ran at once, from its backup-begin / -end / -failed log lines. */
function peakConcurrency(events: readonly ServeEvent[]): number {
  let running = 0;
  let peak = 0;
  const begun = new Set<unknown>();
  for (const event of events) {
    if (event.event === 'backup-begin') {
      begun.add(event['backup']);
      running += 1;
      peak = Math.max(peak, running);
    } else if ((event.event === 'backup-end' || event.event === 'backup-failed') && begun.delete(event['backup'])) {
      running -= 1;
    }
  }
  return peak;
}

test('serve --max-backups 2 with five clients at once, some killed while queued or copying: the rest complete', {
  skip, timeout: trials(2) * 180_000,
}, async (t) => {
  const limited = await startServe(cluster, { extraArgs: ['--max-backups', '2'] });
  try {
    await tally.run(t, 'serve max-backups', trials(2), async ({ index, dice, describe, note }) => {
      const kinds = Array.from({ length: 5 }, () => dice.pick(CLIENT_KINDS));
      const clients = kinds.map((kind, n) => startServeClient(cluster, limited, kind, root, `queue${index}-${n}`, '64M'));
      const victims = clients.filter(() => dice.chance(0.3)).slice(0, 2);
      const atMs = await randomMoment(dice, 4000);
      describe(`${kinds.map((kind) => kind.name).join(', ')}; SIGKILL ${victims.map((victim) => victim.label).join(', ') || 'none'} after ${atMs} ms`);
      for (const victim of victims) await victim.kill();
      const verdicts = [];
      for (const client of clients) verdicts.push(`${client.label} ${await judge(client, !victims.includes(client), limited)}`);
      note(verdicts.join('; '));
      const peak = peakConcurrency(limited.events);
      assert.ok(peak <= 2, `serve ran ${peak} backups at once with --max-backups 2`);
      note(`at most ${peak} at once, ${limited.events.filter((event) => event.event === 'backup-queued').length} queued so far`);
      note(`cluster clean after ${await expectClean(cluster, { serves: 2 })} ms`);
      assertServeAlive(limited);
      return 'queued, never more than 2 at once, survivors verified';
    }, () => settle(cluster, { serves: 2 }));
    assert.ok(limited.events.some((event) => event.event === 'backup-queued'), 'some backup waited its turn');
  } finally {
    await limited.stop();
  }
});

test('fault counts', { skip }, (t) => {
  tally.print(t);
});
