/**
 * BackupPlan: everything one `pgconvoy backup` run will do, validated once, before anything touches the
 * server or the disk. Conflicting options fail here with pg_basebackup's wording, so nothing is half-done.
 */
import { isAbsolute } from 'node:path';
import { UsageError } from '../errors/index.ts';
import type { BaseBackupOptions, ConnectionParams } from '../client/types.ts';
import type { CompressionSpec } from './compression-spec.ts';
import type { TablespaceMapping } from './option-values.ts';

export type WalMethod = 'none' | 'fetch' | 'stream';

/** `-t NAME[:DETAIL]` other than `client`: the server keeps the backup (`server:/dir`, `blackhole`, extensions). */
export interface BackupTarget {
  readonly name: string;
  readonly detail?: string;
}
export type ManifestChecksums = NonNullable<BaseBackupOptions['manifestChecksums']>;

export interface BackupPlan {
  readonly connection: ConnectionParams;
  /** One or more output directories; '-' = the tar on stdout (alone). One server read feeds them all. */
  readonly destinations: readonly string[];
  /** -t: the backup stays on the server; then there are no destinations. */
  readonly target?: BackupTarget;
  /** --waldir: absolute, plain format; the WAL goes there and <dir>/pg_wal is a symlink to it. */
  readonly walDir?: string;
  readonly format: 'plain' | 'tar';
  readonly walMethod: WalMethod;
  readonly fastCheckpoint: boolean;
  readonly label: string;
  readonly estimateSize: boolean;
  readonly maxRateKbps?: number;
  readonly compression: CompressionSpec | null;
  readonly manifest: boolean;
  readonly manifestForceEncode: boolean;
  readonly manifestChecksums?: ManifestChecksums;
  readonly writeRecoveryConf: boolean;
  readonly slot?: string;
  readonly createSlot: boolean;
  readonly useTemporarySlot: boolean;
  readonly tablespaceMappings: readonly TablespaceMapping[];
  readonly verifyChecksums: boolean;
  readonly noClean: boolean;
  readonly sync: boolean;
  readonly statusIntervalMs: number;
}

/** Cross-option checks; each message is the one pg_basebackup prints for the same mistake. */
export function validatePlan(plan: BackupPlan): BackupPlan {
  const conflict = (message: string): never => {
    throw new UsageError('OPTION_CONFLICT', message);
  };
  const target = plan.target;
  if (target !== undefined && plan.destinations.length > 0) conflict('cannot specify both output directory and backup target');
  if (target === undefined && plan.destinations.length === 0) {
    throw new UsageError('OPTION_INVALID', 'no target directory specified', { hint: 'Use -D DIR (it may be given several times), or -t TARGET.' });
  }
  if (target !== undefined) {
    if (plan.compression?.location === 'client') conflict('client-side compression is not possible when a backup target is specified');
    if (plan.walMethod === 'stream') conflict('WAL cannot be streamed when a backup target is specified');
    if (plan.writeRecoveryConf) conflict('recovery configuration cannot be written when a backup target is used');
  }
  if (plan.walDir !== undefined) {
    if (target !== undefined) conflict('WAL directory location cannot be specified along with a backup target');
    if (plan.format !== 'plain') conflict('WAL directory location can only be specified in plain mode');
    if (!isAbsolute(plan.walDir)) throw new UsageError('OPTION_INVALID', 'WAL directory location must be an absolute path');
    if (plan.destinations.length > 1) conflict('WAL directory location cannot be used with several target directories');
  }
  // backup_label holds the label on one line ("LABEL: ..."), and messages print it on one line too.
  if (/[\u0000-\u001f\u007f]/.test(plan.label)) {
    throw new UsageError('OPTION_INVALID', `invalid backup label ${JSON.stringify(plan.label)}: it contains a control character`, {
      hint: 'Use a label on one line without control characters (newlines, tabs, escapes): backup_label stores it as one line.',
    });
  }
  const toStdout = plan.destinations.includes('-');
  if (toStdout && plan.destinations.length > 1) conflict('"-D -" (stdout) cannot be combined with other target directories');
  if (new Set(plan.destinations).size !== plan.destinations.length) conflict('the same target directory was given twice');
  if (toStdout && plan.format !== 'tar') conflict('cannot write to stdout in plain format; use -F tar with -D -');
  if (toStdout && plan.walMethod === 'stream') conflict('cannot stream write-ahead logs in tar mode to stdout');
  if (plan.compression?.location === 'client' && plan.format !== 'tar') conflict('only tar mode backups can be compressed');
  if (plan.slot !== undefined && plan.walMethod !== 'stream') conflict('replication slots can only be used with WAL streaming');
  if (plan.createSlot && plan.slot === undefined) conflict('--create-slot needs a slot to be specified using --slot');
  if (!plan.useTemporarySlot && plan.slot !== undefined) conflict('--no-slot cannot be used with slot name');
  if (!plan.manifest && (plan.manifestChecksums !== undefined || plan.manifestForceEncode)) {
    conflict('--no-manifest and --manifest-checksums / --manifest-force-encode are incompatible options');
  }
  return plan;
}

/** The BASE_BACKUP options pg_basebackup would send for this plan. */
export function baseBackupOptions(plan: BackupPlan, serverVersionNum: number): BaseBackupOptions {
  const manifestSupported = serverVersionNum >= 130000;
  const server = plan.compression?.location === 'server' ? plan.compression : undefined;
  return {
    label: plan.label,
    progress: plan.estimateSize,
    fastCheckpoint: plan.fastCheckpoint,
    wal: plan.walMethod === 'fetch',
    wait: plan.walMethod === 'none',
    ...(plan.maxRateKbps === undefined ? {} : { maxRateKbps: plan.maxRateKbps }),
    tablespaceMap: plan.format === 'tar' || plan.target !== undefined,
    verifyChecksums: plan.verifyChecksums,
    manifest: !plan.manifest || !manifestSupported ? 'no' : plan.manifestForceEncode ? 'force-encode' : 'yes',
    ...(plan.manifestChecksums === undefined || !plan.manifest ? {} : { manifestChecksums: plan.manifestChecksums }),
    ...(server === undefined ? {} : {
      compression: { method: server.method, ...(server.detail === undefined ? {} : { detail: server.detail }) },
    }),
    ...(plan.target === undefined ? {} : { target: plan.target }),
  };
}
