/**
 * What every fault file shares: the printed seed and the trial counts, a tally of trials and clean outcomes per
 * scenario, and the checks that follow every trial (the server holds nothing of ours; nothing on disk looks like a
 * complete backup unless it verifies).
 *
 * Seeds: FAULT_SEED replays a run (default: a fresh seed, printed first thing in every file). Each trial draws from
 * its own stream, derived from (seed, scenario, trial number), so a trial's moments and choices do not depend on how
 * the trials before it went; replaying a seed with --test-name-pattern for one scenario gives the same trials.
 * FAULT_TRIALS multiplies every scenario's default trial count (2 doubles them, 0.5 halves them; at least one).
 *
 * A trial that fails does not stop its scenario: the remaining trials still run and count, and the scenario fails
 * at the end with every failed trial, its parameters and the seed. Waits have ceilings only so that a hang becomes
 * a message; no assertion is about how fast anything happened.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { TestContext } from 'node:test';
import { psql, type LocalCluster, type TestCluster } from '../integration/harness.ts';
import { expectRemoved as expectRemovedWithin, seededRandom, verifyBackup, waitFor } from '../integration/concurrency/helpers.ts';

export { seededRandom, waitFor };

/** Generous ceiling for anything that should happen "soon" (cleanup after a kill, a refused connection closing). */
export const SETTLE_CEILING_MS = 30_000;

function parseSeed(text: string | undefined): number {
  if (text === undefined || text === '') return Math.floor(Math.random() * 2 ** 31);
  const seed = Number(text);
  if (!Number.isInteger(seed)) throw new Error(`FAULT_SEED must be an integer, not "${text}"`);
  return seed >>> 0;
}

export const FAULT_SEED = parseSeed(process.env['FAULT_SEED']);
const TRIAL_FACTOR = Number(process.env['FAULT_TRIALS'] ?? '1');
if (!(TRIAL_FACTOR > 0)) throw new Error(`FAULT_TRIALS must be a positive number, not "${process.env['FAULT_TRIALS'] ?? ''}"`);

/** A scenario's default trial count, scaled by FAULT_TRIALS. */
export function trials(defaultCount: number): number {
  return Math.max(1, Math.round(defaultCount * TRIAL_FACTOR));
}

/** FNV-1a over the text, mixed with the seed: one independent stream per (seed, scenario, trial). */
function streamSeed(scenario: string, trial: number): number {
  let hash = 0x811c9dc5 ^ FAULT_SEED;
  for (const char of `${scenario}#${trial}`) hash = Math.imul(hash ^ char.charCodeAt(0), 0x01000193);
  return hash >>> 0;
}

/** Seeded choices for one trial. */
export class Dice {
  readonly #next: () => number;

  constructor(seed: number) {
    this.#next = seededRandom(seed);
  }

  /** [0, 1) */
  unit(): number {
    return this.#next();
  }

  /** An integer in [min, max]. */
  int(min: number, max: number): number {
    return min + Math.floor(this.#next() * (max - min + 1));
  }

  pick<T>(items: readonly T[]): T {
    assert.ok(items.length > 0, 'pick from an empty list');
    return items[Math.floor(this.#next() * items.length)] as T;
  }

  chance(probability: number): boolean {
    return this.#next() < probability;
  }

  bytes(length: number): Buffer {
    const out = Buffer.alloc(length);
    for (let i = 0; i < length; i += 1) out[i] = Math.floor(this.#next() * 256);
    return out;
  }
}

export interface TrialContext {
  readonly index: number;
  readonly dice: Dice;
  /** What this trial does, for the failure message; set it as soon as the choices are made. */
  describe(text: string): void;
  /** A detail of how it went (printed with the outcome, not counted). */
  note(text: string): void;
}

interface ScenarioCount {
  trials: number;
  clean: number;
  readonly outcomes: Map<string, number>;
}

/** Trials and clean outcomes per scenario of one file, printed by `printTally` at the end. */
export class FaultTally {
  readonly #scenarios = new Map<string, ScenarioCount>();

  /**
   * Runs `count` trials of `scenario`. `body` returns a short outcome class ("aborted", "completed, verified"...)
   * that the tally counts; a thrown error marks the trial unclean. Fails the calling test at the end if any
   * trial was unclean, listing them all.
   */
  async run(t: TestContext, scenario: string, count: number, body: (trial: TrialContext) => Promise<string>,
    between?: () => Promise<void>): Promise<void> {
    const entry: ScenarioCount = this.#scenarios.get(scenario) ?? { trials: 0, clean: 0, outcomes: new Map() };
    this.#scenarios.set(scenario, entry);
    const failures: string[] = [];
    t.diagnostic(`${scenario}: ${count} trials, seed ${FAULT_SEED}`);
    for (let index = 0; index < count; index += 1) {
      let described = '';
      const notes: string[] = [];
      const trial: TrialContext = {
        index, dice: new Dice(streamSeed(scenario, index)),
        describe: (text) => { described = text; },
        note: (text) => { notes.push(text); },
      };
      entry.trials += 1;
      try {
        const outcome = await body(trial);
        entry.clean += 1;
        entry.outcomes.set(outcome, (entry.outcomes.get(outcome) ?? 0) + 1);
        t.diagnostic(`${scenario} #${index}: ${described} -> ${outcome}${notes.length === 0 ? '' : ` (${notes.join('; ')})`}`);
      } catch (error) {
        const message = error instanceof Error ? error.message : String(error);
        failures.push(`#${index} (${described}): ${message}`);
        t.diagnostic(`${scenario} #${index}: ${described} -> NOT CLEAN: ${message.split('\n')[0] ?? ''}`);
      }
      await between?.().catch(() => {});
    }
    if (failures.length > 0) {
      assert.fail(`${failures.length} of ${count} trials of "${scenario}" were not clean ` +
        `(replay: FAULT_SEED=${FAULT_SEED} --test-name-pattern '${scenario}'):\n${failures.join('\n')}`);
    }
  }

  /** Adds an outcome counted outside `run` (a scenario that is one long trial, e.g. the fuzzer). */
  count(scenario: string, trialsDone: number, clean: number, outcomes: Record<string, number> = {}): void {
    const entry: ScenarioCount = this.#scenarios.get(scenario) ?? { trials: 0, clean: 0, outcomes: new Map() };
    this.#scenarios.set(scenario, entry);
    entry.trials += trialsDone;
    entry.clean += clean;
    for (const [name, n] of Object.entries(outcomes)) entry.outcomes.set(name, (entry.outcomes.get(name) ?? 0) + n);
  }

  print(t: TestContext): void {
    t.diagnostic(`fault seed ${FAULT_SEED} (FAULT_SEED to replay, FAULT_TRIALS=${TRIAL_FACTOR} to scale)`);
    for (const [scenario, entry] of this.#scenarios) {
      const outcomes = [...entry.outcomes].map(([name, n]) => `${n} ${name}`).join(', ');
      t.diagnostic(`${scenario}: ${entry.trials} trials, ${entry.clean} clean${outcomes === '' ? '' : ` (${outcomes})`}`);
    }
  }
}

export interface ClusterState {
  /** Rows of pg_stat_progress_basebackup. */
  readonly backups: number;
  /** Slots of pgconvoy (backup and serve) and of pg_basebackup. */
  readonly slots: string[];
  readonly walsenders: number;
  /** SQL sessions of pgconvoy serve (its admin session and one per backup). */
  readonly serveSessions: number;
}

export async function clusterState(cluster: LocalCluster): Promise<ClusterState> {
  const [[backups = '0', slots = '', walsenders = '0', serveSessions = '0'] = []] = await psql(cluster,
    'SELECT (SELECT count(*) FROM pg_stat_progress_basebackup), ' +
    "(SELECT coalesce(string_agg(slot_name, ','), '') FROM pg_replication_slots WHERE slot_name LIKE 'pgconvoy%' OR slot_name LIKE 'pg_basebackup_%'), " +
    "(SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'walsender'), " +
    "(SELECT count(*) FROM pg_stat_activity WHERE application_name LIKE 'pgconvoy serve%' AND pid <> pg_backend_pid())");
  return {
    backups: Number(backups),
    slots: (slots ?? '') === '' ? [] : (slots as string).split(','),
    walsenders: Number(walsenders),
    serveSessions: Number(serveSessions),
  };
}

/**
 * Waits until the cluster runs no backup, holds no slot of ours and no walsender, and each running serve (`serves`,
 * default none) holds only its admin session. Returns the milliseconds it took (for diagnostics only).
 */
export async function expectClean(cluster: LocalCluster, opts: { serves?: number } = {}): Promise<number> {
  const allowedSessions = opts.serves ?? 0;
  let last: ClusterState | null = null;
  try {
    return await waitFor('the cluster to hold nothing of ours', async () => {
      last = await clusterState(cluster);
      return last.backups === 0 && last.slots.length === 0 && last.walsenders === 0 && last.serveSessions <= allowedSessions;
    }, SETTLE_CEILING_MS, 100);
  } catch {
    const sessions = await psql(cluster, "SELECT backend_type, application_name, state, left(query, 80), backend_start::time(0), " +
      "wait_event FROM pg_stat_activity WHERE backend_type = 'walsender' OR application_name LIKE 'pgconvoy serve%'").catch(() => []);
    assert.fail(`the cluster still holds ${JSON.stringify(last)} after ${SETTLE_CEILING_MS} ms: ` +
      sessions.map((row) => row.map((field) => field ?? '').join(' / ')).join('; '));
  }
}

/** The state as it settles, never failing: used between trials so one unclean trial does not spoil the next. */
export async function settle(cluster: LocalCluster, opts: { serves?: number } = {}): Promise<void> {
  await expectClean(cluster, opts).catch(() => {});
}

/**
 * The rule for what a fault leaves on disk: a directory holding backup_manifest looks complete, so it must verify
 * (pg_verifybackup of the cluster's major, tar backups extracted first). Returns the directories that did.
 */
export async function expectNothingFalselyComplete(cluster: TestCluster, dirs: readonly string[]): Promise<string[]> {
  const complete: string[] = [];
  for (const dir of dirs) {
    if (!existsSync(join(dir, 'backup_manifest'))) continue;
    await verifyBackup(cluster, dir);
    complete.push(dir);
  }
  return complete;
}

/** A directory the failed run must have removed (or emptied, when it existed before), within the ceiling. */
export async function expectRemoved(dir: string, existedBefore: boolean): Promise<void> {
  await expectRemovedWithin(dir, existedBefore, SETTLE_CEILING_MS);
}

/** Every process below `pid` (children, grandchildren...), read from /proc. */
export async function descendants(pid: number): Promise<number[]> {
  const parents = new Map<number, number[]>();
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = await readFile(`/proc/${entry}/stat`, 'utf8').catch(() => null);
    // pid (comm) state ppid ...: comm may hold spaces and parentheses, so split after the last ')'
    const ppid = stat === null ? NaN : Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
    if (!Number.isInteger(ppid)) continue;
    parents.set(ppid, [...(parents.get(ppid) ?? []), Number(entry)]);
  }
  const found: number[] = [];
  const queue = [pid];
  for (let next = queue.shift(); next !== undefined; next = queue.shift()) {
    for (const child of parents.get(next) ?? []) {
      found.push(child);
      queue.push(child);
    }
  }
  return found;
}

/**
 * SIGKILL to a process and everything it forked (pg_basebackup -X stream forks its WAL receiver). Each process is
 * stopped (SIGSTOP) before its children are listed, so none forks one after the list was read: a child forked in
 * that gap would outlive the kill, holding the victim's output pipes open.
 */
export async function killTree(pid: number): Promise<void> {
  const stopped = new Set<number>();
  for (let next = [pid]; next.length > 0;) {
    for (const target of next) {
      signal(target, 'SIGSTOP');
      stopped.add(target);
    }
    next = (await descendants(pid)).filter((child) => !stopped.has(child));
  }
  for (const target of stopped) signal(target, 'SIGKILL');
}

function signal(pid: number, name: NodeJS.Signals): void {
  try {
    process.kill(pid, name);
  } catch {
    // already gone
  }
}

/** VmRSS of a process in kB, from /proc/<pid>/status. */
export async function rssKb(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const match = /^VmRSS:\s+(\d+) kB$/m.exec(status);
  assert.ok(match !== null, `no VmRSS for ${pid}`);
  return Number(match[1]);
}

/** Sleeps a random moment in [0, maxMs) drawn from the trial's dice; returns it. */
export async function randomMoment(dice: Dice, maxMs: number): Promise<number> {
  const ms = Math.floor(dice.unit() * maxMs);
  await sleep(ms);
  return ms;
}
