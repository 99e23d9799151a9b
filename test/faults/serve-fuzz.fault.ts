/**
 * A protocol fuzzer against `pgconvoy serve` beside PostgreSQL 15 under a pgbench write load, seeded like every
 * fault trial: thousands of random and mutated frontend messages, before a startup was accepted (fuzz-messages.ts,
 * startupFuzz) and after a real login (sessionMessage), while a real pg_basebackup goes through the same serve.
 *
 * What serve must do with each connection: answer with well-formed backend messages only, refuse with an
 * ErrorResponse or close the connection, never hang on input it can judge (after each batch a Sync and a probe
 * query must be answered, or the connection closed; only a command that started real work, BASE_BACKUP or a relayed
 * START_REPLICATION, may keep it busy, and then the fuzzer walks away mid-copy, another fault), and never crash.
 * Afterwards the backup that ran beside the fuzz and one started after it verify, the cluster holds nothing of
 * serve's but its admin session, and serve's resident memory (VmRSS) stayed within a generous bound of where it
 * started: at most BASELINE + 256 MB, i.e. no growth with the number of connections.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { installFor, psql, startCluster, startPgbench, tmpDir, type PgbenchRun, type TestCluster } from '../integration/harness.ts';
import { pgBasebackup, pgBasebackupOk, startServe, type RunningServe } from '../integration/serve/serve-harness.ts';
import { Dice, expectClean, expectNothingFalselyComplete, FAULT_SEED, FaultTally, rssKb, trials, waitFor } from './fault-kit.ts';
import { LOGIN, PROBE_SQL, sessionMessage, startupFuzz } from './fuzz-messages.ts';
import { errorMessage, frame, query, startupPacket, WireClient, type BackendMessage } from './wire.ts';

const skip = installFor(15) === null ? 'PostgreSQL 15 is not installed' : false;
const tally = new FaultTally();
/** A server that judges what it got answers in milliseconds; this only turns a hang into a message. */
const ANSWER_CEILING_MS = 15_000;
/** How long a busy session (a backup or a stream started) is watched before the fuzzer walks away. */
const BUSY_WATCH_MS = 1_500;
const RSS_HEADROOM_KB = 256 * 1024;
let cluster: TestCluster;
let load: PgbenchRun;
let serve: RunningServe;
let root: string;
let versionNum = '';

before(async () => {
  if (skip !== false) return;
  cluster = await startCluster({ major: 15, settings: { max_wal_size: '64MB', min_wal_size: '32MB', max_connections: 100 } });
  await startPgbench(cluster, { scale: 2, seconds: 1 }).done;
  load = startPgbench(cluster, { clients: 1, seconds: 3600 });
  serve = await startServe(cluster);
  root = await tmpDir('fault-fuzz');
  versionNum = (await psql(cluster, 'SHOW server_version_num'))[0]?.[0] ?? '';
});

after(async () => {
  await serve?.stop('SIGKILL');
  await load?.stop();
  await cluster?.stopAndRemove();
});

type Outcome = string;

/** Reads until the server closes; every message must be well-formed. */
async function untilClosed(client: WireClient): Promise<{ outcome: Outcome; messages: BackendMessage[] }> {
  const messages: BackendMessage[] = [];
  for (;;) {
    const next = await client.read(ANSWER_CEILING_MS);
    if (next.kind === 'closed') return { outcome: messages.some((m) => m.type === 'E') ? 'refused with ErrorResponse' : 'closed', messages };
    if (next.kind === 'garbled') throw new Error(`garbled answer: ${next.why}`);
    if (next.kind === 'idle') throw new Error(`no answer and no close within ${ANSWER_CEILING_MS} ms`);
    messages.push(next.message);
  }
}

/** One connection that never gets past (or only just past) the startup phase. */
async function startupTrial(dice: Dice, counts: { messages: number }): Promise<{ text: string; outcome: Outcome }> {
  const fuzz = startupFuzz(dice);
  counts.messages += fuzz.packets;
  const client = await WireClient.open(serve.host, serve.port);
  try {
    client.send(fuzz.bytes);
    client.halfClose(); // what serve cannot judge yet, our FIN ends
    for (let n = 0; n < fuzz.negotiations; n += 1) {
      const answer = await client.readNegotiationByte(ANSWER_CEILING_MS);
      if (answer === 'S' || answer === 'G') throw new Error(`serve accepted encryption it cannot offer (${answer})`);
      if (answer !== 'N') break;
    }
    const { outcome, messages } = await untilClosed(client);
    const loggedIn = messages.some((m) => m.type === 'Z');
    return { text: fuzz.text, outcome: loggedIn ? 'logged in, closed at our FIN' : outcome };
  } catch (error) {
    throw new Error(`${(error as Error).message} after: ${fuzz.text} (${fuzz.bytes.toString('hex').slice(0, 200)})`);
  } finally {
    client.destroy();
  }
}

/** A real login, then batches of fuzz messages, each followed by Sync and the probe. */
async function sessionTrial(dice: Dice, counts: { messages: number }): Promise<{ text: string; outcome: Outcome }> {
  const client = await WireClient.open(serve.host, serve.port);
  const texts: string[] = [];
  try {
    client.send(startupPacket(LOGIN));
    const login = await readUntil(client, (m) => m.type === 'Z' || m.type === 'E');
    if (login.last?.type !== 'Z') throw new Error(`the real login failed: ${login.last === null ? login.end : errorMessage(login.last).text}`);
    for (let batch = dice.int(1, 6); batch > 0; batch -= 1) {
      const messages = Array.from({ length: dice.int(1, 4) }, () => sessionMessage(dice));
      counts.messages += messages.length;
      texts.push(...messages.map((m) => m.text));
      client.send(Buffer.concat(messages.map((m) => m.bytes)));
      if (messages.some((m) => m.incomplete === true || m.ends === true)) {
        client.halfClose();
        return { text: texts.join(' | '), outcome: (await untilClosed(client)).outcome };
      }
      client.send(Buffer.concat([frame('S'), query(PROBE_SQL)]));
      const busy = messages.some((m) => m.busy === true);
      let probeAnswered = false;
      const answer = await readUntil(client, (m) => {
        if (m.type === 'D' && m.body.toString('utf8', 6) === versionNum) probeAnswered = true;
        return (probeAnswered && m.type === 'Z') || m.type === 'H' || m.type === 'W' || m.type === 'G';
      }, busy ? BUSY_WATCH_MS : ANSWER_CEILING_MS);
      if (answer.end === 'closed') return { text: texts.join(' | '), outcome: 'closed mid-session' };
      if (answer.last !== null && 'HWG'.includes(answer.last.type)) return { text: texts.join(' | '), outcome: 'copy started, walked away' };
      if (answer.end === 'idle') {
        if (busy) return { text: texts.join(' | '), outcome: 'busy with a backup or stream, walked away' };
        throw new Error(`neither the probe's answer nor a close within ${ANSWER_CEILING_MS} ms`);
      }
    }
    client.send(frame('X'));
    await untilClosed(client);
    return { text: texts.join(' | '), outcome: 'every batch answered' };
  } catch (error) {
    throw new Error(`${(error as Error).message} after: ${texts.join(' | ').slice(0, 600)}`);
  } finally {
    client.destroy();
  }
}

/**
 * Idle sessions of the logged-in fuzz clients (application_name "fuzz") still open on the cluster, waiting a few
 * seconds for them to drop to `expected`. Every fuzz client has left by now, so serve should have closed its upstream
 * too: an upstream session waiting for its next command (idle, ClientRead) is one serve forgot. One still running a
 * relayed command is not counted: PostgreSQL notices a closed socket only when it next writes to it.
 */
async function upstreamSessionsLeft(expected: number): Promise<number> {
  let left = 0;
  try {
    await waitFor('the fuzz sessions to end', async () => {
      left = Number((await psql(cluster, "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'fuzz' AND state = 'idle'"))[0]?.[0] ?? 0);
      return left <= expected;
    }, 5_000, 50);
  } catch {
    // reported by the caller: more are left than before
  }
  return left;
}

async function readUntil(client: WireClient, done: (message: BackendMessage) => boolean, idleMs = ANSWER_CEILING_MS):
  Promise<{ last: BackendMessage | null; end: 'done' | 'closed' | 'idle' }> {
  for (;;) {
    const next = await client.read(idleMs);
    if (next.kind === 'garbled') throw new Error(`garbled answer: ${next.why}`);
    if (next.kind === 'closed' || next.kind === 'idle') return { last: null, end: next.kind };
    if (done(next.message)) return { last: next.message, end: 'done' };
  }
}

test('serve under a seeded protocol fuzzer: no crash, refusals or closes only, still serving, memory bounded', {
  skip, timeout: 30 * 60_000,
}, async (t) => {
  t.diagnostic(`fault seed ${FAULT_SEED}`);
  const pid = serve.child.pid as number;
  await pgBasebackupOk(cluster, serve, ['-D', join(root, 'warm-up'), '-X', 'fetch', '-c', 'fast']);
  const baselineKb = await rssKb(pid);
  let peakKb = baselineKb;
  const beside = pgBasebackup(cluster, serve, ['-D', join(root, 'beside'), '-X', 'stream', '-c', 'fast', '-r', '4M', '-l', 'beside the fuzz']);
  const phases = [
    { scenario: 'serve fuzz before startup', connections: trials(3000), counts: { messages: 0 }, run: startupTrial, logsIn: false },
    { scenario: 'serve fuzz after login', connections: trials(250), counts: { messages: 0 }, run: sessionTrial, logsIn: true },
  ];
  let leaked = 0;
  /** Everything wrong, reported together at the end: one run says all it found. */
  const problems: string[] = [];
  for (const phase of phases) {
    const startedMs = Date.now();
    const outcomes: Record<string, number> = {};
    const failures: string[] = [];
    for (let n = 0; n < phase.connections; n += 1) {
      const dice = new Dice((FAULT_SEED ^ Math.imul(n + 1, 0x9e3779b1) ^ (phase.scenario.length << 24)) >>> 0);
      try {
        const { outcome, text } = await phase.run(dice, phase.counts);
        outcomes[outcome] = (outcomes[outcome] ?? 0) + 1;
        if (phase.logsIn) {
          const left = await upstreamSessionsLeft(leaked);
          if (left > leaked) failures.push(`#${n}: its client is gone, but serve keeps its session to the cluster open (${outcome}): ${text.slice(0, 800)}`);
          leaked = left;
        }
      } catch (error) {
        failures.push(`#${n}: ${(error as Error).message}`);
      }
      assert.ok(serve.child.exitCode === null && serve.child.signalCode === null, `serve died at connection ${n} of "${phase.scenario}":\n${serve.log().slice(-4000)}`);
      if (n % 25 === 0) peakKb = Math.max(peakKb, await rssKb(pid));
    }
    tally.count(phase.scenario, phase.connections, phase.connections - failures.length, outcomes);
    t.diagnostic(`${phase.scenario}: ${phase.connections} connections, ${phase.counts.messages} messages in ` +
      `${((Date.now() - startedMs) / 1000).toFixed(1)} s, ${JSON.stringify(outcomes)}; failures: ${failures.length}`);
    if (failures.length > 0) problems.push(`${failures.length} of ${phase.connections} connections of "${phase.scenario}" failed:\n${failures.slice(0, 10).join('\n')}`);
  }
  t.diagnostic(`serve VmRSS ${baselineKb} kB after the warm-up, peak ${peakKb} kB during the fuzz`);

  const besideResult = await beside.result;
  if (besideResult.status !== 0) problems.push(`the backup beside the fuzz failed:\n${besideResult.stderr}`);
  const afterResult = await pgBasebackup(cluster, serve, ['-D', join(root, 'after'), '-X', 'stream', '-c', 'fast']).result;
  if (afterResult.status !== 0) problems.push(`a backup after the fuzz failed:\n${afterResult.stderr}`);
  for (const dir of ['beside', 'after']) {
    const verified = await expectNothingFalselyComplete(cluster, [join(root, dir)]).catch((error: unknown) => { problems.push(String(error)); return []; });
    if (verified.length === 0) problems.push(`no verified backup in "${dir}"`);
  }
  // a mutated CREATE_REPLICATION_SLOT may have lost its TEMPORARY: such a slot is PostgreSQL's doing, not serve's
  const leftover = await psql(cluster, "SELECT slot_name FROM pg_replication_slots WHERE slot_name NOT LIKE 'pgconvoy%' AND slot_name NOT LIKE 'pg_basebackup_%'");
  for (const [name] of leftover) await psql(cluster, `SELECT pg_drop_replication_slot('${(name ?? '').replaceAll("'", "''")}')`);
  if (leftover.length > 0) t.diagnostic(`dropped slots the fuzz created through relayed commands: ${leftover.map(([name]) => name).join(', ')}`);
  if (leaked === 0) {
    await expectClean(cluster, { serves: 1 }).then((ms) => t.diagnostic(`cluster clean after ${ms} ms`), (error: unknown) => problems.push(String(error)));
  } else {
    t.diagnostic(`not waiting for the cluster to be clean: ${leaked} upstream session(s) of departed fuzz clients are still open (above)`);
  }
  peakKb = Math.max(peakKb, await rssKb(pid));
  if (peakKb > baselineKb + RSS_HEADROOM_KB) problems.push(`serve's VmRSS grew from ${baselineKb} kB to ${peakKb} kB`);
  if (problems.length > 0) assert.fail(`FAULT_SEED=${FAULT_SEED}:\n${problems.join('\n\n')}`);
});

test('fault counts', { skip }, (t) => {
  tally.print(t);
});
