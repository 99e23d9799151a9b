/**
 * `pgconvoy restore DIR -D NEWDATA`: a plain or tar backup becomes a new data directory, verified first, with
 * tablespaces relocated (-T) and recovery configured (a target, a restore command, or standby mode). This file
 * only translates the command line into RestoreOptions and the result into text; the work is in src/restore.
 * The summary goes to stdout (or one JSON object with --json), warnings to stderr.
 */
import type { Command } from 'commander';
import { UsageError } from '../../errors/index.ts';
import { parseTablespaceMapping } from '../../backup/option-values.ts';
import { renderSettings } from '../../cluster/server-files.ts';
import { pickTarget, restoreBackup, type RecoveryRequest, type RestoreResult, type TargetAction } from '../../restore/index.ts';
import { formatLsn } from '../../util/lsn.ts';
import type { BackupRecord } from '../../repository/backup-catalog.ts';
import { describeRepositoryBackup, repositoryRestoreSource } from '../../repository/restore-source.ts';
import type { CliIo } from '../cli-io.ts';
import { formatBytes } from '../format-bytes.ts';
import type { RegisterCommand } from './index.ts';

interface RestoreFlags {
  repo?: string;
  pgdata?: string;
  tablespaceMapping: string[];
  targetTime?: string;
  targetLsn?: string;
  targetName?: string;
  targetImmediate?: boolean;
  targetExclusive?: boolean;
  targetAction?: string;
  restoreCommand?: string;
  standby?: boolean;
  primaryConninfo?: string;
  slot?: string;
  owner?: string;
  archive: boolean;
  verify: boolean;
  skipChecksums?: boolean;
  sync: boolean;
  json?: boolean;
}

const collect = (value: string, previous: string[]): string[] => [...previous, value];
const TARGET_ACTIONS: readonly TargetAction[] = ['promote', 'pause', 'shutdown'];

export const registerRestore: RegisterCommand = (program: Command, io: CliIo) => {
  program
    .command('restore')
    .description('restore a plain or tar base backup into a new data directory, with recovery settings')
    .helpOption('-?, --help', 'show this help')
    .argument('[dir]', 'backup directory (or --repo)')
    .option('--repo <dir>', 'restore from this repository: the newest backup that ends before the target, WAL from its archive')
    .option('-D, --pgdata <dir>', 'new data directory (must not exist, or be empty)')
    .option('-T, --tablespace-mapping <old=new>', 'restore the tablespace that was in OLDDIR into NEWDIR; repeatable', collect, [])
    .option('--target-time <timestamp>', 'recover up to this time (recovery_target_time)')
    .option('--target-lsn <lsn>', 'recover up to this WAL location (recovery_target_lsn)')
    .option('--target-name <name>', 'recover up to this restore point (recovery_target_name)')
    .option('--target-immediate', 'stop as soon as the restored cluster is consistent (recovery_target = immediate)')
    .option('--target-exclusive', 'stop just before the target instead of just after it (time and LSN targets)')
    .option('--target-action <action>', 'what to do at the target: promote (default), pause or shutdown')
    .option('--restore-command <command>', 'shell command that fetches archived WAL (restore_command)')
    .option('--standby', 'start as a standby (standby.signal)')
    .option('--primary-conninfo <conninfo>', 'connection string of the primary to stream from (with --standby)')
    .option('-S, --slot <name>', 'replication slot on the primary (primary_slot_name, with --standby)')
    .option('--owner <user>', 'give the restored files to this OS user')
    .option('--no-archive', 'archive_mode = off: a side copy must not archive WAL into the original\'s archive')
    .option('--no-verify', 'restore without checking the backup against its manifest first')
    .option('--skip-checksums', 'verify file sizes but not checksums')
    .option('-N, --no-sync', 'do not wait for the restored files to be written safely to disk')
    .option('--json', 'print the result as one JSON object on stdout')
    .action(async (dir: string | undefined, flags: RestoreFlags) => {
      if (flags.pgdata === undefined || flags.pgdata === '') {
        throw new UsageError('OPTION_INVALID', 'no target directory specified', { hint: 'Give the new data directory with -D.' });
      }
      if (flags.skipChecksums === true && !flags.verify) throw new UsageError('OPTION_CONFLICT', '--skip-checksums and --no-verify cannot be used together');
      const mappings = flags.tablespaceMapping.map(parseTablespaceMapping);
      let request = recoveryRequest(flags);
      let chosen: BackupRecord | null = null;
      if (flags.repo !== undefined) {
        if (dir !== undefined) throw new UsageError('OPTION_CONFLICT', 'a backup directory cannot be given with --repo');
        if (request.restoreCommand !== undefined) throw new UsageError('OPTION_CONFLICT', '--restore-command cannot be used with --repo');
        const source = await repositoryRestoreSource(flags.repo, request.target);
        for (const warning of source.warnings) io.stderr.write(`pgconvoy: warning: ${warning}\n`);
        chosen = source.backup;
        dir = source.backupDir;
        request = { ...request, restoreCommand: source.restoreCommand };
      }
      if (dir === undefined) throw new UsageError('OPTION_INVALID', 'no backup specified', { hint: 'Give a backup directory, or a repository with --repo.' });
      const result = await restoreBackup(dir, {
        targetDir: flags.pgdata,
        tablespaceMapping: new Map(mappings.map((mapping) => [mapping.oldDir, mapping.newDir])),
        recovery: request,
        ...(flags.archive ? {} : { settings: { archive_mode: 'off' } }),
        verify: flags.verify,
        verifyChecksums: flags.skipChecksums !== true,
        sync: flags.sync,
        ...(flags.owner === undefined ? {} : { owner: flags.owner }),
        signal: io.signal,
      });
      for (const warning of result.warnings) io.stderr.write(`pgconvoy: warning: ${warning}\n`);
      if (flags.json === true) io.stdout.write(`${JSON.stringify({ ...restoreJson(result), ...(chosen === null ? {} : { repositoryBackup: chosen.id }) })}\n`);
      else io.stdout.write(`${[...(chosen === null ? [] : [describeRepositoryBackup(chosen)]), ...describeRestore(result)].join('\n')}\n`);
    });
};

function recoveryRequest(flags: RestoreFlags): RecoveryRequest {
  const target = pickTarget({
    ...(flags.targetTime === undefined ? {} : { time: flags.targetTime }),
    ...(flags.targetLsn === undefined ? {} : { lsn: flags.targetLsn }),
    ...(flags.targetName === undefined ? {} : { name: flags.targetName }),
    ...(flags.targetImmediate === true ? { immediate: true } : {}),
  });
  let targetAction: TargetAction | undefined;
  if (flags.targetAction !== undefined) {
    targetAction = TARGET_ACTIONS.find((action) => action === flags.targetAction);
    if (targetAction === undefined) throw new UsageError('OPTION_INVALID', `invalid target action "${flags.targetAction}", must be "promote", "pause" or "shutdown"`);
  }
  return {
    ...(target === undefined ? {} : { target }),
    ...(flags.targetExclusive === true ? { targetExclusive: true } : {}),
    ...(targetAction === undefined ? {} : { targetAction }),
    ...(flags.restoreCommand === undefined ? {} : { restoreCommand: flags.restoreCommand }),
    ...(flags.standby === true ? { standby: true } : {}),
    ...(flags.primaryConninfo === undefined ? {} : { primaryConninfo: flags.primaryConninfo }),
    ...(flags.slot === undefined ? {} : { primarySlotName: flags.slot }),
  };
}

/** The summary: what was verified, written, relocated, staged and configured. */
export function describeRestore(result: RestoreResult): string[] {
  const label = result.label;
  const origin = [
    result.major === null ? null : `PostgreSQL ${result.major}`,
    label === null ? null : `start ${formatLsn(label.startLsn)} on timeline ${label.startTli}`,
  ].filter((part) => part !== null).join(', ');
  const lines = [`restored ${result.format} backup "${result.backupDir}"${origin === '' ? '' : ` (${origin})`} into "${result.targetDir}" in ${result.seconds.toFixed(1)} s`];
  const row = (name: string, text: string): void => {
    lines.push(`  ${`${name}:`.padEnd(12)} ${text}`);
  };
  const verify = result.verify;
  row('verified', verify === null ? 'skipped (--no-verify)'
    : `${verify.filesChecked} files, ${formatBytes(verify.bytesChecked)}${verify.walRanges.some((range) => range.checked) ? ', WAL checked' : ''} (${verify.seconds.toFixed(1)} s)`);
  const modes = `modes ${result.dirMode.toString(8).padStart(4, '0')}/${(result.dirMode & 0o666).toString(8).padStart(4, '0')}`;
  row('written', result.files === null ? `${formatBytes(result.bytes)} of archives extracted, ${modes}` : `${result.files} files, ${formatBytes(result.bytes)} copied, ${modes}`);
  for (const placement of result.tablespaces) row('tablespace', `${placement.oid}: "${placement.to}"${placement.to === placement.from ? '' : ` (was "${placement.from}")`}`);
  if (result.stagedWal !== null) {
    row('WAL', `${result.stagedWal.files} files moved to "${result.stagedWal.dir}"; restore_command copies them back during recovery (delete the directory once recovery has finished)`);
  }
  for (const name of result.removedSignalFiles) row('removed', `${name} carried by the backup`);
  const settings = renderSettings(result.settings).trimEnd().split('\n').filter((line) => line !== '');
  if (result.signalFile !== null) row('recovery', `${result.signalFile}`);
  for (const setting of settings) row('auto.conf', setting);
  if (result.owner !== null) row('owner', `${result.owner.name} (uid ${result.owner.uid}, gid ${result.owner.gid})`);
  return lines;
}

export function restoreJson(result: RestoreResult): Record<string, unknown> {
  return {
    backupDir: result.backupDir,
    targetDir: result.targetDir,
    format: result.format,
    major: result.major,
    startLsn: result.label === null ? null : formatLsn(result.label.startLsn),
    startTli: result.label?.startTli ?? null,
    verified: result.verify === null ? null : { files: result.verify.filesChecked, bytes: result.verify.bytesChecked, seconds: result.verify.seconds },
    tablespaces: result.tablespaces,
    signalFile: result.signalFile,
    removedSignalFiles: result.removedSignalFiles,
    settings: result.settings,
    stagedWal: result.stagedWal,
    owner: result.owner,
    dirMode: result.dirMode.toString(8).padStart(4, '0'),
    files: result.files,
    bytes: result.bytes,
    seconds: result.seconds,
    warnings: result.warnings,
  };
}
