/**
 * What the concurrency tests share: running `pgconvoy backup` as a child we can signal, reading what the server
 * still holds for a backup (progress rows, our slots, walsenders), judging a finished backup with the real
 * pg_verifybackup, and a seeded random source so a failing "kill at a random moment" run can be replayed.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { extractTarBackup, pgVerifybackup } from '../verify/tools.ts';
import { psql, REPO_ROOT, tmpDir, type CliResult, type TestCluster } from '../harness.ts';

export const SLOT_PREFIX = 'pgconvoy_';

/** Connection flags for `pgconvoy backup` against a test cluster. */
export function serverArgs(cluster: TestCluster): string[] {
  return ['-h', cluster.host, '-p', String(cluster.port), '-U', 'postgres'];
}

export interface RunningCli {
  readonly child: ChildProcess;
  readonly result: Promise<CliResult>;
  /** Peak resident set size in kB, when started with `measureRss`. */
  peakRssKb(): Promise<number | null>;
}

/**
 * Like the harness's runCli, but the caller gets the child to signal it. With `measureRss` the CLI runs under
 * GNU time, whose report (`peak_rss_kb=N`) is taken off stderr.
 */
export function startCli(args: string[], opts: { timeoutMs?: number; measureRss?: boolean } = {}): RunningCli {
  const env: NodeJS.ProcessEnv = { ...process.env };
  delete env['NODE_TEST_CONTEXT'];
  const node = [process.execPath, '--import', import.meta.resolve('tsx'), `${REPO_ROOT}src/cli/main.ts`, ...args];
  const command = opts.measureRss === true ? ['/usr/bin/time', '-f', 'peak_rss_kb=%M', ...node] : node;
  const child = spawn(command[0] as string, command.slice(1), {
    cwd: REPO_ROOT, env, stdio: ['ignore', 'pipe', 'pipe'], timeout: opts.timeoutMs ?? 180_000, killSignal: 'SIGKILL',
  });
  let stdout = '';
  let stderr = '';
  child.stdout?.setEncoding('utf8').on('data', (text: string) => (stdout += text));
  child.stderr?.setEncoding('utf8').on('data', (text: string) => (stderr += text));
  const result = new Promise<CliResult>((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (status, signal) => resolve({ status, signal, stdout, stderr }));
  });
  return {
    child,
    result,
    async peakRssKb() {
      const { stderr: text } = await result;
      const match = /peak_rss_kb=(\d+)/.exec(text);
      return match === null ? null : Number(match[1]);
    },
  };
}

export interface ServerBackupState {
  /** Rows of pg_stat_progress_basebackup: backups the server is running. */
  readonly backups: number;
  readonly phases: string[];
  /** Slots whose name starts with pgconvoy_. */
  readonly slots: string[];
  readonly walsenders: number;
}

export async function serverBackupState(cluster: TestCluster): Promise<ServerBackupState> {
  const [[backups = '0', phases = '', slots = '', walsenders = '0'] = []] = await psql(cluster,
    'SELECT (SELECT count(*) FROM pg_stat_progress_basebackup), ' +
    "(SELECT coalesce(string_agg(phase, ','), '') FROM pg_stat_progress_basebackup), " +
    `(SELECT coalesce(string_agg(slot_name, ','), '') FROM pg_replication_slots WHERE slot_name LIKE '${SLOT_PREFIX}%'), ` +
    "(SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'walsender')");
  return {
    backups: Number(backups),
    phases: (phases ?? '') === '' ? [] : (phases as string).split(','),
    slots: (slots ?? '') === '' ? [] : (slots as string).split(','),
    walsenders: Number(walsenders),
  };
}

/** Polls until `condition` holds; returns how long that took. */
export async function waitFor(what: string, condition: () => Promise<boolean>, timeoutMs = 20_000, pollMs = 100): Promise<number> {
  const startedAt = Date.now();
  while (!(await condition())) {
    if (Date.now() - startedAt > timeoutMs) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(pollMs);
  }
  return Date.now() - startedAt;
}

/**
 * Waits until the server runs no backup, holds no slot of ours and no walsender; fails after `withinMs`
 * with what is left. Returns the time it took.
 */
export async function expectServerClean(cluster: TestCluster, withinMs: number): Promise<number> {
  let last: ServerBackupState | null = null;
  try {
    return await waitFor('the server to forget the backup', async () => {
      last = await serverBackupState(cluster);
      return last.backups === 0 && last.slots.length === 0 && last.walsenders === 0;
    }, withinMs);
  } catch {
    assert.fail(`after ${withinMs} ms the server still has ${JSON.stringify(last)}`);
  }
}

/** Waits until the server reports a backup in `phase` (e.g. 'streaming database files'). */
export function waitForPhase(cluster: TestCluster, phase: string, timeoutMs = 30_000): Promise<number> {
  return waitFor(`a backup in phase "${phase}"`, async () => (await serverBackupState(cluster)).phases.includes(phase), timeoutMs, 50);
}

/**
 * pg_verifybackup (of the cluster's major or newer) on a plain backup, or on a tar backup extracted first;
 * returns the plain directory that was judged.
 */
export async function verifyBackup(cluster: TestCluster, dir: string): Promise<string> {
  let target = dir;
  if (existsSync(join(dir, 'base.tar')) || existsSync(join(dir, 'base.tar.gz'))) {
    target = await tmpDir('extracted');
    assert.ok(await extractTarBackup(dir, target), `extracting ${dir}`);
  }
  const result = await pgVerifybackup(cluster, target);
  assert.equal(result.status, 0, `pg_verifybackup ${dir}: ${result.stderr}${result.stdout}`);
  return target;
}

/** START WAL LOCATION and LABEL of a plain backup's backup_label. */
export async function readBackupLabel(dir: string): Promise<{ startWal: string; label: string }> {
  const text = await readFile(join(dir, 'backup_label'), 'utf8');
  const startWal = /^START WAL LOCATION: (\S+)/m.exec(text)?.[1];
  const label = /^LABEL: (.*)$/m.exec(text)?.[1];
  assert.ok(startWal !== undefined && label !== undefined, `backup_label of ${dir}: ${text}`);
  return { startWal, label };
}

/** Files directly in `dir`, or null when it does not exist. */
export async function listDir(dir: string): Promise<string[] | null> {
  try {
    return (await readdir(dir)).sort();
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw error;
  }
}

/** A directory a failed run must have removed (or emptied, when it existed before), within `withinMs`. */
export async function expectRemoved(dir: string, existedBefore: boolean, withinMs: number): Promise<void> {
  try {
    await waitFor(`"${dir}" to be ${existedBefore ? 'emptied' : 'removed'}`, async () => {
      const left = await listDir(dir);
      return existedBefore ? left !== null && left.length === 0 : left === null;
    }, withinMs, 100);
  } catch {
    assert.fail(`"${dir}" still holds ${JSON.stringify(await listDir(dir))}`);
  }
}

/** mulberry32: tiny, seedable, good enough to pick kill moments that a failing run can replay. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
