/**
 * Text of the replication commands a backup client sends, with the grammar's quoting: identifiers (slot and
 * GUC names) in double quotes with "" doubled, strings in single quotes with '' doubled (the replication
 * scanner has no backslash escapes). BASE_BACKUP is rendered in the syntax of the server's version, options
 * in the order pg_basebackup uses, so server logs read the same for both tools.
 *
 * Validates what the server cannot: values it would misparse, and option combinations pg_basebackup refuses
 * before sending. Range checks the server also makes are repeated so the user hears about them first.
 */
import { UsageError } from '../errors/index.ts';
import { formatLsn, type Lsn } from '../util/lsn.ts';

/** Mirrors BaseBackupOptions of client/types.ts (the protocol layer does not import the client layer). */
export interface BaseBackupCommandOptions {
  readonly label: string;
  readonly progress: boolean;
  readonly fastCheckpoint: boolean;
  readonly wal: boolean;
  readonly wait: boolean;
  readonly maxRateKbps?: number;
  readonly tablespaceMap: boolean;
  readonly verifyChecksums: boolean;
  readonly manifest: 'no' | 'yes' | 'force-encode';
  readonly manifestChecksums?: string;
  readonly compression?: { readonly method: string; readonly detail?: string };
}

const NEW_SYNTAX_VERSION = 150_000;
const MANIFEST_VERSION = 130_000;
const MAX_RATE_KBPS = { min: 32, max: 1_048_576 } as const;

export function quoteIdentifier(name: string): string {
  rejectNul(name, 'identifier');
  return `"${name.replaceAll('"', '""')}"`;
}

export function quoteLiteral(value: string): string {
  rejectNul(value, 'string');
  return `'${value.replaceAll("'", "''")}'`;
}

export function identifySystemCommand(): string {
  return 'IDENTIFY_SYSTEM';
}

/** `name` may be qualified (`a.b`, a custom GUC); each part is quoted on its own. */
export function showCommand(name: string): string {
  if (name === '' || name.split('.').some((part) => part === '')) {
    throw new UsageError('OPTION_INVALID', `invalid parameter name "${name}"`);
  }
  return `SHOW ${name.split('.').map(quoteIdentifier).join('.')}`;
}

export function timelineHistoryCommand(tli: number): string {
  return `TIMELINE_HISTORY ${checkTimeline(tli)}`;
}

/** 15+ takes options in parentheses; older servers only know the bare keyword (15+ still accept it too). */
export function createPhysicalSlotCommand(
  name: string, options: { readonly temporary: boolean; readonly reserveWal: boolean }, serverVersionNum: number,
): string {
  const parts = ['CREATE_REPLICATION_SLOT', quoteIdentifier(name)];
  if (options.temporary) parts.push('TEMPORARY');
  parts.push('PHYSICAL');
  if (options.reserveWal) parts.push(serverVersionNum >= NEW_SYNTAX_VERSION ? '(RESERVE_WAL)' : 'RESERVE_WAL');
  return parts.join(' ');
}

export function dropReplicationSlotCommand(name: string, wait = false): string {
  return `DROP_REPLICATION_SLOT ${quoteIdentifier(name)}${wait ? ' WAIT' : ''}`;
}

export function startReplicationCommand(options: { readonly slot?: string; readonly startLsn: Lsn; readonly timeline: number }): string {
  const slot = options.slot === undefined ? '' : `SLOT ${quoteIdentifier(options.slot)} `;
  return `START_REPLICATION ${slot}PHYSICAL ${formatLsn(options.startLsn)} TIMELINE ${checkTimeline(options.timeline)}`;
}

export function baseBackupCommand(options: BaseBackupCommandOptions, serverVersionNum: number): string {
  const isNewSyntax = serverVersionNum >= NEW_SYNTAX_VERSION;
  if (options.compression !== undefined && !isNewSyntax) {
    throw new UsageError('OPTION_CONFLICT', 'server does not support server-side compression');
  }
  if (options.manifest === 'no' && options.manifestChecksums !== undefined) {
    throw new UsageError('OPTION_CONFLICT', 'manifest checksums require a backup manifest');
  }
  const maxRate = options.maxRateKbps ?? 0;
  if (maxRate !== 0 && !(Number.isInteger(maxRate) && maxRate >= MAX_RATE_KBPS.min && maxRate <= MAX_RATE_KBPS.max)) {
    throw new UsageError('OPTION_OUT_OF_RANGE', `transfer rate ${maxRate} is out of range (${MAX_RATE_KBPS.min} .. ${MAX_RATE_KBPS.max} kB/s)`);
  }
  // [name, value] pairs in pg_basebackup's order; value undefined means a bare option
  const items: Array<[string, string | undefined]> = [['LABEL', quoteLiteral(options.label)]];
  if (options.progress) items.push(['PROGRESS', undefined]);
  if (options.wal) items.push(['WAL', undefined]);
  if (options.fastCheckpoint) items.push(isNewSyntax ? ['CHECKPOINT', quoteLiteral('fast')] : ['FAST', undefined]);
  if (!options.wait) items.push(isNewSyntax ? ['WAIT', '0'] : ['NOWAIT', undefined]);
  if (maxRate !== 0) items.push(['MAX_RATE', String(maxRate)]);
  if (options.tablespaceMap) items.push(['TABLESPACE_MAP', undefined]);
  if (!options.verifyChecksums) items.push(isNewSyntax ? ['VERIFY_CHECKSUMS', '0'] : ['NOVERIFY_CHECKSUMS', undefined]);
  // like pg_basebackup, manifests are silently dropped for servers that cannot make them
  if (options.manifest !== 'no' && serverVersionNum >= MANIFEST_VERSION) {
    items.push(['MANIFEST', quoteLiteral(options.manifest)]);
    if (options.manifestChecksums !== undefined) items.push(['MANIFEST_CHECKSUMS', quoteLiteral(options.manifestChecksums)]);
  }
  if (!isNewSyntax) return ['BASE_BACKUP', ...items.map(renderItem)].join(' ');
  items.push(['TARGET', quoteLiteral('client')]);
  if (options.compression !== undefined) {
    items.push(['COMPRESSION', quoteLiteral(options.compression.method)]);
    if (options.compression.detail !== undefined) items.push(['COMPRESSION_DETAIL', quoteLiteral(options.compression.detail)]);
  }
  return `BASE_BACKUP (${items.map(renderItem).join(', ')})`;
}

function renderItem([name, value]: [string, string | undefined]): string {
  return value === undefined ? name : `${name} ${value}`;
}

function checkTimeline(tli: number): number {
  if (!Number.isInteger(tli) || tli < 1 || tli > 0xffffffff) {
    throw new UsageError('OPTION_OUT_OF_RANGE', `invalid timeline ${tli}`);
  }
  return tli;
}

function rejectNul(text: string, what: string): void {
  if (text.includes('\0')) throw new UsageError('OPTION_INVALID', `${what} must not contain a NUL character`);
}
