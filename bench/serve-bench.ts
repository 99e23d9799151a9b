/**
 * `pgconvoy serve` against PostgreSQL's own walsender, with the real pg_basebackup as the client both ways
 * (`-Ft -D - -X fetch -c fast`, output discarded, so the figures are the servers' and not a disk's):
 *
 *   one        one backup directly against the cluster, and one through serve        (target: at most 1.1)
 *   N at once  N backups started together, directly and through serve: wall time of the group (target for
 *              ten: at most half), failures, and the bytes read from the data directory: serve's own counter
 *              through serve; N times one backup's size directly, since every walsender reads every file.
 *              Beside them the third way to make N copies: one `pgconvoy backup -Ft -X fetch` with N
 *              destinations (-D repeated), one walsender, so one read. It cannot discard its output (each -D is
 *              a directory), so its copies go to tmpfs directories, removed after each run: a little more work
 *              than the others' /dev/null, no disk. A size whose N copies would not fit comfortably in memory is
 *              skipped for that column, with the reason printed.
 *
 * Warm and cold: with `cold` among the cache states, the page cache is dropped before each timed group.
 *
 * Called by backup-bench.ts on its cluster; run alone it builds its own (--scale=N, default 100).
 * Flags when alone: --scale=N, --runs=N (default 3), --sizes=1,4,10, --cold (cold rounds too), --tsx, --pgconvoy-bin=PATH.
 */
import { realpathSync } from 'node:fs';
import { rm, statfs } from 'node:fs/promises';
import { freemem } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { LocalCluster } from '../src/cluster/local-cluster.ts';
import { tmpfsDir } from './backup-cases.ts';
import { cpuSeconds, intFlag, measure, median, parseFlags, pgconvoyCommand, requireTool, startBenchCluster, table } from './common.ts';
import { coldUnavailable, prepareCache, type CacheState } from './page-cache.ts';
import { ServeProcess } from './serve-process.ts';

export interface ServeBenchOptions {
  readonly runs: number;
  readonly sizes: readonly number[];
  readonly pgconvoy: readonly string[];
  readonly caches: readonly CacheState[];
  readonly log: (line: string) => void;
}

export interface ServeBenchRow {
  readonly backups: number;
  readonly cache: CacheState;
  readonly directSeconds: number;
  readonly serveSeconds: number;
  /** one `pgconvoy backup` with `backups` destinations; NaN when skipped */
  readonly fanOutSeconds: number;
  readonly directFailures: number;
  readonly serveFailures: number;
  readonly fanOutFailures: number;
  /** bytes read from the data directory for the group, as a multiple of one backup's read */
  readonly directReads: number;
  readonly serveReads: number;
  readonly fanOutReads: number;
  /** CPU time (user+sys) of the group, medians: the clients added up; through serve, serve's own share too */
  readonly directCpuSeconds: number;
  readonly serveCpuSeconds: number;
  /** of which serve itself */
  readonly serveProcessCpuSeconds: number;
  readonly fanOutCpuSeconds: number;
  /** peak RSS: the largest pg_basebackup, serve's own (since it started), the one pgconvoy backup */
  readonly clientPeakMb: number;
  readonly servePeakMb: number;
  readonly fanOutPeakMb: number;
  /** why the fan-out column is empty for this size */
  readonly fanOutSkipped?: string;
}

type Way = 'direct' | 'serve' | 'fanOut';
const LABELS: Record<Way, string> = { direct: 'directly          ', serve: 'through serve     ', fanOut: 'one pgconvoy, N -D' };

interface Group {
  readonly seconds: number;
  readonly failures: number;
  /** CPU time of the clients that succeeded, added up */
  readonly cpuSeconds: number;
  /** the largest client's peak RSS */
  readonly peakRssMb: number;
}

/** N runs of `command` started together: wall time until the last ends, how many failed, their CPU and RSS. */
async function together(count: number, command: readonly string[], log: (line: string) => void): Promise<Group> {
  const started = performance.now();
  const results = await Promise.allSettled(Array.from({ length: count }, () => measure(command)));
  const seconds = (performance.now() - started) / 1000;
  const failed = results.filter((result): result is PromiseRejectedResult => result.status === 'rejected');
  const done = results.flatMap((result) => (result.status === 'fulfilled' ? [result.value] : []));
  const first = failed[0]?.reason;
  if (first !== undefined) log(`  ${failed.length} of ${count} failed; the first: ${String(first instanceof Error ? first.message : first).split('\n').slice(-2).join(' ')}`);
  return { seconds, failures: failed.length, cpuSeconds: done.reduce((sum, m) => sum + cpuSeconds(m), 0), peakRssMb: Math.max(0, ...done.map((m) => m.peakRssMb)) };
}

/** Why one pgconvoy run with `backups` tar destinations on tmpfs should not run here, or null. */
async function fanOutTooBig(backups: number, oneReadBytes: number, shm: string): Promise<string | null> {
  const { bavail, bsize } = await statfs(shm);
  const need = backups * oneReadBytes * 1.1;
  const room = Math.min(bavail * bsize, freemem()) / 2;
  return need <= room ? null
    : `${backups} copies of ${(oneReadBytes / 2 ** 30).toFixed(1)} GiB on tmpfs would take more than half the free memory (${(room * 2 / 2 ** 30).toFixed(1)} GiB)`;
}

export async function runServeBench(cluster: LocalCluster, opts: ServeBenchOptions): Promise<ServeBenchRow[]> {
  const pgBasebackup = requireTool(cluster.install, 'pg_basebackup');
  const shm = await tmpfsDir();
  if (typeof shm !== 'string') throw new Error(`the N-destination column needs tmpfs: ${shm.skipped}`);
  const serve = new ServeProcess(opts.pgconvoy, cluster);
  try {
    const port = await serve.port;
    const args = ['-U', 'postgres', '-w', '-c', 'fast', '-X', 'fetch', '-Ft'];
    const direct = [pgBasebackup, '-h', cluster.host, '-p', String(cluster.port), ...args, '-D', '-'];
    const through = [pgBasebackup, '-h', '127.0.0.1', '-p', String(port), ...args, '-D', '-'];
    const fanOut = (backups: number, run: number): string[] => [...opts.pgconvoy, 'backup', '-h', cluster.host, '-p', String(cluster.port), ...args,
      ...Array.from({ length: backups }, (_, index) => ['-D', join(shm, `n${backups}-r${run}-${index}`)]).flat()];

    // One backup alone through serve gives the unit of "reads of the data directory"; it is also the warm-up.
    const before = serve.dataBytesRead;
    await measure(through);
    const oneRead = serve.dataBytesRead - before;
    await measure(direct);

    const rows: ServeBenchRow[] = [];
    for (const cache of opts.caches) {
      for (const backups of opts.sizes) {
        const skipFanOut = await fanOutTooBig(backups, oneRead, shm);
        if (skipFanOut !== null) opts.log(`serve ${backups} at once: one pgconvoy with ${backups} destinations skipped: ${skipFanOut}`);
        const ways: Way[] = skipFanOut === null ? ['direct', 'serve', 'fanOut'] : ['direct', 'serve'];
        const times: Record<Way, number[]> = { direct: [], serve: [], fanOut: [] };
        const cpu: Record<Way, number[]> = { direct: [], serve: [], fanOut: [] };
        const serveOwnCpu: number[] = [];
        const peaks: Record<Way, number> = { direct: 0, serve: 0, fanOut: 0 };
        const failures: Record<Way, number> = { direct: 0, serve: 0, fanOut: 0 };
        let serveRead = 0;
        for (let run = 0; run < opts.runs; run += 1) {
          // Rotated each round, so no way always follows the same other one.
          const order = ways.map((_, index) => ways[(index + run) % ways.length] as Way);
          for (const way of order) {
            await prepareCache(cache);
            const readBefore = serve.dataBytesRead;
            const usageBefore = await serve.usage();
            const result = way === 'fanOut' ? await alone(fanOut(backups, run), opts.log)
              : backups === 1 ? await alone(way === 'direct' ? direct : through, opts.log)
              : await together(backups, way === 'direct' ? direct : through, opts.log);
            // Untimed: the copies leave tmpfs at once, so the memory is free again for the next run.
            if (way === 'fanOut') await Promise.all(fanOut(backups, run).filter((arg) => arg.startsWith(shm)).map((dir) => rm(dir, { recursive: true, force: true })));
            const serveCpu = (await serve.usage()).cpuSeconds - usageBefore.cpuSeconds;
            times[way].push(result.seconds);
            failures[way] += result.failures;
            peaks[way] = Math.max(peaks[way], result.peakRssMb);
            cpu[way].push(result.cpuSeconds + (way === 'serve' ? serveCpu : 0));
            if (way === 'serve') serveOwnCpu.push(serveCpu);
            if (way === 'serve') serveRead = Math.max(serveRead, serve.dataBytesRead - readBefore);
            opts.log(`serve ${backups} at once, ${cache}, run ${run + 1}/${opts.runs}, ${LABELS[way]} ${result.seconds.toFixed(2)} s, ` +
              `CPU ${cpu[way].at(-1)?.toFixed(2) ?? '?'} s${way === 'serve' ? ` (serve ${serveCpu.toFixed(2)})` : ''}, ${result.failures} failed`);
          }
        }
        rows.push({
          backups, cache, directSeconds: median(times.direct), serveSeconds: median(times.serve),
          fanOutSeconds: skipFanOut === null ? median(times.fanOut) : Number.NaN,
          directFailures: failures.direct, serveFailures: failures.serve, fanOutFailures: failures.fanOut,
          // Every walsender reads every file; one pgconvoy run has one walsender, whatever its destinations.
          directReads: backups, serveReads: oneRead === 0 ? Number.NaN : serveRead / oneRead, fanOutReads: skipFanOut === null ? 1 : Number.NaN,
          directCpuSeconds: median(cpu.direct), serveCpuSeconds: median(cpu.serve), serveProcessCpuSeconds: median(serveOwnCpu),
          fanOutCpuSeconds: skipFanOut === null ? median(cpu.fanOut) : Number.NaN,
          clientPeakMb: Math.max(peaks.direct, peaks.serve), servePeakMb: (await serve.usage()).peakRssMb, fanOutPeakMb: skipFanOut === null ? peaks.fanOut : Number.NaN,
          ...(skipFanOut === null ? {} : { fanOutSkipped: skipFanOut }),
        });
      }
    }
    printTable(rows, opts, oneRead, { direct, through, fanOut: fanOut(2, 0) });
    return rows;
  } finally {
    await serve.stop();
  }
}

/** One run of `command` as a group of one: its wall time, and whether it failed. */
async function alone(command: readonly string[], log: (line: string) => void): Promise<Group> {
  return together(1, command, log);
}

function printTable(rows: readonly ServeBenchRow[], opts: ServeBenchOptions, oneRead: number, commands: Record<'direct' | 'through' | 'fanOut', readonly string[]>): void {
  const fixed = (value: number): string => (Number.isNaN(value) ? 'skipped' : value.toFixed(2));
  opts.log('');
  opts.log(`N at once: N pg_basebackup directly, N through pgconvoy serve, one pgconvoy backup with N destinations; ${opts.runs} run(s), medians; ` +
    `reads of the data directory in units of one backup's ${(oneRead / 1048576).toFixed(0)} MB; target for serve: 1 at most 1.1, 10 at most 0.5 of directly`);
  opts.log(table(['N', 'cache', 'direct s', 'serve s', 'ratio', '1 pgconvoy s', 'ratio', 'CPU s d/s/p', 'failed d/s/p', 'reads d/s/p', 'peak MB client/serve/p'], rows.map((row) => [
    String(row.backups), row.cache, row.directSeconds.toFixed(2), row.serveSeconds.toFixed(2), (row.serveSeconds / row.directSeconds).toFixed(2),
    fixed(row.fanOutSeconds), fixed(row.fanOutSeconds / row.directSeconds),
    `${row.directCpuSeconds.toFixed(2)}/${row.serveCpuSeconds.toFixed(2)}/${fixed(row.fanOutCpuSeconds)}`,
    `${row.directFailures}/${row.serveFailures}/${row.fanOutFailures}`, `${row.directReads.toFixed(2)}/${row.serveReads.toFixed(2)}/${fixed(row.fanOutReads)}`,
    `${row.clientPeakMb.toFixed(0)}/${row.servePeakMb.toFixed(0)}/${Number.isNaN(row.fanOutPeakMb) ? 'skipped' : row.fanOutPeakMb.toFixed(0)}`,
  ])));
  opts.log('  d: N pg_basebackup directly; s: N through serve (CPU: the clients and serve itself); p: one pgconvoy backup with N destinations');
  opts.log(`  direct: ${commands.direct.join(' ')} > /dev/null (N at once)`);
  opts.log(`  serve:  ${commands.through.join(' ')} > /dev/null (N at once)`);
  opts.log(`  one pgconvoy, e.g. N=2: ${commands.fanOut.join(' ')}`);
}

async function main(): Promise<void> {
  const flags = parseFlags(process.argv.slice(2));
  const log = (line: string): void => void process.stdout.write(`${line}\n`);
  const cluster = await startBenchCluster(intFlag(flags, 'scale', 100), log);
  try {
    await runServeBench(cluster, {
      runs: intFlag(flags, 'runs', 3),
      sizes: (flags.get('sizes') ?? '1,4,10').split(',').map(Number),
      pgconvoy: pgconvoyCommand(flags.has('tsx'), flags.get('pgconvoy-bin')),
      caches: flags.has('cold') && coldUnavailable() === null ? ['warm', 'cold'] : ['warm'],
      log,
    });
  } finally {
    await cluster.stop('fast');
  }
}

const entry = process.argv[1];
if (entry !== undefined && realpathSync(entry) === fileURLToPath(import.meta.url)) await main();
