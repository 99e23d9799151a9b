/**
 * `pgconvoy drill DIR` or `pgconvoy drill --repo REPO [--target-...]`: restore the backup into a scratch directory,
 * start the real postgres on it, wait for recovery, run amcheck and the user's --check queries, stop, clean up,
 * report. With --repo the backup and the restore_command are those `restore --repo` would use
 * (src/repository/restore-source.ts), so a drill proves exactly the restore a user would run. The report goes to
 * stdout (or one JSON object with --json); a failed drill also prints one `pgconvoy: error:` line on stderr and
 * exits 1 through setExitStatus (the drill itself ran). The work is in src/drill.
 */
import type { Command } from 'commander';
import type { SettingValue } from '../../cluster/server-files.ts';
import { runDrill, type AmcheckMode, type DrillReport } from '../../drill/index.ts';
import { UsageError } from '../../errors/index.ts';
import type { BackupRecord } from '../../repository/backup-catalog.ts';
import { describeRepositoryBackup, repositoryRestoreSource } from '../../repository/restore-source.ts';
import { pickTarget, type RecoveryTarget } from '../../restore/index.ts';
import type { CliIo } from '../cli-io.ts';
import { formatBytes } from '../format-bytes.ts';
import type { RegisterCommand } from './index.ts';

interface DrillFlags {
  repo?: string;
  targetTime?: string;
  targetLsn?: string;
  targetName?: string;
  targetImmediate?: boolean;
  pgBindir?: string;
  timeout: string;
  check: string[];
  dbname: string;
  username: string;
  keep?: boolean;
  verify: boolean;
  skipChecksums?: boolean;
  restoreCommand?: string;
  amcheck: string;
  heapallindexed?: boolean;
  set: string[];
  json?: boolean;
  verbose?: boolean;
}

const collect = (value: string, previous: string[]): string[] => [...previous, value];
const AMCHECK_MODES: readonly AmcheckMode[] = ['auto', 'pg_amcheck', 'sql', 'off'];

export const registerDrill: RegisterCommand = (program: Command, io: CliIo) => {
  program
    .command('drill')
    .description('prove a backup restores: restore into a scratch directory, start PostgreSQL, run amcheck and checks')
    .helpOption('-?, --help', 'show this help')
    .argument('[dir]', 'backup directory (or --repo)')
    .option('--repo <dir>', 'drill the backup "restore --repo" would choose for the target, WAL from the repository\'s archive')
    .option('--target-time <timestamp>', 'recover up to this time (recovery_target_time)')
    .option('--target-lsn <lsn>', 'recover up to this WAL location (recovery_target_lsn)')
    .option('--target-name <name>', 'recover up to this restore point (recovery_target_name)')
    .option('--target-immediate', 'stop as soon as the restored cluster is consistent (recovery_target = immediate)')
    .option('--pg-bindir <dir>', 'PostgreSQL bin directory to start the backup with (default: found by major version)')
    .option('--timeout <seconds>', 'how long recovery may take', '600')
    .option('--check <sql>', 'SQL that must run without error (and return true, if it returns one boolean); repeatable', collect, [])
    .option('-d, --dbname <name>', 'database for the checks', 'postgres')
    .option('-U, --username <name>', 'role to connect as', 'postgres')
    .option('--keep', 'keep the scratch directory (and the server log in it) afterwards')
    .option('--no-verify', 'do not verify the backup against its manifest first')
    .option('--skip-checksums', 'verify file sizes but not checksums')
    .option('--restore-command <command>', 'fetch WAL from an archive during recovery (restore_command)')
    .option('--amcheck <mode>', 'auto (pg_amcheck if one of the server\'s major or newer exists, else SQL), pg_amcheck, sql or off', 'auto')
    .option('--heapallindexed', 'also check that every heap tuple has its index entries (slower)')
    .option('--set <name=value>', 'server setting for the drill, e.g. shared_buffers=128MB; repeatable', collect, [])
    .option('--json', 'print the report as one JSON object on stdout')
    .option('-v, --verbose', 'print each stage as it starts')
    .action(async (dir: string | undefined, flags: DrillFlags) => {
      const timeoutSeconds = Number(flags.timeout);
      if (!Number.isFinite(timeoutSeconds) || timeoutSeconds <= 0) throw new UsageError('OPTION_OUT_OF_RANGE', `invalid timeout "${flags.timeout}"`);
      const amcheck = AMCHECK_MODES.find((mode) => mode === flags.amcheck);
      if (amcheck === undefined) throw new UsageError('OPTION_INVALID', `invalid amcheck mode "${flags.amcheck}", must be "auto", "pg_amcheck", "sql" or "off"`);
      if (flags.skipChecksums === true && !flags.verify) throw new UsageError('OPTION_CONFLICT', '--skip-checksums and --no-verify cannot be used together');
      const target = pickTarget({
        ...(flags.targetTime === undefined ? {} : { time: flags.targetTime }),
        ...(flags.targetLsn === undefined ? {} : { lsn: flags.targetLsn }),
        ...(flags.targetName === undefined ? {} : { name: flags.targetName }),
        ...(flags.targetImmediate === true ? { immediate: true } : {}),
      });
      let restoreCommand = flags.restoreCommand;
      let chosen: BackupRecord | null = null;
      if (flags.repo !== undefined) {
        if (dir !== undefined) throw new UsageError('OPTION_CONFLICT', 'a backup directory cannot be given with --repo');
        if (restoreCommand !== undefined) throw new UsageError('OPTION_CONFLICT', '--restore-command cannot be used with --repo');
        const source = await repositoryRestoreSource(flags.repo, target);
        for (const warning of source.warnings) io.stderr.write(`pgconvoy: warning: ${warning}\n`);
        chosen = source.backup;
        dir = source.backupDir;
        restoreCommand = source.restoreCommand;
      }
      if (dir === undefined) throw new UsageError('OPTION_INVALID', 'no backup specified', { hint: 'Give a backup directory, or a repository with --repo.' });
      const report = await runDrill(dir, {
        timeoutMs: timeoutSeconds * 1000, checks: flags.check, database: flags.dbname, user: flags.username,
        keep: flags.keep === true, verify: flags.verify, verifyChecksums: flags.skipChecksums !== true, amcheck,
        heapallindexed: flags.heapallindexed === true, settings: parseSettings(flags.set), signal: io.signal,
        ...(flags.pgBindir === undefined ? {} : { pgBindir: flags.pgBindir }),
        ...(restoreCommand === undefined ? {} : { restoreCommand }),
        ...(target === undefined ? {} : { target }),
        ...(flags.verbose === true ? { onStage: (message: string) => io.stderr.write(`pgconvoy: ${message}\n`) } : {}),
      });
      if (flags.json === true) {
        io.stdout.write(`${JSON.stringify({ ...report, ...(chosen === null ? {} : { repositoryBackup: chosen.id }), target: target ?? null })}\n`);
      } else {
        io.stdout.write(`${[...(chosen === null ? [] : [describeRepositoryBackup(chosen)]), ...describeDrill(report, target)].join('\n')}\n`);
      }
      if (report.failure !== null) {
        io.stderr.write(`pgconvoy: error: drill failed at ${report.failure.stage}: ${report.failure.message}\n`);
        io.setExitStatus(1);
      }
    });
};

export function parseSettings(items: readonly string[]): Record<string, SettingValue> {
  const settings: Record<string, SettingValue> = {};
  for (const item of items) {
    const at = item.indexOf('=');
    if (at <= 0) throw new UsageError('OPTION_INVALID', `invalid setting "${item}", must be "NAME=VALUE"`);
    settings[item.slice(0, at).trim()] = item.slice(at + 1).trim();
  }
  return settings;
}

export function describeDrill(report: DrillReport, target?: RecoveryTarget): string[] {
  const verdict = report.ok ? 'PASSED' : `FAILED at ${report.failure?.stage ?? '?'}`;
  const lines = [`drill of "${report.backupDir}": ${verdict} in ${report.seconds.toFixed(1)} s`];
  const row = (name: string, text: string): void => {
    lines.push(`  ${`${name}:`.padEnd(14)} ${text}`);
  };
  if (report.format !== null) {
    row('backup', `${report.format}${report.major === null ? '' : `, PostgreSQL ${report.major}`}${report.bindir === null ? '' : ` (started with "${report.bindir}")`}`);
  }
  if (report.verify !== null) row('verified', `${report.verify.files} files, ${formatBytes(report.verify.bytes)} (${report.verify.seconds.toFixed(1)} s)`);
  else if (report.restoreSeconds !== null) row('verified', 'skipped (--no-verify)');
  if (report.restoreSeconds !== null) {
    row('restored', `in ${report.restoreSeconds.toFixed(1)} s into "${report.scratchDir}" (${report.kept ? 'kept' : 'removed'})`);
  }
  if (target !== undefined) row('target', target.kind === 'immediate' ? 'immediate' : `${target.kind} "${target.value}"`);
  const recovery = report.recovery;
  if (recovery !== null) {
    const consistent = recovery.secondsToConsistency === null ? 'consistency not logged'
      : `consistent after ${recovery.secondsToConsistency.toFixed(2)} s at ${recovery.consistentLsn ?? '?'}`;
    row('recovery', `${consistent}; accepting connections after ${recovery.secondsToReady.toFixed(2)} s${recovery.timeline === null ? '' : `, timeline ${recovery.timeline}`}`);
    row('WAL replayed', recovery.walReplayedBytes === null ? 'unknown'
      : `${formatBytes(recovery.walReplayedBytes)} (${recovery.replayStartLsn}..${recovery.replayEndLsn}: backup start to the last record replayed)`);
  }
  const amcheck = report.amcheck;
  if (amcheck !== null) {
    const how = amcheck.method === 'pg_amcheck' ? `pg_amcheck "${amcheck.tool}"` : `amcheck extension, ${amcheck.relationsChecked ?? 0} relations`;
    row('amcheck', `${amcheck.ok ? 'passed' : 'FAILED'}: ${how}, ${amcheck.databases} databases, ${amcheck.seconds.toFixed(1)} s`);
  }
  report.checks.forEach((check, index) => {
    const value = check.value === null ? `${check.rows} rows` : `-> ${check.value}`;
    row(`check ${index + 1}`, `${check.ok ? 'passed' : 'FAILED'}: ${check.sql} ${check.error === null ? value : `(${check.error})`}`);
  });
  for (const note of report.notes) row('note', note);
  if (report.failure !== null) {
    row('failure', report.failure.message);
    for (const line of report.failure.detail) lines.push(`  ${''.padEnd(14)} ${line}`);
  }
  return lines;
}
