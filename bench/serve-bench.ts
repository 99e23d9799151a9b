/**
 * `pgconvoy serve` against PostgreSQL's own walsender, with the real pg_basebackup as the client both ways
 * (`-Ft -D - -X fetch -c fast`, output discarded, so the figures are the servers' and not a disk's):
 *
 *   one        one backup directly against the cluster, and one through serve        (target: at most 1.1)
 *   N at once  N backups started together, directly and through serve: wall time of the group (target for
 *              ten: at most half), failures, and the bytes read from the data directory: serve's own counter
 *              through serve; N times one backup's size directly, since every walsender reads every file
 *
 * Called by backup-bench.ts on its cluster; run alone it builds its own (--scale=N, default 100).
 * Flags when alone: --scale=N, --runs=N (default 3), --sizes=1,4,10, --tsx, --pgconvoy-bin=PATH.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { LocalCluster } from '../src/cluster/local-cluster.ts';
import { intFlag, measure, median, parseFlags, pgconvoyCommand, requireTool, startBenchCluster, table, type Measured } from './common.ts';

export interface ServeBenchOptions {
  readonly runs: number;
  readonly sizes: readonly number[];
  readonly pgconvoy: readonly string[];
  readonly log: (line: string) => void;
}

export interface ServeBenchRow {
  readonly backups: number;
  readonly directSeconds: number;
  readonly serveSeconds: number;
  readonly directFailures: number;
  readonly serveFailures: number;
  /** bytes read from the data directory for the group, as a multiple of one backup's read */
  readonly directReads: number;
  readonly serveReads: number;
}

/** serve as a child process, its JSON log followed for the listening port and the read counter. */
class ServeProcess {
  readonly #child: ChildProcess;
  #dataBytesRead = 0;
  readonly port: Promise<number>;

  constructor(command: readonly string[], cluster: LocalCluster) {
    this.#child = spawn(command[0] as string, [...command.slice(1), 'serve', '--pgdata', cluster.dataDir,
      '-d', `host=${cluster.host} port=${cluster.port} user=postgres dbname=postgres`,
      '--listen', '127.0.0.1:0', '--log-format', 'json', '--max-backups', '32'], { stdio: ['ignore', 'ignore', 'pipe'] });
    let partial = '';
    let tail = '';
    this.port = new Promise((resolve, reject) => {
      this.#child.stderr?.setEncoding('utf8').on('data', (text: string) => {
        tail = (tail + text).slice(-4000);
        const lines = (partial + text).split('\n');
        partial = lines.pop() ?? '';
        for (const line of lines) {
          if (!line.startsWith('{')) continue;
          const event = JSON.parse(line) as Record<string, unknown>;
          if (event['event'] === 'listening') resolve(Number(event['port']));
          if (event['event'] === 'backup-end') this.#dataBytesRead = Math.max(this.#dataBytesRead, Number(event['serveDataBytesRead']));
        }
      });
      this.#child.once('exit', (code) => reject(new Error(`serve exited (${code ?? 'signal'}) before listening:\n${tail}`)));
    });
  }

  /** Data-directory bytes read so far, as of the last backup that ended. */
  get dataBytesRead(): number {
    return this.#dataBytesRead;
  }

  async stop(): Promise<void> {
    if (this.#child.exitCode !== null) return;
    const exited = new Promise((resolve) => this.#child.once('exit', resolve));
    this.#child.kill('SIGTERM');
    await exited;
  }
}

/** N runs of `command` started together: wall time until the last ends, and how many failed. */
async function together(count: number, command: readonly string[], log: (line: string) => void): Promise<{ seconds: number; failures: number }> {
  const started = performance.now();
  const results = await Promise.allSettled(Array.from({ length: count }, () => measure(command)));
  const seconds = (performance.now() - started) / 1000;
  const failed = results.filter((result): result is PromiseRejectedResult => result.status === 'rejected');
  const first = failed[0]?.reason;
  if (first !== undefined) log(`  ${failed.length} of ${count} failed; the first: ${String(first instanceof Error ? first.message : first).split('\n').slice(-2).join(' ')}`);
  return { seconds, failures: failed.length };
}

export async function runServeBench(cluster: LocalCluster, opts: ServeBenchOptions): Promise<ServeBenchRow[]> {
  const pgBasebackup = requireTool(cluster.install, 'pg_basebackup');
  const serve = new ServeProcess(opts.pgconvoy, cluster);
  try {
    const port = await serve.port;
    const args = ['-U', 'postgres', '-w', '-c', 'fast', '-X', 'fetch', '-Ft', '-D', '-'];
    const direct = [pgBasebackup, '-h', cluster.host, '-p', String(cluster.port), ...args];
    const through = [pgBasebackup, '-h', '127.0.0.1', '-p', String(port), ...args];

    // One backup alone through serve gives the unit of "reads of the data directory"; it is also the warm-up.
    const before = serve.dataBytesRead;
    await measure(through);
    const oneRead = serve.dataBytesRead - before;
    await measure(direct);

    const rows: ServeBenchRow[] = [];
    for (const backups of opts.sizes) {
      const times = { direct: [] as number[], serve: [] as number[] };
      const failures = { direct: 0, serve: 0 };
      let serveRead = 0;
      for (let run = 0; run < opts.runs; run += 1) {
        const order = run % 2 === 0 ? (['direct', 'serve'] as const) : (['serve', 'direct'] as const);
        for (const way of order) {
          const readBefore = serve.dataBytesRead;
          const result = backups === 1
            ? await measure(way === 'direct' ? direct : through).then((m: Measured) => ({ seconds: m.seconds, failures: 0 }))
            : await together(backups, way === 'direct' ? direct : through, opts.log);
          times[way].push(result.seconds);
          failures[way] += result.failures;
          if (way === 'serve') serveRead = Math.max(serveRead, serve.dataBytesRead - readBefore);
          opts.log(`serve ${backups} at once, run ${run + 1}/${opts.runs}, ${way === 'direct' ? 'directly     ' : 'through serve'} ${result.seconds.toFixed(2)} s, ${result.failures} failed`);
        }
      }
      rows.push({
        backups, directSeconds: median(times.direct), serveSeconds: median(times.serve),
        directFailures: failures.direct, serveFailures: failures.serve,
        directReads: backups, serveReads: oneRead === 0 ? Number.NaN : serveRead / oneRead,
      });
    }
    opts.log('');
    opts.log(`pg_basebackup -Ft -D - -X fetch -c fast, directly and through pgconvoy serve; ${opts.runs} runs, medians; ` +
      `reads of the data directory in units of one backup's ${(oneRead / 1048576).toFixed(0)} MB`);
    opts.log(table(['backups at once', 'direct s', 'serve s', 'ratio', 'failed direct/serve', 'reads direct', 'reads serve'], rows.map((row) => [
      String(row.backups), row.directSeconds.toFixed(2), row.serveSeconds.toFixed(2), (row.serveSeconds / row.directSeconds).toFixed(2),
      `${row.directFailures}/${row.serveFailures}`, row.directReads.toFixed(2), row.serveReads.toFixed(2),
    ])));
    return rows;
  } finally {
    await serve.stop();
  }
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
      log,
    });
  } finally {
    await cluster.stop('fast');
  }
}

const entry = process.argv[1];
if (entry !== undefined && realpathSync(entry) === fileURLToPath(import.meta.url)) await main();
