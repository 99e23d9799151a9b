/**
 * BASE_BACKUP's options as PostgreSQL 15+ interprets them (parse_basebackup_options and defGetBoolean / String /
 * Int64), with its error messages and SQLSTATEs, deciding for each command whether serve performs it, answers
 * an error itself, or relays it to the cluster unchanged.
 *
 * Relayed, so the client still gets its backup (without the shared read) or PostgreSQL's own words: the old
 * keyword syntax (15+ servers answer it with a syntax error), TARGET other than 'client', INCREMENTAL, and any
 * option name serve does not know (a newer server may).
 */
import type { ServerErrorFields } from '../../errors/index.ts';
import { parseChecksumAlgorithm, type ChecksumAlgorithm } from '../../manifest/checksum.ts';
import type { GenericOption } from '../../protocol/replication-grammar.ts';
import { parseCompressionSpec, type CompressionSpec } from '../../backup/compression-spec.ts';
import { ConvoyError } from '../../errors/index.ts';
import { parseBool } from '../../protocol/parse-bool.ts';

export interface BaseBackupRequest {
  readonly label: string;
  readonly progress: boolean;
  readonly fastCheckpoint: boolean;
  readonly wal: boolean;
  readonly waitForArchive: boolean;
  /** kB/s; null = unlimited. */
  readonly maxRateKbps: number | null;
  readonly tablespaceMap: boolean;
  readonly verifyChecksums: boolean;
  readonly manifest: 'no' | 'yes' | 'force-encode';
  readonly manifestChecksums: ChecksumAlgorithm;
  readonly compression: CompressionSpec | null;
}

export type BaseBackupDecision =
  | { readonly kind: 'perform'; readonly request: BaseBackupRequest }
  | { readonly kind: 'relay'; readonly reason: string }
  | { readonly kind: 'refuse'; readonly error: ServerErrorFields };

const MAX_RATE_KBPS = { min: 32, max: 1_048_576 } as const;
const RELAYED_OPTIONS = new Set(['incremental', 'target_detail']);
const KNOWN_OPTIONS = new Set([
  'label', 'progress', 'checkpoint', 'wal', 'wait', 'max_rate', 'tablespace_map', 'verify_checksums', 'manifest',
  'manifest_checksums', 'target', 'compression', 'compression_detail',
]);
/** parse_compress_algorithm's names, matched exactly (case-sensitive, unlike the checkpoint type). */
const COMPRESSION_ALGORITHMS = new Set(['none', 'gzip', 'lz4', 'zstd']);

class OptionError extends Error {
  readonly sqlstate: string;

  constructor(sqlstate: string, message: string) {
    super(message);
    this.sqlstate = sqlstate;
  }
}

/**
 * PostgreSQL checks the options one by one in the order given, each for a duplicate and then for its value, and
 * only then what the options say together; serve checks in the same order, so the first error is the same.
 * Every error is 42601 (ERRCODE_SYNTAX_ERROR) there, but MAX_RATE's range, which is 22003.
 */
export function decideBaseBackup(syntax: 'parenthesized' | 'keywords', options: readonly GenericOption[]): BaseBackupDecision {
  if (syntax === 'keywords') return { kind: 'relay', reason: 'the old keyword syntax' };
  for (const option of options) {
    if (RELAYED_OPTIONS.has(option.name)) return { kind: 'relay', reason: `option ${option.name.toUpperCase()}` };
    if (!KNOWN_OPTIONS.has(option.name)) return { kind: 'relay', reason: `unknown option "${option.name}"` };
  }
  try {
    const seen = new Map<string, GenericOption>();
    for (const option of options) {
      if (seen.has(option.name)) throw new OptionError('42601', `duplicate option "${option.name}"`);
      checkValue(option);
      seen.set(option.name, option);
    }
    const manifest = manifestOf(seen.get('manifest'));
    if (seen.has('manifest_checksums') && manifest === 'no') throw new OptionError('42601', 'manifest checksums require a backup manifest');
    const target = stringOf(seen.get('target'));
    if (target !== null && target !== 'client') return { kind: 'relay', reason: `TARGET '${target}'` };
    return { kind: 'perform', request: interpret(seen, manifest) };
  } catch (error) {
    if (error instanceof OptionError) return refuse(error.sqlstate, error.message);
    throw error;
  }
}

/** The checks PostgreSQL makes on one option as it meets it. */
function checkValue(option: GenericOption): void {
  switch (option.name) {
    case 'progress': case 'wal': case 'wait': case 'tablespace_map': case 'verify_checksums':
      booleanOf(option, false);
      return;
    case 'checkpoint': {
      const checkpoint = stringOf(option) as string;
      if (!/^(fast|spread)$/i.test(checkpoint)) throw new OptionError('42601', `unrecognized checkpoint type: "${checkpoint}"`);
      return;
    }
    case 'max_rate': {
      // 0 too: pg_basebackup leaves MAX_RATE out for "unlimited", and PostgreSQL refuses 0
      const maxRate = intOf(option) as number;
      if (maxRate < MAX_RATE_KBPS.min || maxRate > MAX_RATE_KBPS.max) {
        throw new OptionError('22003', `${maxRate} is outside the valid range for parameter "MAX_RATE" (${MAX_RATE_KBPS.min} .. ${MAX_RATE_KBPS.max})`);
      }
      return;
    }
    case 'manifest':
      manifestOf(option);
      return;
    case 'manifest_checksums': {
      const text = stringOf(option) as string;
      if (parseChecksumAlgorithm(text) === null) throw new OptionError('42601', `unrecognized checksum algorithm: "${text}"`);
      return;
    }
    case 'compression': {
      const name = stringOf(option) as string;
      if (!COMPRESSION_ALGORITHMS.has(name)) throw new OptionError('42601', `unrecognized compression algorithm: "${name}"`);
      return;
    }
    default: // label, target, compression_detail: any string
      stringOf(option);
  }
}

/** The request from options already checked one by one. */
function interpret(seen: ReadonlyMap<string, GenericOption>, manifest: BaseBackupRequest['manifest']): BaseBackupRequest {
  const maxRate = intOf(seen.get('max_rate'));
  return {
    label: stringOf(seen.get('label')) ?? 'base backup',
    progress: booleanOf(seen.get('progress'), false),
    fastCheckpoint: (stringOf(seen.get('checkpoint')) ?? 'spread').toLowerCase() === 'fast',
    wal: booleanOf(seen.get('wal'), false),
    waitForArchive: booleanOf(seen.get('wait'), true),
    maxRateKbps: maxRate,
    tablespaceMap: booleanOf(seen.get('tablespace_map'), false),
    verifyChecksums: booleanOf(seen.get('verify_checksums'), true),
    manifest,
    manifestChecksums: parseChecksumAlgorithm(stringOf(seen.get('manifest_checksums')) ?? 'CRC32C') as ChecksumAlgorithm,
    compression: compressionOf(seen.get('compression'), seen.get('compression_detail')),
  };
}

/** parse_bool's spellings, or force-encode in any case. */
function manifestOf(option: GenericOption | undefined): BaseBackupRequest['manifest'] {
  const text = stringOf(option);
  if (text === null) return 'no';
  const wanted = parseBool(text);
  if (wanted !== null) return wanted ? 'yes' : 'no';
  if (text.toLowerCase() === 'force-encode') return 'force-encode';
  throw new OptionError('42601', `unrecognized manifest option: "${text}"`);
}

/** COMPRESSION 'none' is an algorithm like the others: it too refuses a detail, as a compression specification. */
function compressionOf(method: GenericOption | undefined, detail: GenericOption | undefined): CompressionSpec | null {
  const name = stringOf(method);
  const detailText = stringOf(detail);
  if (name === null) {
    if (detailText !== null) throw new OptionError('42601', 'compression detail cannot be specified unless compression is enabled');
    return null;
  }
  try {
    return parseCompressionSpec(`server-${name}${detailText === null ? '' : `:${detailText}`}`);
  } catch (error) {
    if (error instanceof ConvoyError) {
      const prefix = 'invalid compression specification: ';
      throw new OptionError('42601', error.message.startsWith(prefix) ? error.message : `${prefix}${error.message}`);
    }
    throw error;
  }
}

/** defGetBoolean: no value is true; 0/1; true/false/on/off in any case (yes/no are not booleans here). */
function booleanOf(option: GenericOption | undefined, fallback: boolean): boolean {
  if (option === undefined) return fallback;
  if (option.value === null) return true;
  const text = option.value.text.toLowerCase();
  if (option.value.kind === 'number' ? text === '1' : /^(true|on)$/.test(text)) return true;
  if (option.value.kind === 'number' ? text === '0' : /^(false|off)$/.test(text)) return false;
  throw new OptionError('42601', `${option.name} requires a Boolean value`);
}

function stringOf(option: GenericOption | undefined): string | null {
  if (option === undefined) return null;
  if (option.value === null) throw new OptionError('42601', `${option.name} requires a parameter`);
  return option.value.text;
}

/** defGetInt64: a missing value is "requires a numeric value" too, unlike defGetString's "requires a parameter". */
function intOf(option: GenericOption | undefined): number | null {
  if (option === undefined) return null;
  if (option.value === null || option.value.kind !== 'number') throw new OptionError('42601', `${option.name} requires a numeric value`);
  return Number(option.value.text);
}

function refuse(code: string, message: string): BaseBackupDecision {
  return { kind: 'refuse', error: { severity: 'ERROR', code, message } };
}
