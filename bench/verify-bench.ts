/**
 * `pgconvoy verify` against `pg_verifybackup` (PostgreSQL 15) on the same plain backup, alternating, with the
 * default checks of both (manifest checksums of every file, and the WAL parsed). Called by backup-bench.ts on a
 * plain backup of its pgbench cluster; run alone it takes `--dir=PLAIN_BACKUP`, or builds its own cluster with
 * --scale=N (default 100) and backs it up with pg_basebackup first.
 *
 * Wall time, CPU time (user+sys) and peak RSS of each tool; with cache 'cold' the page cache is dropped before
 * every run, so both read the backup from the disk.
 *
 * Flags: --dir=DIR | --scale=N, --runs=N (default 5), --tsx.
 */
import { realpathSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { PgInstall } from '../src/cluster/binaries.ts';
import { cpuSeconds, intFlag, measure, median, parseFlags, pgconvoyCommand, requireInstall15, requireTool, scratchDir, startBenchCluster, table, type Measured } from './common.ts';
import { prepareCache, type CacheState } from './page-cache.ts';

export interface VerifyBenchResult {
  readonly cache: CacheState;
  readonly pgVerifybackupSeconds: number;
  readonly pgconvoySeconds: number;
  readonly pgVerifybackupCpuSeconds: number;
  readonly pgconvoyCpuSeconds: number;
  readonly pgVerifybackupPeakMb: number;
  readonly pgconvoyPeakMb: number;
}

export async function runVerifyBench(dir: string, opts: { runs: number; useTsx: boolean; install: PgInstall; log: (line: string) => void; bin?: string; cache?: CacheState }): Promise<VerifyBenchResult> {
  const cache = opts.cache ?? 'warm';
  const pgVerifybackup = requireTool(opts.install, 'pg_verifybackup');
  const convoy = [...pgconvoyCommand(opts.useTsx, opts.bin), 'verify', '-q'];
  const results = { pgVerifybackup: [] as Measured[], pgconvoy: [] as Measured[] };
  for (let run = 0; run < opts.runs; run += 1) {
    const order = run % 2 === 0 ? (['pgVerifybackup', 'pgconvoy'] as const) : (['pgconvoy', 'pgVerifybackup'] as const);
    for (const tool of order) {
      await prepareCache(cache);
      const result = await measure(tool === 'pgconvoy' ? [...convoy, dir] : [pgVerifybackup, '-q', dir]);
      results[tool].push(result);
      opts.log(`verify ${cache} run ${run + 1}/${opts.runs} ${tool === 'pgconvoy' ? 'pgconvoy verify ' : 'pg_verifybackup '} ${result.seconds.toFixed(2)} s, CPU ${cpuSeconds(result).toFixed(2)} s, peak RSS ${result.peakRssMb.toFixed(0)} MB`);
    }
  }
  const theirs = median(results.pgVerifybackup.map((result) => result.seconds));
  const ours = median(results.pgconvoy.map((result) => result.seconds));
  const theirCpu = median(results.pgVerifybackup.map(cpuSeconds));
  const ourCpu = median(results.pgconvoy.map(cpuSeconds));
  const peak = (list: readonly Measured[]): number => Math.max(...list.map((result) => result.peakRssMb));
  opts.log('');
  opts.log(`verify a plain backup (CRC32C manifest, WAL parsed), ${cache} cache, ${opts.runs} runs per tool; target: wall ratio at most 1.0`);
  opts.log(table(['tool', 'median s', 'ratio', 'CPU s', 'CPU ratio', 'peak RSS MB'], [
    ['pg_verifybackup', theirs.toFixed(2), '1.00', theirCpu.toFixed(2), '1.00', peak(results.pgVerifybackup).toFixed(0)],
    ['pgconvoy verify', ours.toFixed(2), (ours / theirs).toFixed(2), ourCpu.toFixed(2), (ourCpu / theirCpu).toFixed(2), peak(results.pgconvoy).toFixed(0)],
  ]));
  return {
    cache, pgVerifybackupSeconds: theirs, pgconvoySeconds: ours, pgVerifybackupCpuSeconds: theirCpu, pgconvoyCpuSeconds: ourCpu,
    pgVerifybackupPeakMb: peak(results.pgVerifybackup), pgconvoyPeakMb: peak(results.pgconvoy),
  };
}

async function main(): Promise<void> {
  const flags = parseFlags(process.argv.slice(2));
  const runs = intFlag(flags, 'runs', 5);
  const log = (line: string): void => void process.stdout.write(`${line}\n`);
  const given = flags.get('dir');
  if (given !== undefined) {
    await runVerifyBench(given, { runs, useTsx: flags.has('tsx'), install: requireInstall15(), log });
    return;
  }
  const cluster = await startBenchCluster(intFlag(flags, 'scale', 100), log);
  try {
    const dir = join(await scratchDir('verify'), 'backup');
    await measure([requireTool(cluster.install, 'pg_basebackup'), '-h', cluster.host, '-p', String(cluster.port), '-U', 'postgres', '-c', 'fast', '-X', 'fetch', '-Fp', '-D', dir]);
    await runVerifyBench(dir, { runs, useTsx: flags.has('tsx'), install: cluster.install, log });
    await rm(dir, { recursive: true, force: true });
  } finally {
    await cluster.stop('fast');
  }
}

const entry = process.argv[1];
if (entry !== undefined && realpathSync(entry) === fileURLToPath(import.meta.url)) await main();
