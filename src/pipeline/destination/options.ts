/**
 * What one backup destination is asked to produce, in pg_basebackup's terms, and the checks that refuse impossible
 * combinations before any byte is written (UsageError, as pg_basebackup refuses them at startup).
 */
import type { Writable } from 'node:stream';
import { isAbsolute } from 'node:path';
import { UsageError } from '../../errors/index.ts';
import type { CompressionMethod } from '../compression/filter.ts';

export interface ClientCompression {
  readonly method: CompressionMethod;
  /** gzip 1-9, lz4 1-12 (accepted, see lz4-frame-encoder.ts), zstd's range; omitted = the method's default. */
  readonly level?: number;
}

export interface DestinationOptions {
  /** Output directory (created with parents if missing, must be empty if it exists), or '-' for a tar on stdout. */
  readonly dir: string;
  readonly format: 'plain' | 'tar';
  /** Client-side compression of the written archives; tar format only. */
  readonly clientCompression: ClientCompression | null;
  /** The compression BASE_BACKUP asked the server for (archives then arrive as .tar.gz/.lz4/.zst). */
  readonly serverCompression: CompressionMethod | null;
  /** -T old=new, both absolute; plain format only (ignored for tar, as pg_basebackup does). */
  readonly tablespaceMapping: ReadonlyMap<string, string>;
  /** -R: lines appended to postgresql.auto.conf (each ending in a newline), plus an empty standby.signal. */
  readonly recoveryConf: { readonly autoConfLines: string } | null;
  readonly walMethod: 'none' | 'fetch' | 'stream';
  /** Whether BASE_BACKUP will send a backup manifest. */
  readonly manifest: boolean;
  /** The server's data_directory_mode: directories get it, files 0600 or 0640. */
  readonly dataDirectoryMode: 0o700 | 0o750;
  /** fsync everything before backup_manifest appears, and streamed WAL segment by segment (-N turns it off). */
  readonly sync: boolean;
  /** -n: on failure leave what was written (but never a backup_manifest). */
  readonly noClean: boolean;
  /** Where '-' writes; defaults to process.stdout. */
  readonly stdout?: Writable;
  /** --waldir: absolute directory (plain format) that receives the WAL, with <dir>/pg_wal a symlink to it. */
  readonly walDir?: string | null;
  /** Told of every directory the destination creates and claims, as each happens (the cleanup guardian's list). */
  readonly onClaim?: (event: ClaimEvent) => void;
}

/**
 * `creating`: the destination is about to make this directory, and does not own it yet. A run killed before it
 * claims the directory leaves it empty, and an empty directory is all the guardian may remove for it.
 * `claimed`: the directory is this run's, and it supersedes `creating` for the same path.
 */
export type ClaimEvent = { readonly type: 'creating'; readonly dir: string } | ({ readonly type: 'claimed' } & ClaimedDir);

/** A directory a destination claimed; `backupDir` is its -D, whose backup_manifest says the backup is complete. */
export interface ClaimedDir {
  readonly dir: string;
  readonly wasCreated: boolean;
  readonly backupDir: string;
}

export const STDOUT_DIR = '-';

const LEVEL_RANGE: Record<CompressionMethod, readonly [number, number]> = { gzip: [1, 9], lz4: [1, 12], zstd: [-131072, 22] };

export function validateDestinationOptions(options: DestinationOptions): void {
  const conflict = (message: string, hint?: string): UsageError =>
    new UsageError('OPTION_CONFLICT', message, hint === undefined ? {} : { hint });
  const toStdout = options.dir === STDOUT_DIR;
  if (options.dir === '') throw new UsageError('OPTION_INVALID', 'no target directory specified');
  if (toStdout && options.format !== 'tar') throw conflict('can only write to stdout in tar format');
  if (toStdout && options.walMethod === 'stream') throw conflict('cannot stream write-ahead logs in tar mode to stdout', 'Use -X none or -X fetch.');
  if (options.clientCompression !== null) {
    if (options.format !== 'tar') throw conflict('only tar mode backups can be compressed');
    if (options.serverCompression !== null) throw conflict('cannot compress on both the client and the server');
    const { method, level } = options.clientCompression;
    const [low, high] = LEVEL_RANGE[method];
    if (level !== undefined && (!Number.isInteger(level) || level < low || level > high)) {
      throw new UsageError('OPTION_OUT_OF_RANGE', `compression algorithm "${method}" expects a compression level between ${low} and ${high}`);
    }
  }
  if (toStdout && options.manifest && options.serverCompression !== null) {
    throw conflict('cannot inject manifest into a compressed tar file',
      'Use client-side compression, send the output to a directory rather than standard output, or use --no-manifest.');
  }
  if (options.format === 'tar' && options.recoveryConf !== null && options.serverCompression !== null) {
    throw conflict('cannot inject recovery configuration into a compressed tar file', 'Use client-side compression or plain format.');
  }
  if (options.dataDirectoryMode !== 0o700 && options.dataDirectoryMode !== 0o750) {
    throw new UsageError('OPTION_INVALID', `invalid data directory mode ${(options.dataDirectoryMode as number).toString(8)}`);
  }
  const walDir = options.walDir ?? null;
  if (walDir !== null && options.format !== 'plain') throw conflict('WAL directory location can only be specified in plain mode');
  if (walDir !== null && !isAbsolute(walDir)) throw new UsageError('OPTION_INVALID', 'WAL directory location must be an absolute path');
  for (const [from, to] of options.tablespaceMapping) {
    if (!isAbsolute(from)) throw new UsageError('OPTION_INVALID', `old directory is not an absolute path in tablespace mapping: ${from}`);
    if (!isAbsolute(to)) throw new UsageError('OPTION_INVALID', `new directory is not an absolute path in tablespace mapping: ${to}`);
  }
}
