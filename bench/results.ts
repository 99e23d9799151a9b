/**
 * Where a run's figures go: bench/results/<timestamp>.json and latest.json (every figure, every run, the command
 * lines, what was skipped and why, what broke), and latest.svg, the chart of its ratios that the README shows.
 * Only writes what the sections measured; it computes nothing but the chart's ratios.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import { renderChart, type ChartBar } from './chart.ts';
import { REPO_ROOT } from './common.ts';
import type { ServeBenchRow } from './serve-bench.ts';
import { TARGETS, type SingleBenchRow } from './single-bench.ts';
import type { SlowDiskResult } from './slow-disk-bench.ts';
import type { VerifyBenchResult } from './verify-bench.ts';

export interface BenchResults {
  readonly scale: number;
  readonly runs: number;
  readonly quick: boolean;
  readonly caches: readonly string[];
  readonly targets: typeof TARGETS;
  readonly backup: readonly SingleBenchRow[];
  readonly verify: readonly VerifyBenchResult[];
  readonly serve: readonly ServeBenchRow[];
  readonly slowDisk: SlowDiskResult | null;
  /** section or case → why it did not run */
  readonly skipped: Readonly<Record<string, string>>;
  /** section → the error that broke it */
  readonly failed: Readonly<Record<string, string>>;
}

function bars(results: BenchResults): ChartBar[] {
  const cold = results.caches.length > 1;
  return [
    ...results.backup.map((row) => ({
      label: `${row.scenario}${cold ? `, ${row.cache}` : ''}`, ratio: row.wallRatio, cpuRatio: row.cpuRatio, against: `vs ${row.reference}`,
    })),
    ...results.verify.map((row) => ({
      label: `verify a plain backup${cold ? `, ${row.cache}` : ''}`, ratio: row.pgconvoySeconds / row.pgVerifybackupSeconds,
      cpuRatio: row.pgconvoyCpuSeconds / row.pgVerifybackupCpuSeconds, against: 'vs pg_verifybackup',
    })),
    ...results.serve.flatMap((row) => {
      const where = cold ? `, ${row.cache}` : '';
      // The issue's targets: one through serve at most 1.1 times directly, ten at most half.
      const serveTarget = row.backups === 1 ? 1.1 : row.backups >= 10 ? 0.5 : 1;
      return [
        {
          label: `${row.backups} pg_basebackup via serve${where}`, ratio: row.serveSeconds / row.directSeconds, target: serveTarget,
          cpuRatio: row.serveCpuSeconds / row.directCpuSeconds, against: `vs directly (reads ${row.serveReads.toFixed(2)} vs ${row.directReads})`,
        },
        ...(Number.isNaN(row.fanOutSeconds) ? [] : [{
          label: `1 pgconvoy, ${row.backups} -D${where}`, ratio: row.fanOutSeconds / row.directSeconds,
          cpuRatio: row.fanOutCpuSeconds / row.directCpuSeconds, against: `vs ${row.backups} pg_basebackup (reads 1 vs ${row.directReads})`,
        }]),
      ];
    }),
    // The issue's targets: drifting arrivals at most 0.7 times the wall time of directly; together no slower.
    ...(results.slowDisk?.rows ?? []).map((row) => ({
      label: `slow disk: ${row.backups} ${row.arrival} via serve`, ratio: row.serveSeconds / row.directSeconds, target: row.arrival === 'together' ? 1 : 0.7,
      against: `vs directly (disk reads ${row.serveDiskReads.toFixed(2)} vs ${row.directDiskReads.toFixed(2)})`,
    })),
  ];
}

export async function writeResults(results: BenchResults, log: (line: string) => void): Promise<void> {
  const dir = join(REPO_ROOT, 'bench', 'results');
  await mkdir(dir, { recursive: true });
  const when = new Date().toISOString();
  const machine = `${cpus().length} cores (${cpus()[0]?.model ?? 'unknown'}), ${(totalmem() / 2 ** 30).toFixed(0)} GiB`;
  const json = `${JSON.stringify({ when, machine, ...results }, null, 2)}\n`;
  await writeFile(join(dir, `${when.replaceAll(':', '-')}.json`), json);
  await writeFile(join(dir, 'latest.json'), json);
  const subtitle = `${when.slice(0, 10)}, ${machine}, pgbench scale ${results.scale}, ${results.runs} run(s), medians, ${results.caches.join(' and ')} cache`;
  await writeFile(join(dir, 'latest.svg'), renderChart('pgconvoy / the reference tool, wall time (thin: CPU time)', subtitle, bars(results)));
  log(`\nresults: ${join(dir, 'latest.json')}, chart: ${join(dir, 'latest.svg')}`);
}
