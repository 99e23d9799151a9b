/**
 * One backup at a time: `pgconvoy backup` against a reference tool doing the same job on the same cluster, in
 * warm and cold rounds, the two tools alternating (which goes first alternates too, so neither always meets the
 * cache the other left). Every run's wall time, CPU time (user + sys) and peak RSS are kept; the table shows the
 * medians, the ratios pgconvoy / reference, and the targets beside them (wall ≤ 1.0, CPU ≤ 1.5,
 * pgconvoy's peak RSS < 100 MB).
 *
 * The cases and their command lines are backup-cases.ts's; this module only runs and reports them.
 */
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { BackupCase } from './backup-cases.ts';
import { cpuSeconds, measure, median, table, type Measured } from './common.ts';
import { prepareCache, type CacheState } from './page-cache.ts';

export const TARGETS = { wallRatio: 1.0, cpuRatio: 1.5, pgconvoyPeakMb: 100 } as const;

export interface SingleBenchRow {
  readonly scenario: string;
  readonly cache: CacheState;
  readonly reference: string;
  readonly referenceCommand: string;
  readonly pgconvoyCommand: string;
  readonly referenceSeconds: number;
  readonly pgconvoySeconds: number;
  readonly referenceCpuSeconds: number;
  readonly pgconvoyCpuSeconds: number;
  readonly referenceUserSeconds: number;
  readonly pgconvoyUserSeconds: number;
  readonly referencePeakMb: number;
  readonly pgconvoyPeakMb: number;
  readonly wallRatio: number;
  readonly cpuRatio: number;
  readonly meetsTargets: { readonly wall: boolean; readonly cpu: boolean; readonly rss: boolean };
  /** every run, in the order run */
  readonly runs: { readonly reference: readonly Measured[]; readonly pgconvoy: readonly Measured[] };
}

export interface SingleBenchOptions {
  readonly runs: number;
  readonly caches: readonly CacheState[];
  readonly log: (line: string) => void;
  /** a case whose tool failed: reported here, and the other cases still run */
  readonly onFailure: (what: string, error: unknown) => void;
}

/** Untimed between runs: the output removed and the file system done freeing it, so no run pays for the last. */
async function clean(dir: string): Promise<void> {
  await Promise.all([dir, `${dir}-0`, `${dir}-1`, `${dir}-2`].map((path) => rm(path, { recursive: true, force: true })));
  await measure(['sync']);
}

function summarize(scenario: BackupCase, cache: CacheState, runs: { reference: Measured[]; pgconvoy: Measured[] }): SingleBenchRow {
  const med = (list: readonly Measured[], pick: (m: Measured) => number): number => median(list.map(pick));
  const referenceSeconds = med(runs.reference, (m) => m.seconds);
  const pgconvoySeconds = med(runs.pgconvoy, (m) => m.seconds);
  const referenceCpuSeconds = med(runs.reference, cpuSeconds);
  const pgconvoyCpuSeconds = med(runs.pgconvoy, cpuSeconds);
  const pgconvoyPeakMb = Math.max(...runs.pgconvoy.map((m) => m.peakRssMb));
  const wallRatio = pgconvoySeconds / referenceSeconds;
  const cpuRatio = pgconvoyCpuSeconds / referenceCpuSeconds;
  return {
    scenario: scenario.name, cache, reference: scenario.against,
    referenceCommand: scenario.commandLines.reference, pgconvoyCommand: scenario.commandLines.pgconvoy,
    referenceSeconds, pgconvoySeconds, referenceCpuSeconds, pgconvoyCpuSeconds,
    referenceUserSeconds: med(runs.reference, (m) => m.userSeconds), pgconvoyUserSeconds: med(runs.pgconvoy, (m) => m.userSeconds),
    referencePeakMb: Math.max(...runs.reference.map((m) => m.peakRssMb)), pgconvoyPeakMb, wallRatio, cpuRatio,
    meetsTargets: { wall: wallRatio <= TARGETS.wallRatio, cpu: cpuRatio <= TARGETS.cpuRatio, rss: pgconvoyPeakMb < TARGETS.pgconvoyPeakMb },
    runs,
  };
}

export async function runSingleBench(cases: readonly BackupCase[], work: string, opts: SingleBenchOptions): Promise<SingleBenchRow[]> {
  const rows: SingleBenchRow[] = [];
  for (const cache of opts.caches) {
    for (const scenario of cases) {
      const runs = { reference: [] as Measured[], pgconvoy: [] as Measured[] };
      try {
        await runCase(scenario, cache, work, runs, opts);
      } catch (error) {
        opts.onFailure(`backup ${scenario.name} (${cache})`, error);
        continue;
      }
      rows.push(summarize(scenario, cache, runs));
    }
  }
  printTable(rows, opts);
  return rows;
}

/** The alternating runs of one case in one cache state, each appended to `runs` as it ends. */
async function runCase(scenario: BackupCase, cache: CacheState, work: string, runs: { reference: Measured[]; pgconvoy: Measured[] }, opts: SingleBenchOptions): Promise<void> {
  for (let run = 0; run < opts.runs; run += 1) {
    const order = run % 2 === 0 ? (['reference', 'pgconvoy'] as const) : (['pgconvoy', 'reference'] as const);
    for (const tool of order) {
      const dir = join(scenario.outputRoot ?? work, `${scenario.name}-${tool}-${run}`);
      await prepareCache(cache);
      const result = await scenario[tool](dir);
      await clean(dir);
      await scenario.afterRun?.(tool);
      runs[tool].push(result);
      const who = tool === 'pgconvoy' ? 'pgconvoy' : scenario.against;
      opts.log(`${scenario.name} ${cache} run ${run + 1}/${opts.runs} ${who.padEnd(13)} ${result.seconds.toFixed(2)} s, ` +
        `CPU ${cpuSeconds(result).toFixed(2)} s (user ${result.userSeconds.toFixed(2)}), peak RSS ${result.peakRssMb.toFixed(0)} MB${result.approximate === true ? ' (polled)' : ''}`);
    }
  }
}

function printTable(rows: readonly SingleBenchRow[], opts: SingleBenchOptions): void {
  const mark = (ok: boolean): string => (ok ? 'ok' : 'MISS');
  opts.log('');
  opts.log(`one backup at a time, ${opts.runs} run(s) per tool and cache state; medians of wall and CPU (user+sys) time, largest peak RSS`);
  opts.log(`targets: wall ratio <= ${TARGETS.wallRatio.toFixed(1)}, CPU ratio <= ${TARGETS.cpuRatio.toFixed(1)}, pgconvoy peak RSS < ${TARGETS.pgconvoyPeakMb} MB`);
  opts.log(table(
    ['case', 'cache', 'against', 'ref s', 'ours s', 'wall ratio', 'ref CPU s', 'ours CPU s', 'CPU ratio', 'ref MB', 'ours MB'],
    rows.map((row) => [
      row.scenario, row.cache, row.reference,
      row.referenceSeconds.toFixed(2), row.pgconvoySeconds.toFixed(2), `${row.wallRatio.toFixed(2)} ${mark(row.meetsTargets.wall)}`,
      row.referenceCpuSeconds.toFixed(2), row.pgconvoyCpuSeconds.toFixed(2), `${row.cpuRatio.toFixed(2)} ${mark(row.meetsTargets.cpu)}`,
      row.referencePeakMb.toFixed(0), `${row.pgconvoyPeakMb.toFixed(1)} ${mark(row.meetsTargets.rss)}`,
    ]),
  ));
  opts.log('');
  opts.log('command lines (DIR: a fresh directory per run, removed afterwards, untimed):');
  for (const row of rows.filter((r) => r.cache === rows[0]?.cache)) {
    opts.log(`  ${row.scenario}: ${row.reference}: ${row.referenceCommand}`);
    opts.log(`  ${' '.repeat(row.scenario.length)}  pgconvoy: ${row.pgconvoyCommand}`);
  }
}
