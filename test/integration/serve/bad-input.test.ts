/**
 * Bad input against the real `pgconvoy serve` beside a PostgreSQL 15 cluster, from a raw TCP client: garbage and
 * lying lengths before the startup packet, unknown protocol versions, connections that are not physical
 * replication, malformed and truncated messages, oversized and negative lengths, messages out of place, unknown
 * replication commands and syntax errors, BASE_BACKUP with bad options. One cluster and one serve for the file.
 *
 * Each case says what serve must answer (each ErrorResponse as severity and SQLSTATE, whether the connection then
 * closes) and what PostgreSQL answers to the same bytes, sent to the cluster's own port: the same (compared live,
 * message text included), the same SQLSTATE in other words, or a difference on purpose, with the reason. A case
 * that leaves the session usable (ReadyForQuery after the error) is followed by IDENTIFY_SYSTEM, which must work.
 *
 * Then serve's memory: its RSS after some 300 more bad connections, against its RSS after one warm-up round, may not
 * grow by more than a generous bound (memory, not time: nothing here bounds time). Last, serve keeps serving: a
 * session opened before all this still works, a real pg_basebackup through serve succeeds, serve's process is
 * alive, and it left nothing on the cluster.
 */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { MAX_FRONTEND_FRAME_BYTES } from '../../../src/protocol/decode-frontend.ts';
import { createRole, startCluster, tmpDir, type TestCluster } from '../harness.ts';
import {
  CANCEL_REQUEST_CODE, dataRowValues, errorFields, frame, header, int32, login, query, RawConnection, SSL_REQUEST_CODE, startupPacket,
  TERMINATE, type BackendMessage,
} from './raw-client.ts';
import { expectClusterClean, pgBasebackupOk, startServe, type RunningServe } from './serve-harness.ts';

const LOGIN = { user: 'postgres', replication: 'true', application_name: 'pgconvoy-bad-input' } as const;
const PROTOCOL = (major: number, minor: number): number => (major << 16) | minor;
const SSL_REQUEST = Buffer.concat([int32(8), int32(SSL_REQUEST_CODE)]);
const PASSWORD_ROLE = 'bad_input_pw';
const MEMORY_CONNECTIONS = 300;
const RSS_GROWTH_BOUND_BYTES = 64 * 1024 * 1024;

interface Expected {
  /** Each ErrorResponse, in order, as "SEVERITY SQLSTATE". */
  readonly errors: readonly string[];
  /** The server closes the connection (after a FATAL, or without a word); otherwise it stays at ReadyForQuery. */
  readonly closes: boolean;
}

interface Case {
  readonly name: string;
  /** A real replication login (postgres, trust) first; the bytes follow its ReadyForQuery. */
  readonly afterLogin?: boolean;
  readonly bytes: readonly Buffer[];
  /** The bytes start with SSLRequest: the first byte back is its one-byte answer. */
  readonly encryptionRequest?: boolean;
  /** After sending: wait for the answer (default), half-close first, or close at once (nothing to read). */
  readonly then?: 'wait' | 'half-close' | 'close';
  readonly serve: Expected & { readonly text?: RegExp; readonly logged?: RegExp };
  /**
   * PostgreSQL's answer to the same bytes: 'same' (everything compared, message text included), 'same-code' (in
   * other words), or its own outcome where serve differs on purpose; `skip` where it cannot be compared.
   */
  readonly postgres: 'same' | 'same-code' | (Expected & { readonly why: string }) | { readonly skip: string };
}

/** What came back, reduced to what the cases compare. */
interface Outcome {
  readonly answerByte: string | null;
  readonly errors: readonly string[];
  readonly texts: readonly string[];
  /** Message types after the login, authentication requests, ParameterStatus and BackendKeyData left out. */
  readonly types: string;
  readonly closed: boolean;
  readonly leftoverBytes: number;
  /** Bodies of NegotiateProtocolVersion messages, in hex. */
  readonly negotiations: readonly string[];
}

const SILENT_CLOSE = { errors: [], closes: true } as const;
const usableAfter = (...errors: string[]): Expected => ({ errors, closes: false });
const fatal = (code: string): Expected => ({ errors: [`FATAL ${code}`], closes: true });
const baseBackup = (name: string, sql: string, code: string, text: RegExp, postgres: Case['postgres'] = 'same'): Case =>
  ({ name, afterLogin: true, bytes: [query(sql)], serve: { ...usableAfter(`ERROR ${code}`), text }, postgres });

const CASES: readonly Case[] = [
  // before and in the startup packet
  {
    name: 'an HTTP request instead of a startup packet', bytes: [Buffer.from('GET / HTTP/1.1\r\nHost: x\r\n\r\n')],
    serve: { ...fatal('08P01'), text: /^invalid length of startup packet$/ },
    postgres: { ...SILENT_CLOSE, why: 'PostgreSQL only logs "invalid length of startup packet" (COMMERROR); serve says it to the client too' },
  },
  {
    name: 'a startup packet of absurd length (2^31-1)', bytes: [int32(0x7fff_ffff), int32(PROTOCOL(3, 0))],
    serve: { ...fatal('08P01'), text: /^invalid length of startup packet$/ },
    postgres: { ...SILENT_CLOSE, why: 'logged only, as above' },
  },
  {
    name: 'a startup packet of length 4', bytes: [int32(4), int32(PROTOCOL(3, 0))],
    serve: { ...fatal('08P01'), text: /^invalid length of startup packet$/ },
    postgres: { ...SILENT_CLOSE, why: 'logged only, as above' },
  },
  {
    name: 'a startup packet of negative length', bytes: [int32(-8), int32(PROTOCOL(3, 0))],
    serve: { ...fatal('08P01'), text: /^invalid length of startup packet$/ },
    postgres: { ...SILENT_CLOSE, why: 'logged only, as above' },
  },
  {
    name: 'a startup packet without its terminating empty name', bytes: [int32(8 + 14), int32(PROTOCOL(3, 0)), Buffer.from('user\0postgres\0')],
    serve: { ...fatal('08P01'), text: /^invalid startup packet layout: expected terminator as last byte$/ }, postgres: 'same',
  },
  {
    name: 'a truncated startup packet, then half-close', bytes: [int32(100), int32(PROTOCOL(3, 0)), Buffer.from('user\0')], then: 'half-close',
    serve: SILENT_CLOSE, postgres: 'same',
  },
  {
    name: 'a truncated startup packet, then close', bytes: [int32(100), int32(PROTOCOL(3, 0)), Buffer.from('user\0')], then: 'close',
    serve: SILENT_CLOSE, postgres: 'same',
  },
  {
    name: 'protocol version 4.0', bytes: [startupPacket(LOGIN, PROTOCOL(4, 0))],
    serve: { ...fatal('0A000'), text: /^unsupported frontend protocol 4\.0: server supports 3\.0 to 3\.0$/ }, postgres: 'same',
  },
  {
    name: 'protocol version 1234.5677 (no such request code)', bytes: [startupPacket(LOGIN, PROTOCOL(1234, 5677))],
    serve: { ...fatal('0A000'), text: /^unsupported frontend protocol 1234\.5677/ }, postgres: 'same',
  },
  {
    name: 'protocol version 2.0', bytes: [startupPacket(LOGIN, PROTOCOL(2, 0))],
    serve: { ...fatal('0A000'), text: /^unsupported frontend protocol 2\.0/ },
    postgres: { skip: 'PostgreSQL answers a 2.0 client in the old protocol\'s format (no length), which serve does not speak' },
  },
  {
    name: 'protocol version 3.9: NegotiateProtocolVersion 3.0, then the login goes on', bytes: [startupPacket(LOGIN, PROTOCOL(3, 9))],
    serve: usableAfter(), postgres: 'same',
  },
  {
    name: 'an unknown protocol option (_pq_.frob): NegotiateProtocolVersion names it', bytes: [startupPacket({ ...LOGIN, '_pq_.frob': 'on' })],
    serve: usableAfter(), postgres: 'same',
  },
  {
    name: 'SSLRequest with unencrypted bytes right behind it', bytes: [SSL_REQUEST, startupPacket(LOGIN)], encryptionRequest: true,
    serve: { ...fatal('08P01'), text: /^received unencrypted data after SSL request$/ }, postgres: 'same',
  },
  {
    name: 'a CancelRequest of the wrong length', bytes: [int32(12), int32(CANCEL_REQUEST_CODE), int32(7)],
    serve: { ...fatal('08P01'), text: /^invalid length of query cancel packet$/ },
    postgres: { ...SILENT_CLOSE, why: 'logged only, as above' },
  },
  {
    name: 'a CancelRequest with a key nobody has', bytes: [int32(16), int32(CANCEL_REQUEST_CODE), int32(7), int32(8)],
    serve: SILENT_CLOSE, postgres: 'same',
  },
  {
    name: 'no user name', bytes: [startupPacket({ replication: 'true' })],
    serve: { ...fatal('28000'), text: /^no PostgreSQL user name specified in startup packet$/ }, postgres: 'same',
  },
  // not a physical replication connection
  {
    name: 'no replication parameter (a SQL session)', bytes: [startupPacket({ user: 'postgres' })],
    serve: { ...fatal('0A000'), text: /^pgconvoy serve accepts only physical replication connections$/ },
    postgres: { ...usableAfter(), why: 'the cluster runs SQL sessions; serve only relays physical replication' },
  },
  {
    name: 'replication=false', bytes: [startupPacket({ user: 'postgres', replication: 'false' })],
    serve: { ...fatal('0A000'), text: /^pgconvoy serve accepts only physical replication connections$/ },
    postgres: { ...usableAfter(), why: 'as above' },
  },
  {
    name: 'replication=database (logical replication)', bytes: [startupPacket({ user: 'postgres', replication: 'database' })],
    serve: { ...fatal('0A000'), text: /^pgconvoy serve accepts only physical replication connections$/ },
    postgres: { ...usableAfter(), why: 'the cluster has logical walsenders; serve has nothing to add to them' },
  },
  {
    name: 'replication=maybe', bytes: [startupPacket({ user: 'postgres', replication: 'maybe' })],
    serve: { ...fatal('22023'), text: /^invalid value for parameter "replication": "maybe"$/ }, postgres: 'same',
  },
  {
    name: 'replication=y (parse_bool takes any prefix of yes)', bytes: [startupPacket({ user: 'postgres', replication: 'y' })],
    serve: usableAfter(), postgres: 'same',
  },
  // during the login
  {
    name: 'a Query where the SCRAM answer belongs', bytes: [startupPacket({ user: PASSWORD_ROLE, replication: 'true' }), query('IDENTIFY_SYSTEM')],
    serve: { ...fatal('08P01'), text: /^expected password response, got message type 81$/ },
    postgres: 'same-code', // "expected SASL response, ..."
  },
  // malformed, out-of-place and truncated messages after the login
  {
    name: 'a Query without its terminating NUL', afterLogin: true, bytes: [frame('Q', Buffer.from('IDENTIFY_SYSTEM'))],
    serve: { ...usableAfter('ERROR 08P01'), text: /^invalid string in message$/ }, postgres: 'same',
  },
  {
    name: 'a Query with bytes after its NUL', afterLogin: true, bytes: [frame('Q', Buffer.from('IDENTIFY_SYSTEM\0junk\0'))],
    serve: { ...usableAfter('ERROR 08P01'), text: /^invalid message format$/ }, postgres: 'same',
  },
  {
    name: 'a message type that does not exist (0x01)', afterLogin: true, bytes: [frame('\x01', Buffer.from('xx'))],
    serve: { ...fatal('08P01'), text: /^invalid frontend message type 1$/ }, postgres: 'same',
  },
  {
    name: 'a PasswordMessage after the login', afterLogin: true, bytes: [frame('p', Buffer.from('secret\0'))],
    serve: { ...fatal('08P01'), text: /^invalid frontend message type 112$/ }, postgres: 'same',
  },
  {
    name: 'Parse and Sync (the extended protocol)', afterLogin: true, bytes: [frame('P', Buffer.from('\0SELECT 1\0\0\0')), frame('S')],
    serve: { ...usableAfter('ERROR 08P01'), text: /^extended query protocol not supported in a replication connection$/ }, postgres: 'same',
  },
  {
    // the walsender discards everything after the refused Parse until Sync, this BASE_BACKUP included: serve must
    // relay it for the walsender to discard, not perform it (nor wait for a ReadyForQuery that never comes)
    name: 'Parse, then a BASE_BACKUP, then Sync (the BASE_BACKUP is discarded, as by the walsender)', afterLogin: true,
    bytes: [frame('P', Buffer.from('\0SELECT 1\0\0\0')), query("BASE_BACKUP (LABEL 'discarded')"), frame('S')],
    serve: usableAfter('ERROR 08P01'), postgres: 'same',
  },
  {
    // the refusal waits for IDENTIFY_SYSTEM's ReadyForQuery, which can no longer reach the client: the wait must end
    // with the client, or the upstream walsender is left behind (the last test finds the cluster clean)
    name: 'IDENTIFY_SYSTEM and a BASE_BACKUP serve refuses, in one write, then close', afterLogin: true,
    bytes: [query('IDENTIFY_SYSTEM'), query("BASE_BACKUP (PROGRESS 'maybe')")], then: 'close',
    serve: SILENT_CLOSE, postgres: 'same',
  },
  {
    name: 'CopyData, CopyDone and CopyFail outside any COPY (ignored), then IDENTIFY_SYSTEM', afterLogin: true,
    bytes: [frame('d', Buffer.from('zz')), frame('c'), frame('f', Buffer.from('no\0')), query('IDENTIFY_SYSTEM')],
    serve: usableAfter(), postgres: 'same',
  },
  {
    // read as a typed message: type 0, then a length of 19456 taken from the packet's own length and version
    name: 'a second StartupMessage after the login, then half-close', afterLogin: true, bytes: [startupPacket(LOGIN)], then: 'half-close',
    serve: SILENT_CLOSE,
    postgres: {
      ...fatal('08P01'),
      why: 'PostgreSQL refuses the type byte before it reads the length ("invalid frontend message type 0"); serve relays whole ' +
        'frames only, so it waits for the 19456 bytes announced, and closes when the client does',
    },
  },
  {
    name: 'Terminate with a body', afterLogin: true, bytes: [frame('X', Buffer.from('x'))],
    serve: SILENT_CLOSE, postgres: 'same',
  },
  {
    name: 'a truncated Query, then half-close', afterLogin: true, bytes: [header('Q', 100), Buffer.from('IDENT')], then: 'half-close',
    serve: SILENT_CLOSE, postgres: 'same',
  },
  {
    name: 'a truncated message header, then half-close', afterLogin: true, bytes: [Buffer.from('Q\0\0')], then: 'half-close',
    serve: SILENT_CLOSE, postgres: 'same',
  },
  {
    name: 'a truncated Query, then close', afterLogin: true, bytes: [header('Q', 100), Buffer.from('IDENT')], then: 'close',
    serve: SILENT_CLOSE, postgres: 'same',
  },
  {
    name: 'a Query of the largest length serve takes, a part of it, then close', afterLogin: true,
    bytes: [header('Q', MAX_FRONTEND_FRAME_BYTES + 4), Buffer.alloc(64 * 1024, 0x41)], then: 'close',
    serve: SILENT_CLOSE, postgres: 'same',
  },
  // lengths
  {
    name: 'a message length of 3', afterLogin: true, bytes: [header('Q', 3)],
    serve: { ...SILENT_CLOSE, logged: /^invalid message length 3 for message type "Q"$/ },
    postgres: 'same', // PostgreSQL too only logs "invalid message length"
  },
  {
    name: 'a negative message length', afterLogin: true, bytes: [header('Q', -5)],
    serve: { ...SILENT_CLOSE, logged: /^invalid message length -5 for message type "Q"$/ }, postgres: 'same',
  },
  {
    name: 'a message length of 2^31-1 (over PostgreSQL\'s 1 GB too)', afterLogin: true, bytes: [header('Q', 0x7fff_ffff)],
    serve: { ...SILENT_CLOSE, logged: /^message of type "Q" is too large/ }, postgres: 'same',
  },
  {
    name: 'a message length just over MAX_FRONTEND_FRAME_BYTES', afterLogin: true, bytes: [header('Q', MAX_FRONTEND_FRAME_BYTES + 5)],
    serve: { ...SILENT_CLOSE, logged: /^message of type "Q" is too large/ },
    postgres: { skip: 'PostgreSQL takes a Query of up to 1 GB and waits for the body' },
  },
  // replication commands
  {
    name: 'FROBNICATE (not a replication command: SQL, which a physical walsender refuses)', afterLogin: true, bytes: [query('FROBNICATE')],
    serve: { ...usableAfter('ERROR 0A000'), text: /^cannot execute SQL commands in WAL sender for physical replication$/ }, postgres: 'same',
  },
  {
    name: 'IDENTIFY_SYSTEM with trailing words (a syntax error)', afterLogin: true, bytes: [query('IDENTIFY_SYSTEM now')],
    serve: { ...usableAfter('ERROR 42601'), text: /^syntax error$/ }, postgres: 'same',
  },
  {
    name: 'BASE_BACKUP with an unclosed option list', afterLogin: true, bytes: [query('BASE_BACKUP (')],
    serve: { ...usableAfter('ERROR 42601'), text: /^syntax error$/ }, postgres: 'same',
  },
  // BASE_BACKUP's options
  baseBackup('an unknown option', 'BASE_BACKUP (FROBNICATE 1)', '42601', /^unrecognized base backup option: "frobnicate"$/),
  baseBackup('a duplicate option', "BASE_BACKUP (LABEL 'a', LABEL 'b')", '42601', /^duplicate option "label"$/),
  baseBackup('MAX_RATE 1, below the minimum', 'BASE_BACKUP (MAX_RATE 1)', '22003', /^1 is outside the valid range for parameter "MAX_RATE" \(32 \.\. 1048576\)$/),
  baseBackup('MAX_RATE 0', 'BASE_BACKUP (MAX_RATE 0)', '22003', /^0 is outside the valid range for parameter "MAX_RATE"/),
  baseBackup('MAX_RATE without a value', 'BASE_BACKUP (MAX_RATE)', '42601', /^max_rate requires a numeric value$/),
  baseBackup('CHECKPOINT \'slow-ish\'', "BASE_BACKUP (CHECKPOINT 'slow-ish')", '42601', /^unrecognized checkpoint type: "slow-ish"$/),
  baseBackup('MANIFEST_CHECKSUMS \'md5\'', "BASE_BACKUP (MANIFEST 'yes', MANIFEST_CHECKSUMS 'md5')", '42601', /^unrecognized checksum algorithm: "md5"$/),
  baseBackup('MANIFEST_CHECKSUMS without a manifest', "BASE_BACKUP (MANIFEST_CHECKSUMS 'SHA256')", '42601', /^manifest checksums require a backup manifest$/),
  baseBackup('MANIFEST \'maybe\'', "BASE_BACKUP (MANIFEST 'maybe')", '42601', /^unrecognized manifest option: "maybe"$/),
  baseBackup('PROGRESS \'maybe\'', "BASE_BACKUP (PROGRESS 'maybe')", '42601', /^progress requires a Boolean value$/),
  baseBackup('COMPRESSION \'GZIP\' (names are case-sensitive)', "BASE_BACKUP (COMPRESSION 'GZIP')", '42601', /^unrecognized compression algorithm: "GZIP"$/),
  baseBackup('a gzip level of 99', "BASE_BACKUP (COMPRESSION 'gzip', COMPRESSION_DETAIL 'level=99')", '42601',
    /^invalid compression specification: compression algorithm "gzip" expects a compression level between 1 and 9/,
    'same-code'), // PostgreSQL adds "(default at -1)"
  baseBackup('the first bad option in the order given is the one reported', "BASE_BACKUP (CHECKPOINT 'bad', LABEL 'a', LABEL 'b')", '42601',
    /^unrecognized checkpoint type: "bad"$/),
  baseBackup('TARGET \'nowhere\' (relayed: the cluster says what it knows of targets)', "BASE_BACKUP (TARGET 'nowhere')", '0A000',
    /^unrecognized target: "nowhere"$/),
  baseBackup('the old keyword syntax (relayed: 15 no longer parses it)', "BASE_BACKUP LABEL 'x' FAST", '42601', /^syntax error$/),
];

let cluster: TestCluster;
let serve: RunningServe;
let systemIdentifier: string;
/** A session opened before any bad input and left idle: serve must still answer it at the end. */
let bystander: RawConnection;

before(async () => {
  cluster = await startCluster({ major: 15 });
  await createRole(cluster, PASSWORD_ROLE, { password: 'not-sent', replication: true });
  serve = await startServe(cluster);
  const direct = await login(cluster.host, cluster.port, LOGIN);
  systemIdentifier = (await identifySystem(direct, 'IDENTIFY_SYSTEM on the cluster'))[0] as string;
  direct.destroy();
  bystander = await login(serve.host, serve.port, LOGIN);
});

after(async () => {
  bystander?.destroy();
  await serve?.stop();
  await cluster?.stopAndRemove();
});

/** Sends IDENTIFY_SYSTEM and returns its one row; fails on anything but RowDescription, DataRow, CommandComplete, ReadyForQuery. */
async function identifySystem(connection: RawConnection, what: string): Promise<Array<string | null>> {
  connection.send(query('IDENTIFY_SYSTEM'));
  const answer = await connection.readUntil('Z', what);
  assert.equal(answer.map((message) => message.type).join(''), 'TDCZ', `${what}: ${describe(answer)}`);
  return dataRowValues(answer[1] as BackendMessage);
}

function describe(messages: readonly BackendMessage[]): string {
  return messages.map((message) => (message.type === 'E' ? `E(${errorFields(message).get('C')} ${errorFields(message).get('M')})` : message.type)).join(' ');
}

async function exchange(host: string, port: number, bad: Case): Promise<{ outcome: Outcome; connection: RawConnection }> {
  const connection = bad.afterLogin === true ? await login(host, port, LOGIN) : await RawConnection.open(host, port);
  if (bad.encryptionRequest === true) connection.sendEncryptionRequest(...bad.bytes);
  else connection.send(...bad.bytes);
  if (bad.then === 'close') {
    connection.destroy();
    return { outcome: { answerByte: null, errors: [], texts: [], types: '', closed: true, leftoverBytes: 0, negotiations: [] }, connection };
  }
  if (bad.then === 'half-close') connection.halfClose();
  const answerByte = bad.encryptionRequest === true ? await connection.answerByte(bad.name) : null;
  const answer = await connection.readUntil('Z', bad.name);
  const errors = answer.filter((message) => message.type === 'E').map(errorFields);
  for (const fields of errors) assert.ok((fields.get('M') ?? '') !== '' && fields.has('S') && fields.has('C'), `${bad.name}: a readable ErrorResponse`);
  return {
    outcome: {
      answerByte,
      errors: errors.map((fields) => `${fields.get('S') ?? ''} ${fields.get('C') ?? ''}`),
      texts: errors.map((fields) => fields.get('M') ?? ''),
      types: answer.map((message) => message.type).filter((type) => !'RSK'.includes(type)).join(''),
      closed: answer.at(-1)?.type !== 'Z',
      leftoverBytes: connection.leftoverBytes,
      negotiations: answer.filter((message) => message.type === 'v').map((message) => message.body.toString('hex')),
    },
    connection,
  };
}

/** One case against serve, with every check; the connection is closed afterwards, and serve's log line waited for. */
async function againstServe(bad: Case): Promise<Outcome> {
  const logFrom = serve.events.length;
  const { outcome, connection } = await exchange(serve.host, serve.port, bad);
  try {
    const expected = bad.serve;
    assert.deepEqual({ errors: outcome.errors, closes: outcome.closed }, { errors: expected.errors, closes: expected.closes },
      `${bad.name}: serve answered ${outcome.types} ${JSON.stringify(outcome.texts)}`);
    if (expected.text !== undefined) for (const text of outcome.texts) assert.match(text, expected.text, bad.name);
    assert.equal(outcome.leftoverBytes, 0, `${bad.name}: serve sent a partial message`);
    if (bad.encryptionRequest === true) assert.equal(outcome.answerByte, 'N', `${bad.name}: the answer to SSLRequest comes first`);
    if (expected.logged !== undefined) {
      const pattern = expected.logged;
      await serve.waitForEvent((event) => serve.events.indexOf(event) >= logFrom && event.event === 'connection-error' && pattern.test(String(event['error'])));
    }
    if (!outcome.closed) {
      const row = await identifySystem(connection, `${bad.name}: IDENTIFY_SYSTEM after it`);
      assert.equal(row[0], systemIdentifier, `${bad.name}: the cluster's system identifier`);
      connection.send(TERMINATE);
      await connection.untilClosed(`${bad.name}: the close after Terminate`);
    }
  } finally {
    connection.destroy();
  }
  return outcome;
}

async function againstPostgres(bad: Case): Promise<Outcome> {
  const { outcome, connection } = await exchange(cluster.host, cluster.port, bad);
  connection.destroy();
  return outcome;
}

test('each bad input: serve\'s answer, and PostgreSQL 15\'s to the same bytes', { timeout: 600_000 }, async (t) => {
  for (const bad of CASES) {
    await t.test(bad.name, async (st) => {
      const fromServe = await againstServe(bad);
      const postgres = bad.postgres;
      if (typeof postgres === 'object' && 'skip' in postgres) {
        st.diagnostic(`not compared with PostgreSQL: ${postgres.skip}`);
        return;
      }
      const fromPostgres = await againstPostgres(bad);
      const compared = (outcome: Outcome, withText: boolean): object => ({
        answerByte: outcome.answerByte, errors: outcome.errors, closed: outcome.closed, types: outcome.types,
        negotiations: outcome.negotiations, ...(withText ? { texts: outcome.texts } : {}),
      });
      if (postgres === 'same' || postgres === 'same-code') {
        const withText = postgres === 'same';
        assert.deepEqual(compared(fromServe, withText), compared(fromPostgres, withText), `${bad.name}: serve and PostgreSQL differ`);
        if (!withText) st.diagnostic(`same SQLSTATE, other words: serve ${JSON.stringify(fromServe.texts)}, PostgreSQL ${JSON.stringify(fromPostgres.texts)}`);
      } else {
        assert.deepEqual({ errors: fromPostgres.errors, closes: fromPostgres.closed }, { errors: postgres.errors, closes: postgres.closes },
          `${bad.name}: PostgreSQL answered ${fromPostgres.types} ${JSON.stringify(fromPostgres.texts)}`);
        st.diagnostic(`serve differs on purpose: ${postgres.why}`);
      }
    });
  }
});

async function rssBytes(): Promise<number> {
  const status = await readFile(`/proc/${serve.child.pid ?? 0}/status`, 'utf8');
  const match = /^VmRSS:\s+(\d+) kB$/m.exec(status);
  assert.ok(match !== null, 'VmRSS in /proc/<serve>/status');
  return Number(match[1]) * 1024;
}

test(`serve's memory stays flat over ${MEMORY_CONNECTIONS} more bad connections`, { timeout: 900_000 }, async (t) => {
  for (const bad of CASES) await againstServe(bad);
  const warmRss = await rssBytes();
  let connections = 0;
  while (connections < MEMORY_CONNECTIONS) {
    for (const bad of CASES) await againstServe(bad);
    connections += CASES.length;
  }
  const finalRss = await rssBytes();
  const mib = (bytes: number): string => (bytes / 1024 / 1024).toFixed(1);
  t.diagnostic(`serve RSS after the warm-up round ${mib(warmRss)} MiB, after ${connections} more bad connections ${mib(finalRss)} MiB (${finalRss >= warmRss ? '+' : ''}${mib(finalRss - warmRss)} MiB)`);
  assert.ok(finalRss - warmRss <= RSS_GROWTH_BOUND_BYTES,
    `serve's RSS grew by ${mib(finalRss - warmRss)} MiB over ${connections} bad connections (bound ${mib(RSS_GROWTH_BOUND_BYTES)} MiB)`);
});

test('serve keeps serving: the session opened first still works, pg_basebackup succeeds, serve is alive, the cluster is clean', { timeout: 300_000 }, async () => {
  const row = await identifySystem(bystander, 'IDENTIFY_SYSTEM on the session opened before the bad input');
  assert.equal(row[0], systemIdentifier);
  bystander.send(TERMINATE);
  await bystander.untilClosed('the bystander\'s close');
  await pgBasebackupOk(cluster, serve, ['-D', join(await tmpDir('serve-bad-input'), 'b'), '-X', 'fetch', '-c', 'fast']);
  assert.equal(serve.child.exitCode, null, 'serve is still running');
  assert.equal(serve.child.signalCode, null, 'serve is still running');
  assert.equal(serve.events.filter((event) => event.event === 'backup-begin').length, 1, 'bad input started no backup');
  await expectClusterClean(cluster, 5_000, true);
});
