/**
 * Turns what the user asked for (a recovery target, a restore command, standby mode) into what PostgreSQL 12+
 * reads: settings for postgresql.auto.conf and one signal file. Pure; restore-backup.ts writes the result.
 *
 * Rules (PostgreSQL's, checked here so the user hears them before anything is written rather than from a FATAL
 * at startup): at most one recovery target; standby.signal wins over recovery.signal, so standby settings and
 * targeted recovery are separate requests unless both are explicit; recovery.signal without restore_command is
 * FATAL. That last rule is why a target without --restore-command stages the backup's own WAL (wal-staging.ts)
 * and points restore_command at it: the WAL inside the backup is then all recovery has, which is exactly what a
 * PITR restore from a self-contained backup means.
 *
 * Every value is also checked the way the server will check it (target-time.ts for times; LSNs, restore point
 * names and slot names here), because a setting the server refuses is FATAL at startup, after the restore looked
 * successful. Not here: anything about the backup itself.
 */
import { UsageError } from '../errors/index.ts';
import type { SettingValue } from '../cluster/server-files.ts';
import { formatLsn, parseLsn } from '../util/lsn.ts';
import { checkTargetTime } from './target-time.ts';

export type RecoveryTarget =
  | { readonly kind: 'time'; readonly value: string }
  | { readonly kind: 'lsn'; readonly value: string }
  | { readonly kind: 'name'; readonly value: string }
  | { readonly kind: 'immediate' };

export type TargetAction = 'promote' | 'pause' | 'shutdown';

export interface RecoveryRequest {
  readonly target?: RecoveryTarget;
  /** recovery_target_inclusive = off: stop just before the target (time and LSN targets only). */
  readonly targetExclusive?: boolean;
  /** Default 'promote', so the restored cluster opens once it reaches the target. */
  readonly targetAction?: TargetAction;
  readonly restoreCommand?: string;
  readonly standby?: boolean;
  readonly primaryConninfo?: string;
  readonly primarySlotName?: string;
}

export type SignalFile = 'recovery.signal' | 'standby.signal';

export interface RecoveryPlan {
  /** In the order they are written; empty when the backup is to start as it is. */
  readonly settings: Readonly<Record<string, SettingValue>>;
  readonly signalFile: SignalFile | null;
  /** The backup's WAL must be moved to STAGED_WAL_DIR, where `settings.restore_command` finds it. */
  readonly stageWal: boolean;
  readonly warnings: readonly string[];
}

/** Relative to the data directory, which is the working directory of PostgreSQL's startup process. */
export const STAGED_WAL_DIR = 'pg_wal_restore';
export const STAGED_RESTORE_COMMAND = `cp "${STAGED_WAL_DIR}/%f" "%p"`;
/** NAMEDATALEN - 1: PostgreSQL refuses longer restore point and slot names. */
const MAX_NAME_BYTES = 63;

/** Whether the request changes how the restored cluster recovers (otherwise the backup's own files decide). */
export function requestsRecovery(request: RecoveryRequest): boolean {
  return request.target !== undefined || request.restoreCommand !== undefined || request.standby === true;
}

export function planRecovery(request: RecoveryRequest): RecoveryPlan {
  const conflict = (message: string): UsageError => new UsageError('OPTION_CONFLICT', message);
  const { target } = request;
  const isStandby = request.standby === true;
  if (!isStandby && request.primaryConninfo !== undefined) throw conflict('--primary-conninfo requires --standby');
  if (!isStandby && request.primarySlotName !== undefined) throw conflict('--slot requires --standby');
  if (target === undefined && request.targetExclusive === true) throw conflict('--target-exclusive requires a recovery target');
  if (target === undefined && request.targetAction !== undefined) throw conflict('--target-action requires a recovery target');
  if (request.targetExclusive === true && target !== undefined && target.kind !== 'time' && target.kind !== 'lsn') {
    throw conflict('--target-exclusive applies to --target-time and --target-lsn only');
  }
  for (const [name, value] of [['--restore-command', request.restoreCommand], ['--primary-conninfo', request.primaryConninfo], ['--slot', request.primarySlotName]] as const) {
    if (value !== undefined && value.trim() === '') throw new UsageError('OPTION_INVALID', `${name} must not be empty`);
  }
  if (target !== undefined && target.kind !== 'immediate' && target.value.trim() === '') {
    throw new UsageError('OPTION_INVALID', `recovery target ${target.kind} must not be empty`);
  }
  if (request.primarySlotName !== undefined) checkSlotName(request.primarySlotName);

  const settings: Record<string, SettingValue> = {};
  const warnings: string[] = [];
  const stageWal = target !== undefined && request.restoreCommand === undefined && !isStandby;
  if (request.restoreCommand !== undefined) settings['restore_command'] = request.restoreCommand;
  else if (stageWal) settings['restore_command'] = STAGED_RESTORE_COMMAND;
  if (target?.kind === 'time' && !checkTargetTime(target.value).hasZone) {
    warnings.push(`recovery target time "${target.value}" has no time zone: the restored server reads it in its own TimeZone setting`);
  }
  if (target !== undefined) {
    Object.assign(settings, targetSetting(target));
    if (request.targetExclusive === true) settings['recovery_target_inclusive'] = false;
    settings['recovery_target_action'] = request.targetAction ?? 'promote';
  }
  if (request.primaryConninfo !== undefined) settings['primary_conninfo'] = request.primaryConninfo;
  if (request.primarySlotName !== undefined) settings['primary_slot_name'] = request.primarySlotName;
  if (isStandby && request.primaryConninfo === undefined && request.restoreCommand === undefined) {
    warnings.push('standby has neither --primary-conninfo nor --restore-command: it will replay only the WAL in pg_wal and then wait');
  }
  const signalFile: SignalFile | null = isStandby ? 'standby.signal' : requestsRecovery(request) ? 'recovery.signal' : null;
  return { settings, signalFile, stageWal, warnings };
}

function targetSetting(target: RecoveryTarget): Record<string, SettingValue> {
  switch (target.kind) {
    case 'time': return { recovery_target_time: target.value };
    case 'name':
      checkTargetName(target.value);
      return { recovery_target_name: target.value };
    case 'immediate': return { recovery_target: 'immediate' };
    case 'lsn': {
      let lsn: bigint;
      try {
        lsn = parseLsn(target.value);
      } catch {
        throw new UsageError('OPTION_INVALID', `invalid recovery target LSN "${target.value}"`,
          { hint: 'Give a WAL location as two hexadecimal numbers separated by a slash, such as 0/4007D48.' });
      }
      return { recovery_target_lsn: formatLsn(lsn) };
    }
  }
}

function checkTargetName(name: string): void {
  if (Buffer.byteLength(name) > MAX_NAME_BYTES) {
    throw new UsageError('OPTION_INVALID', `recovery target name "${name}" is too long (maximum ${MAX_NAME_BYTES} bytes)`,
      { hint: 'PostgreSQL limits restore point names to 63 bytes, so no restore point can have this name.' });
  }
  // A line break cannot be written into postgresql.auto.conf; pg_create_restore_point names never need one.
  if (/\p{Cc}/u.test(name)) throw new UsageError('OPTION_INVALID', 'recovery target name must not contain control characters');
}

/** PostgreSQL's rule for replication slot names; any other primary_slot_name is FATAL at startup. */
function checkSlotName(name: string): void {
  if (!/^[a-z0-9_]{1,63}$/.test(name)) {
    throw new UsageError('OPTION_INVALID', `invalid replication slot name "${name}"`,
      { hint: 'Slot names contain only lower-case letters, digits and underscores, at most 63 of them.' });
  }
}

/** The single target among the command-line flags; more than one is PostgreSQL's "multiple recovery targets". */
export function pickTarget(flags: { time?: string; lsn?: string; name?: string; immediate?: boolean }): RecoveryTarget | undefined {
  const targets: RecoveryTarget[] = [];
  if (flags.time !== undefined) targets.push({ kind: 'time', value: flags.time });
  if (flags.lsn !== undefined) targets.push({ kind: 'lsn', value: flags.lsn });
  if (flags.name !== undefined) targets.push({ kind: 'name', value: flags.name });
  if (flags.immediate === true) targets.push({ kind: 'immediate' });
  if (targets.length > 1) {
    throw new UsageError('OPTION_CONFLICT', 'multiple recovery targets specified',
      { hint: 'At most one of --target-time, --target-lsn, --target-name, --target-immediate may be given.' });
  }
  return targets[0];
}
