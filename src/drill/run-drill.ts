/**
 * `runDrill`: proves a backup restores. Restores it (verified first) into a scratch directory, starts the real
 * postgres of the backup's major on it, waits for recovery to finish, measures recovery from the server's own
 * log and functions, runs amcheck over every table and index of every database plus the user's checks, then
 * stops the server and removes the scratch directory (unless `keep`).
 *
 * A problem with the backup (verification, extraction, recovery, a failed check) is the drill's verdict, not an
 * exception: the report says which stage failed and why, quoting the server's FATAL where there is one. Usage
 * errors, a missing PostgreSQL install, aborts and bugs throw. Whatever happens, the server is stopped and the
 * scratch directory removed (process-cleanup also covers an interrupted process).
 */
import { copyFile, mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { connect } from '../client/connection.ts';
import type { ConnectionParams } from '../client/types.ts';
import { toolPath, type PgInstall } from '../cluster/binaries.ts';
import { LocalCluster } from '../cluster/local-cluster.ts';
import { chownForServer } from '../cluster/os-user.ts';
import { forgetAtExit, removeAtExit } from '../cluster/process-cleanup.ts';
import type { SettingValue } from '../cluster/server-files.ts';
import { AbortError, ConvoyError, RecoveryError, UsageError } from '../errors/index.ts';
import { restoreBackup, type RecoveryTarget, type RestoreResult } from '../restore/index.ts';
import { formatLsn, parseLsn } from '../util/lsn.ts';
import { runSqlAmcheck, type AmcheckOutcome } from './amcheck-sql.ts';
import { runPgAmcheck, toolMajor } from './amcheck-tool.ts';
import { drillSettings, ensureMainConfig, pickInstall, writeDrillAuthFiles } from './drill-config.ts';
import type { DrillRecovery, DrillReport, DrillStage } from './report.ts';
import { failureLines, readRecoveryEvents } from './server-log.ts';
import { runUserChecks, type CheckResult } from './user-checks.ts';

export type AmcheckMode = 'auto' | 'pg_amcheck' | 'sql' | 'off';

export interface DrillOptions {
  readonly pgBindir?: string;
  /** For recovery to finish (the server to accept connections); default 600 s. */
  readonly timeoutMs?: number;
  readonly checks?: readonly string[];
  /** Database for the user's checks; default "postgres". */
  readonly database?: string;
  /** Role to connect as; default "postgres". */
  readonly user?: string;
  readonly keep?: boolean;
  readonly verify?: boolean;
  readonly verifyChecksums?: boolean;
  /** Archive recovery from the user's WAL archive (recovery.signal), e.g. for a backup taken with -X none. */
  readonly restoreCommand?: string;
  /** Where recovery stops (then promotes, so the checks see the cluster as of the target). */
  readonly target?: RecoveryTarget;
  readonly amcheck?: AmcheckMode;
  readonly heapallindexed?: boolean;
  /** Extra server settings (--set), written after the drill's own. */
  readonly settings?: Readonly<Record<string, SettingValue>>;
  readonly scratchParent?: string;
  readonly signal?: AbortSignal;
  /** One line per stage as it starts, for -v. */
  readonly onStage?: (message: string) => void;
}

type Failure = NonNullable<DrillReport['failure']>;

const DEFAULT_TIMEOUT_MS = 600_000;
const LOG_TAIL_LINES = 10;
const RECOVERY_POLL_MS = 100;

export async function runDrill(backupDir: string, options: DrillOptions = {}): Promise<DrillReport> {
  const started = performance.now();
  const keep = options.keep === true;
  const scratchDir = await mkdtemp(join(options.scratchParent ?? tmpdir(), 'pgconvoy-drill-'));
  removeAtExit(scratchDir);
  const notes: string[] = [];
  let restored: RestoreResult | null = null;
  let install: PgInstall | null = null;
  let recovery: DrillRecovery | null = null;
  let amcheck: AmcheckOutcome | null = null;
  let checks: CheckResult[] = [];
  let cluster: LocalCluster | null = null;
  const report = (failure: Failure | null): DrillReport => ({
    ok: failure === null, backupDir, format: restored?.format ?? null, major: restored?.major ?? null, bindir: install?.bindir ?? null,
    scratchDir, kept: keep,
    verify: restored === null || restored.verify === null ? null : { files: restored.verify.filesChecked, bytes: restored.verify.bytesChecked, seconds: restored.verify.seconds },
    restoreSeconds: restored?.seconds ?? null, recovery, amcheck, checks, failure, notes,
    seconds: Math.round(performance.now() - started) / 1000,
  });
  const stage = (message: string): void => {
    if (options.signal?.aborted === true) throw new AbortError('ABORTED', 'drill aborted');
    options.onStage?.(message);
  };
  try {
    await chownForServer(scratchDir, { mode: 0o700 });
    const tablespaceRoot = join(scratchDir, 'tablespaces');
    await mkdir(tablespaceRoot);
    await chownForServer(tablespaceRoot, { mode: 0o700 });
    await writeDrillAuthFiles(scratchDir);
    const dataDir = join(scratchDir, 'data');

    stage(`restoring "${backupDir}" into "${dataDir}"`);
    try {
      restored = await restoreBackup(backupDir, {
        targetDir: dataDir, tablespaceTarget: (oid) => join(tablespaceRoot, oid),
        recovery: {
          ...(options.restoreCommand === undefined ? {} : { restoreCommand: options.restoreCommand }),
          ...(options.target === undefined ? {} : { target: options.target }),
        },
        settings: drillSettings(scratchDir, options.settings ?? {}), dropSignalFiles: true,
        verify: options.verify ?? true, verifyChecksums: options.verifyChecksums ?? true, serverOwner: true, sync: false,
        ...(options.signal === undefined ? {} : { signal: options.signal }),
      });
    } catch (error) {
      return report(failureOf('restore', error));
    }
    notes.push(...restored.warnings);
    for (const name of restored.removedSignalFiles) notes.push(`${name} carried by the backup removed: a drill never follows the original primary`);
    install = pickInstall(restored.major, options.pgBindir);
    if (await ensureMainConfig(dataDir)) notes.push('the backup has no postgresql.conf (kept outside the data directory?): started with defaults');

    stage(`starting PostgreSQL ${install.major} from "${install.bindir}"`);
    cluster = LocalCluster.attach({ install, dataDir });
    const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    const startedAtMs = Date.now();
    try {
      await cluster.start({ timeoutMs });
    } catch (error) {
      if (!(error instanceof RecoveryError)) throw error;
      return report(startFailure(await cluster.logText(), error, timeoutMs));
    }
    const paramsFor = (database: string): ConnectionParams => (cluster as LocalCluster).connectionParams({
      host: (cluster as LocalCluster).socketDir ?? '127.0.0.1', user: options.user ?? 'postgres', database, applicationName: 'pgconvoy drill',
    });
    const database = options.database ?? 'postgres';
    const unfinished = await waitForRecoveryEnd(cluster, paramsFor(database), startedAtMs + timeoutMs, timeoutMs);
    if (unfinished !== null) return report(unfinished);
    recovery = await measureRecovery(cluster, paramsFor(database), startedAtMs, Date.now(), restored);
    const databases = (await query(paramsFor(database), 'SELECT datname FROM pg_database WHERE datallowconn ORDER BY datname')).map(([name]) => name as string);

    if (options.amcheck !== 'off') {
      const tool = await chooseAmcheckTool(install, options.amcheck ?? 'auto');
      stage(`amcheck with ${tool ?? 'SQL (amcheck extension)'} over ${databases.length} databases`);
      amcheck = tool === null
        ? await runSqlAmcheck(paramsFor, databases, { heapallindexed: options.heapallindexed === true })
        : await runPgAmcheck(tool, { host: cluster.socketDir ?? '127.0.0.1', port: cluster.port, user: options.user ?? 'postgres' }, databases.length,
          { heapallindexed: options.heapallindexed === true, timeoutMs });
      if (!amcheck.ok) return report({ stage: 'amcheck', message: `amcheck found problems: ${amcheck.failures[0] ?? ''}`, detail: amcheck.failures.slice(1) });
    } else {
      notes.push('amcheck skipped (--amcheck off)');
    }

    if ((options.checks ?? []).length > 0) {
      stage(`running ${options.checks?.length} checks in database "${database}"`);
      const session = await connect(paramsFor(database), options.signal === undefined ? {} : { signal: options.signal });
      try {
        checks = await runUserChecks(session, options.checks ?? []);
      } finally {
        await session.close();
      }
      const failed = checks.find((check) => !check.ok);
      if (failed !== undefined) return report({ stage: 'checks', message: `check failed: ${failed.sql}: ${failed.error ?? ''}`, detail: [] });
    }
    return report(null);
  } finally {
    await cluster?.stop(keep ? 'fast' : 'immediate').catch(() => undefined);
    if (keep) {
      const logPath = cluster?.logPath ?? null;
      if (logPath !== null) await copyFile(logPath, join(scratchDir, 'server.log')).catch(() => undefined);
      forgetAtExit(scratchDir);
    } else {
      await rm(scratchDir, { recursive: true, force: true, maxRetries: 3 });
      forgetAtExit(scratchDir);
    }
  }
}

/** Problems of the backup become the verdict; usage errors, aborts and bugs are thrown. */
function failureOf(stage: DrillStage, error: unknown): Failure {
  if (!(error instanceof ConvoyError) || error instanceof UsageError || error.code === 'ABORTED') throw error;
  const detail = error.details['detail'];
  return { stage, message: error.message, detail: typeof detail === 'string' && detail !== '' ? detail.split('\n') : [] };
}

function startFailure(log: string, error: RecoveryError, timeoutMs: number): Failure {
  const lines = failureLines(log);
  const tail = log.trimEnd().split('\n').slice(-LOG_TAIL_LINES);
  if (/did not accept connections in time/.test(error.message)) {
    return { stage: 'start', message: `recovery did not finish within ${timeoutMs / 1000} s`, detail: lines.length > 0 ? lines : tail };
  }
  const [first, ...rest] = lines;
  return first === undefined
    ? { stage: 'start', message: error.message, detail: tail }
    : { stage: 'start', message: `the server did not start: ${first}`, detail: rest };
}

/**
 * With a restore command the server runs archive recovery with hot standby: it accepts read-only connections
 * from consistency on, while replay goes on. The drill measures and checks the finished, promoted cluster.
 */
async function waitForRecoveryEnd(cluster: LocalCluster, params: ConnectionParams, deadlineMs: number, timeoutMs: number): Promise<Failure | null> {
  for (;;) {
    if (!cluster.isRunning) {
      const lines = failureLines(await cluster.logText());
      return { stage: 'start', message: `the server stopped during recovery: ${lines[0] ?? 'see its log'}`, detail: lines.slice(1) };
    }
    const [[inRecovery] = []] = await query(params, 'SELECT pg_is_in_recovery()');
    if (inRecovery === 'f') return null;
    if (Date.now() > deadlineMs) return { stage: 'start', message: `recovery did not finish within ${timeoutMs / 1000} s`, detail: [] };
    await sleep(RECOVERY_POLL_MS);
  }
}

async function measureRecovery(
  cluster: LocalCluster, params: ConnectionParams, startedAtMs: number, readyAtMs: number, restored: RestoreResult,
): Promise<DrillRecovery> {
  const events = readRecoveryEvents(await cluster.logText());
  const [[replayEnd, timeline] = []] = await query(params,
    'SELECT pg_last_wal_replay_lsn()::text, (SELECT timeline_id FROM pg_control_checkpoint())::text');
  const startLsn = restored.label?.startLsn ?? null;
  // "redo done at" names the start of the last record replayed. pg_last_wal_replay_lsn() names its end, which
  // for the segment switch ending a backup is the end of the segment: 16 MB "replayed" that were never written.
  const endLsn = events.redoDoneLsn ?? (replayEnd != null ? parseLsn(replayEnd) : null);
  const seconds = (ms: number): number => Math.round(ms) / 1000;
  return {
    secondsToConsistency: events.consistentAtMs === null ? null : seconds(Math.max(0, events.consistentAtMs - startedAtMs)),
    consistentLsn: events.consistentLsn === null ? null : formatLsn(events.consistentLsn),
    secondsToReady: seconds(readyAtMs - startedAtMs),
    replayStartLsn: startLsn === null ? null : formatLsn(startLsn),
    replayEndLsn: endLsn === null ? null : formatLsn(endLsn),
    walReplayedBytes: startLsn !== null && endLsn !== null && endLsn >= startLsn ? Number(endLsn - startLsn) : null,
    timeline: timeline == null ? null : Number(timeline),
  };
}

/** pg_amcheck if one of the server's major or newer exists (an older one may misread newer catalogs). */
async function chooseAmcheckTool(install: PgInstall, mode: AmcheckMode): Promise<string | null> {
  if (mode === 'sql') return null;
  const path = toolPath(install, 'pg_amcheck');
  const major = path === null ? null : await toolMajor(path);
  if (path !== null && major !== null && major >= install.major) return path;
  if (mode === 'pg_amcheck') {
    throw new UsageError('OPTION_INVALID', `no pg_amcheck of PostgreSQL ${install.major} or newer is installed`, { hint: 'Use --amcheck sql.' });
  }
  return null;
}

async function query(params: ConnectionParams, sql: string): Promise<Array<Array<string | null>>> {
  const session = await connect(params);
  try {
    return await session.query(sql);
  } finally {
    await session.close();
  }
}
