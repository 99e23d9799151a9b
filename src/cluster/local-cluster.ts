/**
 * LocalCluster: one PostgreSQL data directory on this machine and the postmaster we run on it. Used by
 * `pgconvoy demo`, `pgconvoy drill` (start a restored backup and prove it recovers) and the test harness.
 *
 * The postmaster is our direct child (no pg_ctl daemonising), so we always know its pid and exit status, and
 * process-cleanup.ts can shut it down when this process ends. It listens on 127.0.0.1 at a free port and on a
 * Unix socket in a private run directory; its stderr goes to `server.log` in that directory. Readiness is read
 * from postmaster.pid (status "ready" or "standby"), as pg_ctl -w does, so starting needs no SQL client and a
 * restored backup counts as started only once recovery reached consistency.
 *
 * Not here: WAL archiving, replicas, anything needing a running server other than our own client for sql().
 * Invariants: at most one postmaster per LocalCluster; settings that decide where the server can be reached
 * (port, listen_addresses, socket directory, logging) are given on the command line, overriding whatever a
 * restored postgresql.conf says.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { mkdir, mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { connect } from '../client/connection.ts';
import type { ConnectionParams } from '../client/types.ts';
import { RecoveryError } from '../errors/index.ts';
import type { PgInstall } from './binaries.ts';
import { freePort } from './free-port.ts';
import { canTraverse, chownForServer, reachableBindir, serverRunAs } from './os-user.ts';
import { removeAtExit, trackPostmaster } from './process-cleanup.ts';
import {
  appendSettings, isAcceptingConnections, prependHbaLines, readPostmasterPid, type SettingValue,
} from './server-files.ts';

const DEFAULT_START_TIMEOUT_MS = 60_000;
const STOP_TIMEOUT_MS = 60_000;
const RELOAD_TIMEOUT_MS = 10_000;
const START_ATTEMPTS = 5;
const LOG_TAIL_LINES = 20;
const POLL_INTERVAL_MS = 50;
const RELOAD_LOG_LINE = 'received SIGHUP, reloading configuration files';

function serverEnv(): NodeJS.ProcessEnv {
  // Nothing of ours (PGDATA, PGPORT, a locale the server user lacks) may leak into the server.
  return { PATH: process.env['PATH'] ?? '/usr/bin:/bin', LC_ALL: 'C' };
}

function spawnOptions(): { uid?: number; gid?: number } {
  const runAs = serverRunAs();
  return runAs === null ? {} : { uid: runAs.uid, gid: runAs.gid };
}

function tail(text: string, lines: number): string {
  return text.trimEnd().split('\n').slice(-lines).join('\n');
}

/** The log tail goes to `details.detail`, which the CLI prints as a "detail:" line, as PostgreSQL's tools do. */
function clusterFailed(message: string, logText: string): RecoveryError {
  const logTail = tail(logText, LOG_TAIL_LINES);
  const detail = logTail === '' ? 'the server log is empty' : `last lines of the server log:\n${logTail}`;
  return new RecoveryError('CLUSTER_FAILED', message, { details: { detail, logTail } });
}

export class LocalCluster {
  readonly install: PgInstall;
  readonly dataDir: string;
  readonly host = '127.0.0.1';
  #port = 0;
  #runDir: string | null = null;
  #postmaster: ChildProcess | null = null;
  #exited: Promise<void> = Promise.resolve();
  #hasExited = true;
  #logOffset = 0;

  private constructor(install: PgInstall, dataDir: string) {
    this.install = install;
    this.dataDir = resolve(dataDir);
  }

  /** initdb as the server user: superuser "postgres", trust for local and 127.0.0.1, C locale, UTF8. */
  static async init(opts: { install: PgInstall; dataDir: string; checksums?: boolean; noSync?: boolean }): Promise<LocalCluster> {
    const cluster = new LocalCluster(opts.install, opts.dataDir);
    if (!canTraverse(cluster.dataDir, serverRunAs())) {
      throw new RecoveryError('CLUSTER_FAILED', `the server user cannot reach directory "${cluster.dataDir}"`, {
        hint: 'Choose a data directory whose parent directories are searchable by the "postgres" OS user.',
      });
    }
    await mkdir(cluster.dataDir, { recursive: true });
    await chownForServer(cluster.dataDir, { mode: 0o700 });
    const major = opts.install.major;
    const args = ['-D', cluster.dataDir, '-U', 'postgres', '-A', 'trust', '-E', 'UTF8', '--locale=C'];
    // PostgreSQL 18 turned checksums on by default, so "off" must be said explicitly there.
    if (opts.checksums ?? true) args.push('--data-checksums');
    else if (major >= 18) args.push('--no-data-checksums');
    if (opts.noSync === true) args.push('--no-sync');
    const bindir = await reachableBindir(opts.install.bindir);
    const { status, output } = await runTool(join(bindir, 'initdb'), args);
    if (status !== 0) throw clusterFailed(`initdb failed for "${cluster.dataDir}" (exit status ${status})`, output);
    return cluster;
  }

  /** An existing data directory, such as a restored backup; nothing is checked until start(). */
  static attach(opts: { install: PgInstall; dataDir: string }): LocalCluster {
    return new LocalCluster(opts.install, opts.dataDir);
  }

  /** The port of the running server, or of the last run; 0 before the first start. */
  get port(): number {
    return this.#port;
  }

  get isRunning(): boolean {
    return this.#postmaster !== null && !this.#hasExited;
  }

  get postmasterPid(): number | null {
    return this.isRunning ? this.#postmaster?.pid ?? null : null;
  }

  /** Directory of the Unix socket (usable as `host` in ConnectionParams); null before the first start. */
  get socketDir(): string | null {
    return this.#runDir;
  }

  get logPath(): string | null {
    return this.#runDir === null ? null : join(this.#runDir, 'server.log');
  }

  /** Appends to pgconvoy.conf; settings needing a restart take effect at the next start, others after reload(). */
  async configure(settings: Record<string, SettingValue>): Promise<void> {
    await appendSettings(this.dataDir, settings);
  }

  /** New pg_hba.conf lines ahead of the existing ones; a running server reloads before this resolves. */
  async prependHba(lines: string[]): Promise<void> {
    await prependHbaLines(this.dataDir, lines);
    await this.reload();
  }

  /**
   * SIGHUP, then wait for the postmaster to log that it reloaded. The postmaster re-reads pg_hba.conf in the
   * same step and forks no backend meanwhile, so every connection made after this resolves sees the new files.
   */
  async reload(): Promise<void> {
    if (!this.isRunning) return;
    const count = async (): Promise<number> => (await this.#currentLog()).split(RELOAD_LOG_LINE).length;
    const before = await count();
    this.#postmaster?.kill('SIGHUP');
    const deadline = Date.now() + RELOAD_TIMEOUT_MS;
    while ((await count()) === before) {
      if (Date.now() > deadline || !this.isRunning) {
        throw clusterFailed(`server on "${this.dataDir}" did not reload its configuration`, await this.#currentLog());
      }
      await sleep(POLL_INTERVAL_MS);
    }
  }

  async start(opts: { port?: number; timeoutMs?: number } = {}): Promise<void> {
    if (this.isRunning) return;
    const bindir = await reachableBindir(this.install.bindir);
    const runDir = await this.#ensureRunDir();
    for (let attempt = 1; ; attempt++) {
      const port = opts.port ?? (await freePort());
      const outcome = await this.#launch(join(bindir, 'postgres'), runDir, port, opts.timeoutMs ?? DEFAULT_START_TIMEOUT_MS);
      if (outcome === 'ready') return;
      const log = await this.#currentLog();
      if (outcome === 'exited' && attempt < START_ATTEMPTS) {
        if (opts.port === undefined && /already in use/i.test(log)) continue; // port taken since freePort()
        // Backends of a postmaster that died hard leave within moments of noticing; then the start succeeds.
        if (/pre-existing shared memory block .* is still in use/.test(log)) {
          await sleep(500);
          continue;
        }
      }
      if (outcome === 'timeout') await this.stop('immediate');
      const why = outcome === 'timeout' ? 'did not accept connections in time' : 'exited during startup';
      throw clusterFailed(`PostgreSQL ${this.install.major} server on "${this.dataDir}" ${why}`, log);
    }
  }

  /** Fast (checkpoint, then exit) or immediate (crash-like) shutdown; a no-op when not running. */
  async stop(mode: 'fast' | 'immediate' = 'fast'): Promise<void> {
    const postmaster = this.#postmaster;
    if (postmaster === null) return;
    if (!this.#hasExited) {
      postmaster.ref(); // keep this process alive until the exit is observed
      postmaster.kill(mode === 'fast' ? 'SIGINT' : 'SIGQUIT');
      for (const escalation of ['SIGQUIT', 'SIGKILL'] as const) {
        const waitMs = mode === 'fast' && escalation === 'SIGQUIT' ? STOP_TIMEOUT_MS : 5_000;
        const timer = sleep(waitMs, 'timeout', { ref: false }); // the ref'd child keeps us alive meanwhile
        if ((await Promise.race([this.#exited.then(() => 'exited'), timer])) === 'exited') break;
        postmaster.kill(escalation);
      }
      await this.#exited;
    }
    this.#postmaster = null;
  }

  /** Everything the server wrote to stderr across all starts of this LocalCluster ('' before the first). */
  async logText(): Promise<string> {
    const path = this.logPath;
    if (path === null) return '';
    try {
      return await readFile(path, 'utf8');
    } catch {
      return '';
    }
  }

  /** TCP to 127.0.0.1 as superuser "postgres" on database "postgres", no SSL. */
  connectionParams(overrides: Partial<ConnectionParams> = {}): ConnectionParams {
    return {
      host: this.host, port: this.#port, user: 'postgres', database: 'postgres', sslmode: 'disable',
      applicationName: 'pgconvoy', connectTimeoutMs: 10_000, ...overrides,
    };
  }

  /** One simple query through pgconvoy's own client; rows as text, NULL as null. */
  async sql(text: string, database = 'postgres'): Promise<Array<Array<string | null>>> {
    const session = await connect(this.connectionParams({ database }));
    try {
      return await session.query(text);
    } finally {
      await session.close();
    }
  }

  async #currentLog(): Promise<string> {
    return (await this.logText()).slice(this.#logOffset);
  }

  async #ensureRunDir(): Promise<string> {
    if (this.#runDir === null) {
      const runDir = await mkdtemp(join(tmpdir(), 'pgconvoy-run-'));
      removeAtExit(runDir);
      await chownForServer(runDir, { mode: 0o700 });
      this.#runDir = runDir;
    }
    return this.#runDir;
  }

  async #launch(postgresPath: string, runDir: string, port: number, timeoutMs: number): Promise<'ready' | 'exited' | 'timeout'> {
    this.#logOffset = (await this.logText()).length;
    const logFd = openSync(join(runDir, 'server.log'), 'a', 0o600);
    let postmaster: ChildProcess;
    try {
      postmaster = spawn(postgresPath, [
        '-D', this.dataDir, '-p', String(port), '-c', 'listen_addresses=127.0.0.1',
        '-c', `unix_socket_directories=${runDir}`, '-c', 'logging_collector=off', '-c', 'log_destination=stderr',
        '-c', 'lc_messages=C', // we read the log for a few messages; a restored config may ask for another language
      ], { stdio: ['ignore', logFd, logFd], cwd: runDir, env: serverEnv(), ...spawnOptions() });
    } finally {
      closeSync(logFd);
    }
    postmaster.unref(); // a forgotten cluster must not keep this process alive; process-cleanup stops it
    this.#postmaster = postmaster;
    this.#hasExited = false;
    this.#port = port;
    const untrack = postmaster.pid === undefined ? () => false : trackPostmaster(postmaster.pid, this.dataDir);
    this.#exited = new Promise<void>((resolveExit) => {
      const onExit = (): void => {
        this.#hasExited = true;
        untrack();
        resolveExit();
      };
      postmaster.once('exit', onExit);
      postmaster.once('error', onExit); // spawn failures (ENOENT, EACCES) may never emit 'exit'
    });
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (this.#hasExited) return 'exited';
      const pidFile = await readPostmasterPid(this.dataDir);
      if (pidFile !== null && pidFile.pid === postmaster.pid && isAcceptingConnections(pidFile.status)) return 'ready';
      if (Date.now() > deadline) return 'timeout';
      await Promise.race([sleep(POLL_INTERVAL_MS), this.#exited]);
    }
  }
}

/** Runs a server-side tool (initdb) as the server user; output is stdout and stderr interleaved. */
function runTool(path: string, args: string[]): Promise<{ status: number | null; output: string }> {
  return new Promise((resolveRun) => {
    const child = spawn(path, args, { stdio: ['ignore', 'pipe', 'pipe'], env: serverEnv(), cwd: tmpdir(), ...spawnOptions() });
    let output = '';
    child.stdout?.setEncoding('utf8').on('data', (text: string) => (output += text));
    child.stderr?.setEncoding('utf8').on('data', (text: string) => (output += text));
    child.once('error', (error) => resolveRun({ status: null, output: `${output}${error.message}\n` }));
    child.once('close', (status) => resolveRun({ status, output }));
  });
}
