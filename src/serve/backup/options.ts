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

class OptionError extends Error {
  readonly sqlstate: string;

  constructor(sqlstate: string, message: string) {
    super(message);
    this.sqlstate = sqlstate;
  }
}

export function decideBaseBackup(syntax: 'parenthesized' | 'keywords', options: readonly GenericOption[]): BaseBackupDecision {
  if (syntax === 'keywords') return { kind: 'relay', reason: 'the old keyword syntax' };
  const seen = new Map<string, GenericOption>();
  for (const option of options) {
    if (RELAYED_OPTIONS.has(option.name)) return { kind: 'relay', reason: `option ${option.name.toUpperCase()}` };
    if (!KNOWN_OPTIONS.has(option.name)) return { kind: 'relay', reason: `unknown option "${option.name}"` };
    if (seen.has(option.name)) return refuse('42601', `duplicate option "${option.name}"`);
    seen.set(option.name, option);
  }
  try {
    const target = stringOf(seen.get('target'));
    if (target !== null && target.toLowerCase() !== 'client') return { kind: 'relay', reason: `TARGET '${target}'` };
    return { kind: 'perform', request: interpret(seen) };
  } catch (error) {
    if (error instanceof OptionError) return refuse(error.sqlstate, error.message);
    throw error;
  }
}

function interpret(seen: ReadonlyMap<string, GenericOption>): BaseBackupRequest {
  const checkpoint = stringOf(seen.get('checkpoint')) ?? 'spread';
  if (!/^(fast|spread)$/i.test(checkpoint)) throw new OptionError('22023', `unrecognized checkpoint type: "${checkpoint}"`);
  const maxRate = intOf(seen.get('max_rate'));
  if (maxRate !== null && maxRate !== 0 && (maxRate < MAX_RATE_KBPS.min || maxRate > MAX_RATE_KBPS.max)) {
    throw new OptionError('22003', `${maxRate} is outside the valid range for parameter "MAX_RATE" (${MAX_RATE_KBPS.min} .. ${MAX_RATE_KBPS.max})`);
  }
  const manifest = manifestOf(seen.get('manifest'));
  const checksumsText = stringOf(seen.get('manifest_checksums'));
  const manifestChecksums = checksumsText === null ? 'CRC32C' : parseChecksumAlgorithm(checksumsText);
  if (manifestChecksums === null) throw new OptionError('22023', `unrecognized checksum algorithm: "${checksumsText}"`);
  if (checksumsText !== null && manifest === 'no') throw new OptionError('22023', 'manifest checksums require a backup manifest');
  return {
    label: stringOf(seen.get('label')) ?? 'base backup',
    progress: booleanOf(seen.get('progress'), false),
    fastCheckpoint: checkpoint.toLowerCase() === 'fast',
    wal: booleanOf(seen.get('wal'), false),
    waitForArchive: booleanOf(seen.get('wait'), true),
    maxRateKbps: maxRate === null || maxRate === 0 ? null : maxRate,
    tablespaceMap: booleanOf(seen.get('tablespace_map'), false),
    verifyChecksums: booleanOf(seen.get('verify_checksums'), true),
    manifest,
    manifestChecksums,
    compression: compressionOf(seen.get('compression'), seen.get('compression_detail')),
  };
}

function manifestOf(option: GenericOption | undefined): BaseBackupRequest['manifest'] {
  const text = stringOf(option);
  if (text === null) return 'no';
  const lower = text.toLowerCase();
  if (lower === 'force-encode') return 'force-encode';
  if (/^(yes|true|on|1)$/.test(lower)) return 'yes';
  if (/^(no|false|off|0)$/.test(lower)) return 'no';
  throw new OptionError('22023', `unrecognized manifest option: "${text}"`);
}

function compressionOf(method: GenericOption | undefined, detail: GenericOption | undefined): CompressionSpec | null {
  const name = stringOf(method);
  const detailText = stringOf(detail);
  if (name === null || name.toLowerCase() === 'none') {
    if (detailText !== null) throw new OptionError('22023', 'compression detail cannot be specified unless compression is enabled');
    return null;
  }
  const lower = name.toLowerCase();
  if (lower !== 'gzip' && lower !== 'lz4' && lower !== 'zstd') throw new OptionError('22023', `unrecognized compression algorithm: "${name}"`);
  try {
    return parseCompressionSpec(`server-${lower}${detailText === null ? '' : `:${detailText}`}`);
  } catch (error) {
    if (error instanceof ConvoyError) {
      const prefix = 'invalid compression specification: ';
      throw new OptionError('22023', error.message.startsWith(prefix) ? error.message : `${prefix}${error.message}`);
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

function intOf(option: GenericOption | undefined): number | null {
  if (option === undefined) return null;
  if (option.value === null) throw new OptionError('42601', `${option.name} requires a parameter`);
  if (option.value.kind !== 'number') throw new OptionError('42601', `${option.name} requires a numeric value`);
  return Number(option.value.text);
}

function refuse(code: string, message: string): BaseBackupDecision {
  return { kind: 'refuse', error: { severity: 'ERROR', code, message } };
}
