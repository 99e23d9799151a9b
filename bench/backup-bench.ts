/**
 * `npm run bench`: `pgconvoy backup` against `pg_basebackup` on one PostgreSQL 15 cluster filled by
 * `pgbench -i -s SCALE` (default 100, about 1.5 GB), in one run, the two tools alternating (which one goes
 * first alternates too, so neither always gets the warmer cache). Same options for both: -c fast -X fetch -w.
 *
 *   tar-stdout   -Ft -D - > /dev/null          reading and framing only
 *   plain-disk   -Fp -D DIR                    extraction and fsync; DIR removed between runs (not timed)
 *   fan-out-3    pgconvoy -Fp -D A -D B -D C   one server read, three copies, against three pg_basebackup runs
 *
 * Prints the median wall time per tool, the ratio pgconvoy / pg_basebackup (target: at most 1.0) and the peak
 * RSS of each tool's process (target for pgconvoy: under 150 MB whatever the size), then the verify comparison
 * on a plain backup (verify-bench.ts). pgconvoy runs as installed (compiled, `npm run build`); --tsx runs the
 * TypeScript through tsx instead.
 *
 * Then serve (serve-bench.ts): pg_basebackup directly and through `pgconvoy serve`, one and N at once.
 *
 * Every figure of the run goes to bench/results/<timestamp>.json, and the ratios to bench/results/latest.svg
 * (the README's chart) with latest.json beside it.
 *
 * Flags: --scale=N (default 100), --runs=N (default 5), --only=tar-stdout,plain-disk,fan-out-3, --tsx,
 * --pgconvoy-bin=PATH (another build's bin/pgconvoy.js), --no-verify, --no-serve, --serve-sizes=1,4,10,
 * --quick (scale 10, one run: CI runs it so the benchmark itself never rots; its figures mean little).
 */
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import { renderChart, type ChartBar } from './chart.ts';
import { intFlag, measure, median, parseFlags, pgconvoyCommand, REPO_ROOT, requireTool, scratchDir, startBenchCluster, table, type Measured } from './common.ts';
import { runServeBench, type ServeBenchRow } from './serve-bench.ts';
import { runVerifyBench, type VerifyBenchResult } from './verify-bench.ts';

interface Scenario {
  readonly name: string;
  /** One timed run of the tool; `dir` is a fresh scratch location for its output. */
  pgBasebackup(dir: string): Promise<Measured>;
  pgconvoy(dir: string): Promise<Measured>;
}

const flags = parseFlags(process.argv.slice(2));
const quick = flags.has('quick');
const scale = intFlag(flags, 'scale', quick ? 10 : 100);
const runs = intFlag(flags, 'runs', quick ? 1 : 5);
const only = flags.get('only')?.split(',') ?? null;
const log = (line: string): void => void process.stdout.write(`${line}\n`);

const cluster = await startBenchCluster(scale, log);
try {
  const pgBasebackup = requireTool(cluster.install, 'pg_basebackup');
  const convoy = [...pgconvoyCommand(flags.has('tsx'), flags.get('pgconvoy-bin')), 'backup'];
  const common = ['-h', cluster.host, '-p', String(cluster.port), '-U', 'postgres', '-c', 'fast', '-X', 'fetch', '-w'];
  const work = await scratchDir('out');

  /** Sums the times of sequential runs; the peak is the largest of them. */
  const sequential = async (count: number, one: (index: number) => Promise<Measured>): Promise<Measured> => {
    let seconds = 0;
    let peakRssMb = 0;
    for (let index = 0; index < count; index += 1) {
      const run = await one(index);
      seconds += run.seconds;
      peakRssMb = Math.max(peakRssMb, run.peakRssMb);
    }
    return { seconds, peakRssMb };
  };

  const all: Scenario[] = [
    {
      name: 'tar-stdout',
      pgBasebackup: () => measure([pgBasebackup, ...common, '-Ft', '-D', '-']),
      pgconvoy: () => measure([...convoy, ...common, '-Ft', '-D', '-']),
    },
    {
      name: 'plain-disk',
      pgBasebackup: (dir) => measure([pgBasebackup, ...common, '-Fp', '-D', dir]),
      pgconvoy: (dir) => measure([...convoy, ...common, '-Fp', '-D', dir]),
    },
    {
      name: 'fan-out-3',
      pgBasebackup: (dir) => sequential(3, (index) => measure([pgBasebackup, ...common, '-Fp', '-D', `${dir}-${index}`])),
      pgconvoy: (dir) => measure([...convoy, ...common, '-Fp', ...[0, 1, 2].flatMap((index) => ['-D', `${dir}-${index}`])]),
    },
  ];
  const scenarios = all.filter((scenario) => only === null || only.includes(scenario.name));

  // Untimed between runs: remove the output and let the file system finish freeing it, so a run does not pay
  // for the previous one's deletion (without this the tool that runs second is measurably slower).
  const clean = async (dir: string): Promise<void> => {
    await Promise.all([dir, `${dir}-0`, `${dir}-1`, `${dir}-2`].map((path) => rm(path, { recursive: true, force: true })));
    await measure(['sync']);
  };

  // Warm-up: one untimed run of each tool, so the first timed run does not pay for a cold page cache alone.
  await measure([pgBasebackup, ...common, '-Ft', '-D', '-']);
  await measure([...convoy, ...common, '-Ft', '-D', '-']);

  const rows: string[][] = [];
  const backupResults: Array<{ scenario: string; pgBasebackupSeconds: number; pgconvoySeconds: number; pgBasebackupPeakMb: number; pgconvoyPeakMb: number }> = [];
  for (const scenario of scenarios) {
    const results = { pgBasebackup: [] as Measured[], pgconvoy: [] as Measured[] };
    for (let run = 0; run < runs; run += 1) {
      const order = run % 2 === 0 ? (['pgBasebackup', 'pgconvoy'] as const) : (['pgconvoy', 'pgBasebackup'] as const);
      for (const tool of order) {
        const dir = join(work, `${scenario.name}-${tool}-${run}`);
        const result = await scenario[tool](dir);
        await clean(dir);
        results[tool].push(result);
        log(`${scenario.name} run ${run + 1}/${runs} ${tool === 'pgconvoy' ? 'pgconvoy     ' : 'pg_basebackup'} ${result.seconds.toFixed(2)} s, peak RSS ${result.peakRssMb.toFixed(0)} MB`);
      }
    }
    const theirs = median(results.pgBasebackup.map((result) => result.seconds));
    const ours = median(results.pgconvoy.map((result) => result.seconds));
    const peaks = { theirs: Math.max(...results.pgBasebackup.map((result) => result.peakRssMb)), ours: Math.max(...results.pgconvoy.map((result) => result.peakRssMb)) };
    backupResults.push({ scenario: scenario.name, pgBasebackupSeconds: theirs, pgconvoySeconds: ours, pgBasebackupPeakMb: peaks.theirs, pgconvoyPeakMb: peaks.ours });
    rows.push([scenario.name, theirs.toFixed(2), ours.toFixed(2), (ours / theirs).toFixed(2), peaks.theirs.toFixed(0), peaks.ours.toFixed(0)]);
  }
  log('');
  log(`pgbench scale ${scale}, ${runs} runs per tool, options -c fast -X fetch; medians of wall time, largest peak RSS`);
  log(table(['scenario', 'pg_basebackup s', 'pgconvoy s', 'ratio', 'pg_basebackup MB', 'pgconvoy MB'], rows));

  let verify: VerifyBenchResult | null = null;
  if (!flags.has('no-verify')) {
    const backup = join(work, 'verify-target');
    await measure([pgBasebackup, ...common, '-Fp', '-D', backup]);
    log('');
    verify = await runVerifyBench(backup, { runs, useTsx: flags.has('tsx'), install: cluster.install, log, ...(flags.has('pgconvoy-bin') ? { bin: flags.get('pgconvoy-bin') as string } : {}) });
    await rm(backup, { recursive: true, force: true });
  }

  let serve: ServeBenchRow[] = [];
  if (!flags.has('no-serve')) {
    log('');
    serve = await runServeBench(cluster, {
      runs: quick ? 1 : Math.min(runs, 3), sizes: (flags.get('serve-sizes') ?? '1,4,10').split(',').map(Number),
      pgconvoy: pgconvoyCommand(flags.has('tsx'), flags.get('pgconvoy-bin')), log,
    });
  }
  await writeResults({ backup: backupResults, verify, serve });
} finally {
  await cluster.stop('fast');
}

/** The run's figures as JSON (timestamped, and latest.json) and its ratios as latest.svg, under bench/results/. */
async function writeResults(results: {
  backup: ReadonlyArray<{ scenario: string; pgBasebackupSeconds: number; pgconvoySeconds: number }>;
  verify: VerifyBenchResult | null;
  serve: readonly ServeBenchRow[];
}): Promise<void> {
  const dir = join(REPO_ROOT, 'bench', 'results');
  await mkdir(dir, { recursive: true });
  const when = new Date().toISOString();
  const machine = `${cpus().length} cores (${cpus()[0]?.model ?? 'unknown'}), ${(totalmem() / 2 ** 30).toFixed(0)} GiB`;
  const document = { when, machine, scale, runs, quick, ...results };
  const json = `${JSON.stringify(document, null, 2)}\n`;
  await writeFile(join(dir, `${when.replaceAll(':', '-')}.json`), json);
  await writeFile(join(dir, 'latest.json'), json);
  const bars: ChartBar[] = [
    ...results.backup.map((row) => ({ label: `backup: ${row.scenario}`, ratio: row.pgconvoySeconds / row.pgBasebackupSeconds, against: 'vs pg_basebackup' })),
    ...(results.verify === null ? [] : [{ label: 'verify a plain backup', ratio: results.verify.pgconvoySeconds / results.verify.pgVerifybackupSeconds, against: 'vs pg_verifybackup' }]),
    ...results.serve.map((row) => ({ label: `${row.backups} pg_basebackup through serve`, ratio: row.serveSeconds / row.directSeconds, against: `vs directly (reads ${row.serveReads.toFixed(2)} vs ${row.directReads})` })),
  ];
  await writeFile(join(dir, 'latest.svg'), renderChart('pgconvoy / PostgreSQL\'s own tools, wall time', `${when.slice(0, 10)}, ${machine}, pgbench scale ${scale}, ${runs} run(s), medians`, bars));
  log(`\nresults: ${join(dir, 'latest.json')}, chart: ${join(dir, 'latest.svg')}`);
}
