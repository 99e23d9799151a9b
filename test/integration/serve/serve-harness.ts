/**
 * What the serve integration tests share: `pgconvoy serve` started as a real child process beside a test cluster
 * (JSON log on stderr, parsed as it arrives, so a test can wait for an event and read serve's counters), the
 * real pg_basebackup pointed at it, and the check that serve left nothing on the cluster: no session of its
 * own (so no backup in progress), no slot of its own, no walsender.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import { clientToolEnv, psql, requireTool } from '../harness/psql.ts';
import { REPO_ROOT, type LocalCluster } from '../harness.ts';

export interface ServeEvent {
  readonly event: string;
  readonly [field: string]: unknown;
}

export interface RunningServe {
  readonly child: ChildProcess;
  readonly host: string;
  readonly port: number;
  readonly events: ServeEvent[];
  /** Resolves with the first event (from now on or already seen) that matches. */
  waitForEvent(match: (event: ServeEvent) => boolean, timeoutMs?: number): Promise<ServeEvent>;
  /** The stderr text so far (for failure messages). */
  log(): string;
  /** SIGTERM (or the given signal), then waits for the exit. */
  stop(signal?: NodeJS.Signals): Promise<{ status: number | null; signal: NodeJS.Signals | null }>;
  readonly exited: Promise<{ status: number | null; signal: NodeJS.Signals | null }>;
}

export interface ServeStartOptions {
  readonly listenHost?: string;
  readonly extraArgs?: readonly string[];
  /** serve's own connection; default the cluster's superuser over TCP. */
  readonly conninfo?: string;
}

export async function startServe(cluster: LocalCluster, opts: ServeStartOptions = {}): Promise<RunningServe> {
  const env: NodeJS.ProcessEnv = { ...process.env };
  delete env['NODE_TEST_CONTEXT'];
  const listenHost = opts.listenHost ?? '127.0.0.1';
  const conninfo = opts.conninfo ?? `host=${cluster.host} port=${cluster.port} user=postgres dbname=postgres`;
  const child = spawn(process.execPath, [
    '--import', import.meta.resolve('tsx'), `${REPO_ROOT}src/cli/main.ts`, 'serve', '--pgdata', cluster.dataDir,
    '-d', conninfo, '--listen', `${listenHost}:0`, '--log-format', 'json', ...(opts.extraArgs ?? []),
  ], { cwd: REPO_ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  const events: ServeEvent[] = [];
  const waiters: Array<{ match: (event: ServeEvent) => boolean; resolve: (event: ServeEvent) => void }> = [];
  let text = '';
  let partial = '';
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
    text += chunk;
    partial += chunk;
    const lines = partial.split('\n');
    partial = lines.pop() ?? '';
    for (const line of lines) {
      if (!line.startsWith('{')) continue;
      const event = JSON.parse(line) as ServeEvent;
      events.push(event);
      for (const waiter of waiters.splice(0)) {
        if (waiter.match(event)) waiter.resolve(event);
        else waiters.push(waiter);
      }
    }
  });
  child.stdout?.resume();
  const exited = new Promise<{ status: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once('exit', (status, signal) => resolve({ status, signal }));
  });
  const waitForEvent = async (match: (event: ServeEvent) => boolean, timeoutMs = 30_000): Promise<ServeEvent> => {
    const seen = events.find(match);
    if (seen !== undefined) return seen;
    const found = new Promise<ServeEvent>((resolve) => waiters.push({ match, resolve }));
    const timeout = sleep(timeoutMs).then(() => { throw new Error(`no serve event within ${timeoutMs} ms; log:\n${text}`); });
    const ended = exited.then((exit) => { throw new Error(`serve exited (${JSON.stringify(exit)}) before the event; log:\n${text}`); });
    return Promise.race([found, timeout, ended]);
  };
  const listening = await waitForEvent((event) => event.event === 'listening');
  await waitForEvent((event) => event.event === 'ready');
  return {
    child, host: listenHost, port: Number(listening['port']), events, waitForEvent, exited,
    log: () => text,
    async stop(signal: NodeJS.Signals = 'SIGTERM') {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      return exited;
    },
  };
}

export interface ToolResult {
  readonly status: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** The real pg_basebackup (of the cluster's major) against serve; `child` is exposed for signals. */
export function pgBasebackup(cluster: LocalCluster, serve: RunningServe, args: readonly string[],
  opts: { env?: NodeJS.ProcessEnv; user?: string } = {}): { child: ChildProcess; result: Promise<ToolResult> } {
  const child = spawn(requireTool(cluster, 'pg_basebackup'), [
    '-h', serve.host, '-p', String(serve.port), '-U', opts.user ?? 'postgres', '-w', ...args,
  ], { env: { ...clientToolEnv(), ...opts.env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout?.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const result = new Promise<ToolResult>((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (status, signal) => resolve({ status, signal, stdout, stderr }));
  });
  return { child, result };
}

export async function pgBasebackupOk(cluster: LocalCluster, serve: RunningServe, args: readonly string[]): Promise<ToolResult> {
  const result = await pgBasebackup(cluster, serve, args).result;
  assert.equal(result.status, 0, `pg_basebackup ${args.join(' ')} through serve failed:\n${result.stderr}\nserve log:\n${serve.log()}`);
  return result;
}

export interface ServeFootprint {
  readonly sessions: number;
  readonly slots: string[];
  readonly walsenders: number;
}

/** What serve holds on the cluster right now: its SQL sessions, its slots, relayed walsenders. */
export async function serveFootprint(cluster: LocalCluster): Promise<ServeFootprint> {
  const [[sessions = '0', slots = '', walsenders = '0'] = []] = await psql(cluster,
    "SELECT (SELECT count(*) FROM pg_stat_activity WHERE application_name LIKE 'pgconvoy serve%' AND pid <> pg_backend_pid()), " +
    "(SELECT coalesce(string_agg(slot_name, ','), '') FROM pg_replication_slots WHERE slot_name LIKE 'pgconvoy_serve_%' OR slot_name LIKE 'pg_basebackup_%'), " +
    "(SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'walsender')");
  return { sessions: Number(sessions), slots: (slots ?? '') === '' ? [] : (slots as string).split(','), walsenders: Number(walsenders) };
}

/**
 * Waits until serve holds nothing on the cluster but (when `serveRunning`) its one admin session; fails after
 * `withinMs` with what is left.
 */
export async function expectClusterClean(cluster: LocalCluster, withinMs: number, serveRunning: boolean): Promise<void> {
  const deadline = Date.now() + withinMs;
  let last: ServeFootprint | null = null;
  while (Date.now() < deadline) {
    last = await serveFootprint(cluster);
    if (last.sessions <= (serveRunning ? 1 : 0) && last.slots.length === 0 && last.walsenders === 0) return;
    await sleep(100);
  }
  assert.fail(`after ${withinMs} ms the cluster still holds ${JSON.stringify(last)}`);
}

/** Bytes serve read from the data directory so far (shared and private readers; not WAL), from its last backup-end line. */
export function serveBytesRead(serve: RunningServe): number {
  const ends = serve.events.filter((event) => event.event === 'backup-end');
  const last = ends[ends.length - 1];
  return last === undefined ? 0 : Number(last['serveDataBytesRead']);
}
