/**
 * The fuzzer's inputs, all drawn from the trial's dice: what a client may send before its startup is accepted
 * (random bytes, lying lengths, startup packets with odd versions and parameters, SSL/GSS/cancel requests, each
 * possibly mutated), and frontend messages after a real login (replication commands, BASE_BACKUP with random and
 * mutated options in both syntaxes, SQL, extended-protocol and copy messages out of place, unknown types, bodies
 * that lie about their length, frames over serve's 1 MB limit).
 *
 * Each message says what the server may legitimately do with it, so the fuzzer can tell a refusal from a hang:
 * `incomplete` (the length promises more than is sent: only our FIN ends the wait), `ends` (Terminate), `busy` (a
 * command that may start real work: a backup through serve, or a relayed START_REPLICATION).
 * Commands never create a permanent slot on purpose (CREATE_REPLICATION_SLOT always says TEMPORARY before any
 * mutation); the fuzz file drops any slot a mutation still made.
 */
import type { Dice } from './fault-kit.ts';
import {
  CANCEL_REQUEST_CODE, cstring, frame, GSSENC_REQUEST_CODE, int32, PROTOCOL_3_0, query, SSL_REQUEST_CODE, startupPacket,
} from './wire.ts';

export interface FuzzMessage {
  readonly bytes: Buffer;
  readonly text: string;
  readonly incomplete?: boolean;
  readonly ends?: boolean;
  readonly busy?: boolean;
}

/** The probe after every batch; the generator never sends it itself. */
export const PROBE_SQL = 'SHOW server_version_num';

/** Flips, inserts, deletes, duplicates or truncates a few bytes of `input`. */
export function mutate(dice: Dice, input: Buffer): Buffer {
  let bytes = Buffer.from(input);
  for (let n = dice.int(1, 3); n > 0; n -= 1) {
    const at = dice.int(0, Math.max(0, bytes.length - 1));
    switch (dice.int(0, 5)) {
      case 0: if (bytes.length > 0) bytes[at] = (bytes[at] as number) ^ dice.int(1, 255); break;
      case 1: bytes = Buffer.concat([bytes.subarray(0, at), dice.bytes(dice.int(1, 8)), bytes.subarray(at)]); break;
      case 2: bytes = Buffer.concat([bytes.subarray(0, at), bytes.subarray(at + dice.int(1, 8))]); break;
      case 3: bytes = Buffer.concat([bytes.subarray(0, at), bytes.subarray(at, at + dice.int(1, 16)), bytes.subarray(at)]); break;
      case 4: bytes = bytes.subarray(0, at); break;
      default: if (bytes.length > 0) bytes[at] = dice.pick([0x00, 0x27, 0x22, 0x28, 0x29, 0x2c, 0x5c, 0xff, 0x0a]); break;
    }
  }
  return bytes;
}

const BASE_BACKUP_OPTIONS: ReadonlyArray<(dice: Dice) => string> = [
  (dice) => `LABEL '${dice.pick(['fuzz', '', "it''s", 'x'.repeat(dice.int(1, 2000)), 'ünï', 'a\nb'])}'`,
  () => 'PROGRESS',
  (dice) => `CHECKPOINT '${dice.pick(['fast', 'fast', 'slow', ''])}'`,
  () => 'WAL',
  (dice) => `WAIT ${dice.pick(['0', '1', 'false', 'maybe'])}`,
  (dice) => `COMPRESSION '${dice.pick(['gzip', 'lz4', 'zstd', 'none', 'brotli'])}'`,
  (dice) => `COMPRESSION_DETAIL '${dice.pick(['level=1', 'level=99', 'workers=2', 'long', 'level=', ''])}'`,
  (dice) => `MAX_RATE ${dice.pick(['32', '31', '1048576', '1048577', '-1', '0', '99999999999999999999', '1e3'])}`,
  () => 'TABLESPACE_MAP',
  (dice) => `VERIFY_CHECKSUMS ${dice.pick(['0', '1', 'on', 'off'])}`,
  (dice) => `MANIFEST '${dice.pick(['yes', 'no', 'force-encode', 'perhaps'])}'`,
  (dice) => `MANIFEST_CHECKSUMS '${dice.pick(['CRC32C', 'SHA256', 'SHA512', 'none', 'md5'])}'`,
  (dice) => `TARGET '${dice.pick(['client', 'blackhole', 'server', 'nowhere'])}'`,
  () => 'INCREMENTAL',
  (dice) => `${dice.pick(['NOWAIT', 'FAST', 'NOVERIFY_CHECKSUMS', 'BOGUS'])}`,
];

/** A BASE_BACKUP command: new syntax with a random option list, or the old bare-word one. */
function baseBackupCommand(dice: Dice): string {
  const count = dice.int(0, 5);
  let options = Array.from({ length: count }, () => (dice.pick(BASE_BACKUP_OPTIONS))(dice));
  if (options.some((option) => /^TARGET '(blackhole|server)'|^INCREMENTAL/.test(option))) {
    // serve relays these to the cluster, whose walsender would then run a throttled backup to its end (at 32 kB/s,
    // many minutes) whether or not anyone still listens: PostgreSQL's own behaviour, not serve's to judge here
    options = options.filter((option) => !option.startsWith('MAX_RATE'));
  } else {
    // backups serve performs itself: never a spread start checkpoint (it would hold the session for minutes after the
    // fuzzer left, as PostgreSQL's walsender would too), mostly throttled to a crawl so the fuzzer leaves mid-copy
    if (!options.some((option) => option.startsWith('CHECKPOINT') || option === 'FAST')) options.push("CHECKPOINT 'fast'");
    if (dice.chance(0.7)) options.push(`MAX_RATE ${dice.pick(['32', '64'])}`);
  }
  if (dice.chance(0.5)) return `BASE_BACKUP (${options.join(', ')})`;
  return `BASE_BACKUP ${options.map((option) => option.replace(/^CHECKPOINT 'fast'/, 'FAST')).join(' ')}`;
}

const REPLICATION_COMMANDS: ReadonlyArray<(dice: Dice) => string> = [
  () => 'IDENTIFY_SYSTEM',
  (dice) => `SHOW ${dice.pick(['wal_segment_size', 'data_directory_mode', 'nonexistent', '"weird name"', ''])}`,
  (dice) => `TIMELINE_HISTORY ${dice.pick(['1', '2', '0', '-1', 'x'])}`,
  (dice) => `READ_REPLICATION_SLOT ${dice.pick(['fuzz_slot', 'pgconvoy_serve_1', '"x"'])}`,
  (dice) => `CREATE_REPLICATION_SLOT fuzz_${dice.int(0, 99)} TEMPORARY PHYSICAL${dice.chance(0.5) ? ' RESERVE_WAL' : ''}`,
  (dice) => `DROP_REPLICATION_SLOT ${dice.pick(['fuzz_1', 'pgconvoy_serve_1', 'nope'])}${dice.chance(0.3) ? ' WAIT' : ''}`,
  (dice) => `START_REPLICATION ${dice.pick(['0/0', '0/1000000', 'FF/0', 'x'])} TIMELINE ${dice.pick(['1', '2'])}`,
  (dice) => dice.pick(['SELECT 1', 'BEGIN', 'SELECT pg_backup_start(\'x\')', 'CHECKPOINT', '', ';', 'UPLOAD_MANIFEST']),
];

function queryText(dice: Dice): string {
  for (;;) {
    const text = dice.chance(0.45) ? baseBackupCommand(dice) : (dice.pick(REPLICATION_COMMANDS))(dice);
    if (text !== PROBE_SQL) return text;
  }
}

const isBusy = (text: string): boolean => /BASE_BACKUP|START_REPLICATION/i.test(text);

/** Message types a frontend may send, and some it may not. */
const TYPE_LETTERS = 'QXSHPBEDCFfdcp'.split('');

/** One frontend message for a logged-in session. */
export function sessionMessage(dice: Dice): FuzzMessage {
  const roll = dice.unit();
  if (roll < 0.4) {
    const text = queryText(dice);
    return { bytes: query(text), text: `Q ${JSON.stringify(text.slice(0, 60))}`, busy: isBusy(text) };
  }
  if (roll < 0.6) {
    // a mutated Query: its body may lose the NUL, gain invalid UTF-8, or (if the length is mutated too) lie
    const text = queryText(dice);
    const body = mutate(dice, cstring(text));
    if (dice.chance(0.8)) return { bytes: frame('Q', body), text: `Q (mutated) ${JSON.stringify(body.toString('latin1').slice(0, 60))}`, busy: isBusy(body.toString('latin1')) };
    return lyingFrame(dice, 'Q', body);
  }
  if (roll < 0.75) {
    const type = dice.pick(TYPE_LETTERS);
    const body = dice.bytes(dice.int(0, 40));
    return { bytes: frame(type, body), text: `${type} with ${body.length} random bytes`, ends: type === 'X' };
  }
  if (roll < 0.85) {
    const type = String.fromCharCode(dice.int(0, 255));
    const body = dice.bytes(dice.int(0, 20));
    return { bytes: frame(type, body), text: `type 0x${type.charCodeAt(0).toString(16)} with ${body.length} random bytes`, ends: type === 'X' };
  }
  if (roll < 0.95) return lyingFrame(dice, dice.pick(TYPE_LETTERS), dice.bytes(dice.int(0, 30)));
  // over serve's 1 MB frame limit: the header says so before any body arrives
  const length = dice.int(1024 * 1024 + 5, 256 * 1024 * 1024);
  return { bytes: Buffer.concat([Buffer.from(dice.pick(TYPE_LETTERS)), int32(length), dice.bytes(64)]), text: `frame of length ${length}`, incomplete: true };
}

/** A frame whose length field does not match its body: too short (0 to 3 is invalid outright) or too long. */
function lyingFrame(dice: Dice, type: string, body: Buffer): FuzzMessage {
  const truth = body.length + 4;
  const length = dice.pick([0, 1, 3, truth - 1, truth + 1, truth + dice.int(2, 5000), -1, 0x7fffffff]);
  const bytes = Buffer.concat([Buffer.from(type, 'latin1'), int32(length), body]);
  return { bytes, text: `${type} claiming length ${length} for ${body.length} bytes`, incomplete: length > truth || length < 0 };
}

/** Real login parameters for the post-startup sessions. */
export const LOGIN: ReadonlyArray<readonly [string, string]> = [['user', 'postgres'], ['database', 'postgres'], ['replication', 'true'], ['application_name', 'fuzz']];

export interface StartupFuzz {
  readonly bytes: Buffer;
  readonly text: string;
  /** Packets (or runs of random bytes) in it. */
  readonly packets: number;
  /** How many negotiation requests (SSL, GSS) lead the bytes: each may get a one-byte answer. */
  readonly negotiations: number;
}

/** What a client may send before its startup is accepted. */
export function startupFuzz(dice: Dice): StartupFuzz {
  const parts: Buffer[] = [];
  const texts: string[] = [];
  for (let n = dice.int(1, 3); n > 0; n -= 1) {
    const roll = dice.unit();
    if (roll < 0.2) {
      const code = dice.chance(0.6) ? SSL_REQUEST_CODE : GSSENC_REQUEST_CODE;
      parts.push(Buffer.concat([int32(8), int32(code)]));
      texts.push(code === SSL_REQUEST_CODE ? 'SSLRequest' : 'GSSENCRequest');
    } else if (roll < 0.3) {
      parts.push(Buffer.concat([int32(16), int32(CANCEL_REQUEST_CODE), dice.bytes(8)]));
      texts.push('CancelRequest with a random key');
    } else if (roll < 0.5) {
      const bytes = dice.bytes(dice.int(1, 64));
      parts.push(bytes);
      texts.push(`${bytes.length} random bytes`);
    } else if (roll < 0.6) {
      const length = dice.pick([0, 3, 4, 7, 8, 9, 10_001, 0x7fffffff, -8]);
      parts.push(Buffer.concat([int32(length), dice.bytes(dice.int(0, 24))]));
      texts.push(`packet claiming length ${length}`);
    } else {
      const version = dice.pick([PROTOCOL_3_0, PROTOCOL_3_0, PROTOCOL_3_0 + 1, PROTOCOL_3_0 + 2, 2 << 16, 1234 << 16 | 5678, 0]);
      const parameters = startupParameters(dice);
      const packet = startupPacket(parameters, version);
      const mutated = dice.chance(0.6);
      parts.push(mutated ? mutate(dice, packet) : packet);
      texts.push(`${mutated ? 'mutated ' : ''}startup v${version >>> 16}.${version & 0xffff} ${parameters.map(([name]) => name).join(',')}`);
    }
  }
  const bytes = Buffer.concat(parts);
  return { bytes, text: texts.join(' + '), packets: parts.length, negotiations: leadingNegotiations(bytes) };
}

/** Negotiation requests at the very start of `bytes` (counted on the bytes: a mutation may have emptied a packet before one). */
function leadingNegotiations(bytes: Buffer): number {
  let count = 0;
  for (let at = 0; at + 8 <= bytes.length && bytes.readInt32BE(at) === 8; at += 8) {
    const code = bytes.readInt32BE(at + 4);
    if (code !== SSL_REQUEST_CODE && code !== GSSENC_REQUEST_CODE) break;
    count += 1;
  }
  return count;
}

function startupParameters(dice: Dice): Array<[string, string]> {
  const parameters: Array<[string, string]> = [];
  if (dice.chance(0.9)) parameters.push(['user', dice.pick(['postgres', 'postgres', 'nobody', '', 'x'.repeat(dice.int(64, 300))])]);
  if (dice.chance(0.5)) parameters.push(['database', dice.pick(['postgres', 'replication', 'nope'])]);
  if (dice.chance(0.8)) parameters.push(['replication', dice.pick(['true', 'true', 'database', 'false', 'on', 'yes', 'garbage', ''])]);
  if (dice.chance(0.3)) parameters.push(['application_name', dice.bytes(dice.int(0, 40)).toString('latin1').replaceAll('\0', '')]);
  if (dice.chance(0.2)) parameters.push(['options', dice.pick(['-c work_mem=1MB', '-c wal_sender_timeout=1', '--foo', '-c'])]);
  if (dice.chance(0.2)) parameters.push([dice.pick(['_pq_.x', 'client_encoding', 'bogus', '']), dice.pick(['UTF8', 'SQL_ASCII', 'x', ''])]);
  return parameters;
}
