/**
 * One timed child process: wall time, CPU time (user and system) and peak resident set size.
 *
 * Resource figures come from GNU time (`/usr/bin/time -f`), because it reads them from wait4()'s rusage: exact,
 * covering every thread and every child the tool waits for (pg_basebackup -X stream forks one), and taken after
 * the process has ended, so nothing at the end is missed. Without GNU time, /proc/<pid>/stat and VmHWM are polled
 * every 20 ms, which misses the last moments and a forked child; the figures are then marked `approximate`.
 *
 * The tool's stdout goes to a file (default /dev/null) or into a pipe read by a consumer command (`pipeTo`,
 * e.g. `cat`), which is how a backup streamed to another program is measured. Only the tool is measured, never
 * the consumer, and the wall time lasts until both have ended. Does not interpret the tool's output.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, openSync } from 'node:fs';
import { readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const GNU_TIME = '/usr/bin/time';
// Clock ticks per second of /proc/<pid>/stat: 100 on every Linux configuration node runs on.
const CLOCK_TICKS = 100;

export interface Measured {
  readonly seconds: number;
  readonly userSeconds: number;
  readonly sysSeconds: number;
  readonly peakRssMb: number;
  /** polled from /proc instead of read from rusage (no GNU time) */
  readonly approximate?: boolean;
}

export interface MeasureOptions {
  /** file receiving the tool's stdout; default /dev/null */
  readonly stdoutPath?: string;
  /** a command reading the tool's stdout through a pipe instead, its own output discarded */
  readonly pipeTo?: readonly string[];
  /** run the tool as this user (pgBackRest refuses root) */
  readonly runAs?: { readonly uid: number; readonly gid: number } | null;
  readonly cwd?: string;
}

export function cpuSeconds(measured: Measured): number {
  return measured.userSeconds + measured.sysSeconds;
}

/** Waits for a child; resolves with its exit status and the tail of its stderr. */
function finished(child: ChildProcess): Promise<{ status: number | null; stderr: string }> {
  return new Promise((resolve, reject) => {
    let stderr = '';
    child.stderr?.setEncoding('utf8').on('data', (text: string) => (stderr = (stderr + text).slice(-4000)));
    child.once('error', reject);
    child.once('close', (code) => resolve({ status: code, stderr }));
  });
}

/** A live process's CPU time so far and its peak RSS, from /proc; rejects once the process is gone. */
export async function procUsage(pid: number): Promise<{ userSeconds: number; sysSeconds: number; peakRssKb: number }> {
  const [stat, status] = await Promise.all([readFile(`/proc/${pid}/stat`, 'utf8'), readFile(`/proc/${pid}/status`, 'utf8')]);
  // Fields after the parenthesised command name; utime and stime are the 14th and 15th of the line.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return {
    userSeconds: Number(fields[11] ?? 0) / CLOCK_TICKS, sysSeconds: Number(fields[12] ?? 0) / CLOCK_TICKS,
    peakRssKb: Number(/^VmHWM:\s+(\d+) kB/m.exec(status)?.[1] ?? 0),
  };
}

/** Polls a process's peak RSS and CPU time while it lives (the fallback when GNU time is missing). */
function pollProc(pid: number): { stop(): { kb: number; user: number; sys: number } } {
  let kb = 0;
  let user = 0;
  let sys = 0;
  const timer = setInterval(() => {
    procUsage(pid).then((usage) => {
      kb = Math.max(kb, usage.peakRssKb);
      user = Math.max(user, usage.userSeconds);
      sys = Math.max(sys, usage.sysSeconds);
    }, () => {});
  }, 20);
  return { stop: () => (clearInterval(timer), { kb, user, sys }) };
}

/**
 * Runs `command` to completion and returns its wall time, CPU time and peak RSS. Throws with the child's stderr
 * when it (or the consumer) fails.
 */
export async function measure(command: readonly string[], opts: MeasureOptions = {}): Promise<Measured> {
  const useGnuTime = existsSync(GNU_TIME);
  const statsFile = useGnuTime ? join(tmpdir(), `pgconvoy-bench-time-${process.pid}-${Math.random().toString(36).slice(2)}`) : null;
  // -o writes the figures to a file of their own, so the tool's stderr stays the tool's; %M is in kilobytes.
  const argv = statsFile === null ? [...command] : [GNU_TIME, '-f', '%M %U %S', '-o', statsFile, ...command];
  const out = opts.pipeTo === undefined ? openSync(opts.stdoutPath ?? '/dev/null', 'w') : null;
  const ids = opts.runAs == null ? {} : { uid: opts.runAs.uid, gid: opts.runAs.gid };
  const started = performance.now();
  try {
    // The consumer is started first and the tool given the write end of its stdin; the parent then closes its
    // own copy, so the consumer sees end-of-file when the tool ends and the parent never touches the bytes.
    const consumer = opts.pipeTo === undefined ? null
      : spawn(opts.pipeTo[0] as string, opts.pipeTo.slice(1), { stdio: ['pipe', 'ignore', 'pipe'] });
    const stdout = consumer === null ? out ?? 'ignore' : consumer.stdin ?? 'ignore';
    const child = spawn(argv[0] as string, argv.slice(1), { stdio: ['ignore', stdout, 'pipe'], ...ids, ...(opts.cwd === undefined ? {} : { cwd: opts.cwd }) });
    consumer?.stdin?.destroy();
    const poll = statsFile === null && child.pid !== undefined ? pollProc(child.pid) : null;
    const [tool, reader] = await Promise.all([finished(child), consumer === null ? null : finished(consumer)]);
    const polled = poll?.stop() ?? null;
    const seconds = (performance.now() - started) / 1000;
    if (tool.status !== 0) throw new Error(`${command.join(' ')} failed (${tool.status ?? 'signal'}):\n${tool.stderr}`);
    if (reader !== null && reader.status !== 0) throw new Error(`${opts.pipeTo?.join(' ')} reading ${command[0]} failed (${reader.status ?? 'signal'}):\n${reader.stderr}`);
    if (polled !== null) return { seconds, userSeconds: polled.user, sysSeconds: polled.sys, peakRssMb: polled.kb / 1024, approximate: true };
    // GNU time puts "Command exited with non-zero status" before the figures when it applies: the last line counts.
    const [kb = 0, user = 0, sys = 0] = (await readFile(statsFile as string, 'utf8')).trim().split('\n').pop()?.split(' ').map(Number) ?? [];
    return { seconds, userSeconds: user, sysSeconds: sys, peakRssMb: kb / 1024 };
  } finally {
    if (out !== null) closeSync(out);
    if (statsFile !== null) await rm(statsFile, { force: true });
  }
}

/** Runs one after another: times add up, the peak is the largest. */
export async function sequential(count: number, one: (index: number) => Promise<Measured>): Promise<Measured> {
  let total: Measured = { seconds: 0, userSeconds: 0, sysSeconds: 0, peakRssMb: 0 };
  for (let index = 0; index < count; index += 1) {
    const run = await one(index);
    total = {
      seconds: total.seconds + run.seconds, userSeconds: total.userSeconds + run.userSeconds, sysSeconds: total.sysSeconds + run.sysSeconds,
      peakRssMb: Math.max(total.peakRssMb, run.peakRssMb), ...(run.approximate === true || total.approximate === true ? { approximate: true } : {}),
    };
  }
  return total;
}
