/**
 * `pgconvoy backup`: pg_basebackup's options and habits, plus `-D` given several times (one server read,
 * several complete backups) and `--json`. This file only translates the command line into a BackupPlan and
 * the engine's results into text; the work is in src/backup.
 */
import type { Command } from 'commander';
import { AbortError, ConvoyError, UsageError } from '../../errors/index.ts';
import { connect } from '../../client/connection.ts';
import { resolveConnectionParams } from '../../client/conninfo.ts';
import { parseCompressionSpec } from '../../backup/compression-spec.ts';
import { parseMaxRate, parseTablespaceMapping } from '../../backup/option-values.ts';
import { validatePlan, type BackupPlan, type BackupTarget, type ManifestChecksums, type WalMethod } from '../../backup/plan.ts';
import { runBackup, type BackupOutcome, type BackupPhase } from '../../backup/run-backup.ts';
import { openBackupTargets, preflightTargets } from '../../backup/targets.ts';
import type { RepositoryBackup } from '../../repository/repository-backup.ts';
import { formatLsn } from '../../util/lsn.ts';
import type { CliIo } from '../cli-io.ts';
import { promptPassword } from '../prompt-password.ts';
import { formatBytes } from '../format-bytes.ts';
import type { RegisterCommand } from './index.ts';

interface BackupFlags {
  pgdata: string[];
  repo?: string;
  /** Undefined unless given: pg_basebackup refuses -F together with -t. */
  format?: string;
  target?: string;
  waldir?: string;
  walMethod: string;
  checkpoint: string;
  label: string;
  progress?: boolean;
  estimateSize: boolean;
  maxRate?: string;
  gzip?: boolean;
  compress?: string;
  manifest: boolean;
  manifestChecksums?: string;
  manifestForceEncode?: boolean;
  writeRecoveryConf?: boolean;
  /** `-S name` gives the name; `--no-slot` shares the attribute with it and sets it to false. */
  slot?: string | false;
  createSlot?: boolean;
  tablespaceMapping: string[];
  verifyChecksums: boolean;
  clean: boolean;
  sync: boolean;
  statusInterval: string;
  json?: boolean;
  verbose?: boolean;
  dbname?: string;
  host?: string;
  port?: string;
  username?: string;
  password?: boolean;
  noPassword?: boolean;
}

const collect = (value: string, previous: string[]): string[] => [...previous, value];

export const registerBackup: RegisterCommand = (program: Command, io: CliIo) => {
  // -S NAME and --no-slot share commander's `slot` attribute (the last one wins); record both to refuse the pair.
  const slotFlags = { named: false, none: false };
  program
    .command('backup')
    .on('option:slot', () => { slotFlags.named = true; })
    .on('option:no-slot', () => { slotFlags.none = true; })
    .description('take a base backup of a running PostgreSQL cluster over the replication protocol')
    .helpOption('-?, --help', 'show this help')
    .option('-D, --pgdata <dir>', 'receive the backup into this directory ("-" = tar to stdout); repeat for several copies of one read', collect, [])
    .option('--repo <dir>', 'take the backup into this repository (tar format unless -F says otherwise), under a new id')
    .option('-F, --format <p|t>', 'output format: plain (default) or tar')
    .option('-t, --target <target>', 'backup target, if other than the client: server:/ABSOLUTE/DIR, blackhole, or an extension\'s (PostgreSQL 15+)')
    .option('--waldir <dir>', 'location for the write-ahead log directory (plain format, absolute path)')
    .option('-X, --wal-method <none|fetch|stream>', 'include required WAL files with the specified method', 'stream')
    .option('-c, --checkpoint <fast|spread>', 'set fast or spread checkpointing', 'spread')
    .option('-l, --label <label>', 'set the backup label', 'pgconvoy base backup')
    .option('-P, --progress', 'show progress information')
    .option('--no-estimate-size', 'do not ask the server to estimate the backup size')
    .option('-r, --max-rate <rate>', 'maximum transfer rate (kB/s, or with suffix k or M)')
    .option('-z, --gzip', 'compress tar output with gzip')
    .option('-Z, --compress <spec>', 'compress on client or server: [client-|server-]METHOD[:DETAIL] or a gzip level')
    .option('--no-manifest', 'do not generate a backup manifest')
    .option('--manifest-checksums <alg>', 'checksum algorithm for the manifest: NONE, CRC32C, SHA224, SHA256, SHA384, SHA512')
    .option('--manifest-force-encode', 'hex-encode all file names in the manifest')
    .option('-R, --write-recovery-conf', 'write configuration for replication (standby.signal, primary_conninfo)')
    .option('-S, --slot <name>', 'replication slot to use')
    .option('-C, --create-slot', 'create the replication slot given with --slot')
    .option('--no-slot', 'do not create a temporary replication slot')
    .option('-T, --tablespace-mapping <old=new>', 'relocate the tablespace in OLDDIR to NEWDIR (plain format)', collect, [])
    .option('--no-verify-checksums', 'do not verify data checksums')
    .option('-n, --no-clean', 'do not clean up after errors')
    .option('-N, --no-sync', 'do not wait for changes to be written safely to disk')
    .option('-s, --status-interval <seconds>', 'time between status packets sent to the server', '10')
    .option('--json', 'print one JSON object per destination on stdout at the end')
    .option('-v, --verbose', 'output verbose messages')
    .option('-d, --dbname <connstr>', 'connection string')
    .option('-h, --host <hostname>', 'database server host or socket directory')
    .option('-p, --port <port>', 'database server port number')
    .option('-U, --username <name>', 'connect as specified database user')
    // -W before -w: declared first, "--no-password" would make `password` default to true (always prompting).
    .option('-W, --password', 'force password prompt')
    .option('-w, --no-password', 'never prompt for password')
    .action(async (flags: BackupFlags) => {
      if (slotFlags.named && slotFlags.none) throw new UsageError('OPTION_CONFLICT', '--no-slot cannot be used with slot name');
      const repository = flags.repo === undefined ? null : await prepareRepositoryBackup(flags);
      const plan = await planFromFlags(repository === null ? flags : { ...flags, pgdata: [repository.backupDir] }, io);
      await preflightTargets(plan);
      await executeBackup(plan, flags, io, repository);
    });
};

/**
 * `--repo`: the backup is an ordinary one written into the repository's staging tree, so every other option keeps
 * its meaning; the ones that would put it elsewhere, or leave it without a manifest to verify, are refused.
 */
async function prepareRepositoryBackup(flags: BackupFlags): Promise<RepositoryBackup> {
  const conflict = (option: string): UsageError => new UsageError('OPTION_CONFLICT', `--repo cannot be used with ${option}`);
  if (flags.pgdata.length > 0) throw conflict('-D');
  if (flags.target !== undefined) throw conflict('-t');
  if (flags.waldir !== undefined) throw conflict('--waldir');
  if (!flags.manifest) throw conflict('--no-manifest');
  flags.format ??= 'tar';
  const format = flags.format.startsWith('p') ? 'plain' : 'tar';
  // Imported here: the repository brings verify and its WAL reader, which a backup without --repo never loads.
  const [{ RepositoryBackup }, { LocalStorage }] = await Promise.all([
    import('../../repository/repository-backup.ts'), import('../../repository/storage.ts'),
  ]);
  return RepositoryBackup.prepare(new LocalStorage(flags.repo as string), { label: flags.label, format, walMethod: flags.walMethod });
}

async function planFromFlags(flags: BackupFlags, io: CliIo): Promise<BackupPlan> {
  const target = backupTarget(flags.target);
  if (target !== undefined && flags.format !== undefined) throw new UsageError('OPTION_CONFLICT', 'cannot specify both format and backup target');
  const format = oneOf(flags.format ?? 'plain', { p: 'plain', plain: 'plain', t: 'tar', tar: 'tar' }, 'output format', 'must be "plain" or "tar"');
  const walMethod = oneOf<WalMethod>(flags.walMethod, { n: 'none', none: 'none', f: 'fetch', fetch: 'fetch', s: 'stream', stream: 'stream' },
    'WAL method', 'must be "fetch", "stream", or "none"');
  const checkpoint = oneOf(flags.checkpoint, { fast: 'fast', spread: 'spread' }, 'checkpoint argument', 'must be "fast" or "spread"');
  if (flags.gzip === true && flags.compress !== undefined) throw new UsageError('OPTION_CONFLICT', 'cannot use --gzip together with --compress');
  // Unless -Z names the side, compression happens where the archives are written: the client, or the server with -t.
  const side: 'client' | 'server' = target === undefined ? 'client' : 'server';
  const compression = flags.gzip === true ? { location: side, method: 'gzip' as const }
    : flags.compress === undefined ? null : parseCompressionSpec(flags.compress, side);
  if (flags.progress === true && !flags.estimateSize) {
    throw new UsageError('OPTION_CONFLICT', '--progress and --no-estimate-size are incompatible options');
  }
  const statusSeconds = Number(flags.statusInterval);
  if (!Number.isInteger(statusSeconds) || statusSeconds < 0 || statusSeconds > 2147483) {
    throw new UsageError('OPTION_OUT_OF_RANGE', `invalid status interval "${flags.statusInterval}"`);
  }
  if (flags.json === true && flags.pgdata.includes('-')) {
    throw new UsageError('OPTION_CONFLICT', '--json cannot be used when the backup itself goes to stdout (-D -)');
  }
  const password = flags.password === true ? await promptPassword('Password: ') : undefined;
  const connection = resolveConnectionParams({
    ...(flags.dbname === undefined ? {} : { dbname: flags.dbname }),
    ...(flags.host === undefined ? {} : { host: flags.host }),
    ...(flags.port === undefined ? {} : { port: flags.port }),
    ...(flags.username === undefined ? {} : { user: flags.username }),
    ...(password === undefined ? {} : { password }),
    fallbackApplicationName: 'pgconvoy',
    replication: 'true',
  }, io.env, { onWarning: (message) => io.stderr.write(`pgconvoy: warning: ${message}\n`) });
  return validatePlan({
    connection,
    destinations: flags.pgdata,
    ...(target === undefined ? {} : { target }),
    ...(flags.waldir === undefined ? {} : { walDir: flags.waldir }),
    format,
    walMethod,
    fastCheckpoint: checkpoint === 'fast',
    label: flags.label,
    estimateSize: flags.estimateSize,
    ...(flags.maxRate === undefined ? {} : { maxRateKbps: parseMaxRate(flags.maxRate) }),
    compression,
    manifest: flags.manifest,
    manifestForceEncode: flags.manifestForceEncode === true,
    ...(flags.manifestChecksums === undefined ? {} : { manifestChecksums: manifestAlgorithm(flags.manifestChecksums) }),
    writeRecoveryConf: flags.writeRecoveryConf === true,
    ...(typeof flags.slot === 'string' ? { slot: flags.slot } : {}),
    createSlot: flags.createSlot === true,
    useTemporarySlot: flags.slot !== false,
    tablespaceMappings: flags.tablespaceMapping.map(parseTablespaceMapping),
    verifyChecksums: flags.verifyChecksums,
    noClean: !flags.clean,
    sync: flags.sync,
    statusIntervalMs: statusSeconds * 1000,
  });
}

/** `-t NAME[:DETAIL]`, split at the first colon as pg_basebackup does; `client` is the same as no target. */
function backupTarget(text: string | undefined): BackupTarget | undefined {
  if (text === undefined || text === 'client') return undefined;
  const colon = text.indexOf(':');
  return colon === -1 ? { name: text } : { name: text.slice(0, colon), detail: text.slice(colon + 1) };
}

async function executeBackup(plan: BackupPlan, flags: BackupFlags, io: CliIo, repository: RepositoryBackup | null): Promise<void> {
  const progress = flags.progress === true ? (await import('../progress-view.ts')).createProgressView(io.stderr, 'pgconvoy') : null;
  const verbose = flags.verbose === true;
  let archive = '';
  let phase: BackupPhase = 'connecting';
  let startLsn: bigint | null = null;
  let bytesDone = 0n;
  let recordedStart: Promise<void> = Promise.resolve();
  let outcome: BackupOutcome;
  try {
    outcome = await runBackup(plan, {
      connect,
      openTargets: async (facts, onClaim) => {
        await repository?.claim(facts);
        return openBackupTargets(plan, facts, io.stdout, onClaim);
      },
      signal: io.signal,
      observer: {
        onPhase: (next) => {
          phase = next;
          // As pg_basebackup: a spread checkpoint may take minutes, and the user should know what is being waited for.
          if (next !== 'checkpoint') return;
          if (verbose) io.stderr.write('pgconvoy: initiating base backup, waiting for checkpoint to complete\n');
          else progress?.waitingForCheckpoint();
        },
        onStart: (info) => {
          startLsn = info.startLsn;
          if (repository !== null) {
            recordedStart = repository.started(info.startLsn, info.startTli);
            recordedStart.catch(() => undefined); // awaited after the run; not an unhandled rejection meanwhile
          }
          if (verbose) {
            io.stderr.write('pgconvoy: checkpoint completed\n');
            io.stderr.write(`pgconvoy: write-ahead log start point: ${formatLsn(info.startLsn)} on timeline ${info.startTli}\n`);
          }
          progress?.start(info.totalBytes);
        },
        onArchive: (name) => { archive = name; },
        onProgress: (done) => {
          bytesDone = done;
          progress?.update(done, archive);
        },
        onWarning: (message) => io.stderr.write(`pgconvoy: warning: ${message}\n`),
        onNotice: (notice) => io.stderr.write(`pgconvoy: ${notice.severity.toLowerCase()}: ${notice.message}\n`),
      },
    });
    await recordedStart;
  } catch (error) {
    progress?.stop();
    await recordedStart.catch(() => undefined);
    await repository?.discard();
    if (flags.json === true) {
      const message = error instanceof Error ? error.message : String(error);
      for (const dir of plan.destinations) io.stdout.write(`${JSON.stringify({ dir, label: plan.label, error: message })}\n`);
    }
    if (error instanceof AbortError || (error instanceof ConvoyError && error.code === 'ABORTED')) {
      throw abortedError(plan, error, phase, startLsn, bytesDone);
    }
    throw error;
  }
  progress?.stop();
  if (repository === null) {
    reportOutcome(plan, outcome, flags, io);
    return;
  }
  const record = await repository.publish({ startLsn: outcome.startLsn, endLsn: outcome.endLsn, timeline: outcome.timeline, streamBytes: outcome.bytes })
    .catch(async (error: unknown) => {
      await repository.discard();
      throw error;
    });
  if (flags.json === true) io.stdout.write(`${JSON.stringify({ repo: flags.repo, ...record, seconds: Number(outcome.seconds.toFixed(3)) })}\n`);
  else io.stderr.write(`pgconvoy: backup "${plan.label}" added to repository "${flags.repo}" as ${record.id}: ${record.startLsn}..${record.endLsn} on timeline ${record.timeline}, ${formatBytes(record.sizeBytes ?? 0)} in ${outcome.seconds.toFixed(1)} s\n`);
}

const PHASE_TEXT: Readonly<Record<BackupPhase, string>> = {
  connecting: 'while connecting to the server',
  checkpoint: 'while the server was running its start checkpoint',
  copying: 'while copying',
  finishing: 'while finishing',
};

/**
 * What Ctrl-C (or SIGTERM, or a lost connection reported as an abort) ended: which backup, how far it was, and
 * what became of its destinations. The server side needs no words of its own: ending the session aborted the
 * server's backup and dropped our temporary slot.
 */
function abortedError(plan: BackupPlan, error: ConvoyError, phase: BackupPhase, startLsn: bigint | null, bytesDone: bigint): AbortError {
  const where = phase === 'copying' && startLsn !== null
    ? `${PHASE_TEXT.copying} (started at ${formatLsn(startLsn)}, ${formatBytes(Number(bytesDone))} received)`
    : PHASE_TEXT[phase];
  const dirs = plan.destinations.filter((dir) => dir !== '-').map((dir) => `"${dir}"`).join(', ');
  const output = dirs === '' ? '' : plan.noClean
    ? `; partial output left in ${dirs} without backup_manifest`
    : `; partial output removed from ${dirs}`;
  return new AbortError('ABORTED', `${error.message}: backup "${plan.label}" aborted ${where}${output}`, {
    cause: error,
    details: { phase, ...(startLsn === null ? {} : { startLsn: formatLsn(startLsn) }) },
  });
}

function reportOutcome(plan: BackupPlan, outcome: BackupOutcome, flags: BackupFlags, io: CliIo): void {
  let failed = 0;
  for (const destination of outcome.destinations) {
    if (destination.error !== undefined) {
      failed += 1;
      const message = destination.error instanceof Error ? destination.error.message : String(destination.error);
      io.stderr.write(`pgconvoy: error: backup to "${destination.dir}" failed: ${message}\n`);
    } else if (flags.json !== true && destination.dir !== '-') {
      const where = plan.target === undefined ? `written to "${destination.dir}"` : `stored by the server (target "${destination.dir}")`;
      io.stderr.write(`pgconvoy: backup "${plan.label}" ${where}: ${formatLsn(outcome.startLsn)}..${formatLsn(outcome.endLsn)} on timeline ${outcome.timeline}, ${formatBytes(Number(outcome.bytes))} in ${outcome.seconds.toFixed(1)} s\n`);
    }
    if (flags.json === true) {
      io.stdout.write(`${JSON.stringify({
        dir: destination.dir,
        label: plan.label,
        startLsn: formatLsn(outcome.startLsn),
        endLsn: formatLsn(outcome.endLsn),
        timeline: outcome.timeline,
        bytes: Number(outcome.bytes),
        seconds: Number(outcome.seconds.toFixed(3)),
        ...(destination.error === undefined ? {} : { error: destination.error instanceof Error ? destination.error.message : String(destination.error) }),
      })}\n`);
    }
  }
  if (failed > 0) io.setExitStatus(1);
}

function oneOf<T extends string>(value: string, choices: Record<string, T>, what: string, rule: string): T {
  const found = choices[value];
  if (found === undefined) throw new UsageError('OPTION_INVALID', `invalid ${what} "${value}", ${rule}`);
  return found;
}

function manifestAlgorithm(value: string): ManifestChecksums {
  const upper = value.toUpperCase();
  if (!['NONE', 'CRC32C', 'SHA224', 'SHA256', 'SHA384', 'SHA512'].includes(upper)) {
    throw new UsageError('OPTION_INVALID', `invalid checksum algorithm "${value}"`);
  }
  return upper as ManifestChecksums;
}
