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
 * Flags: --scale=N (default 100), --runs=N (default 5), --only=tar-stdout,plain-disk,fan-out-3, --tsx,
 * --pgconvoy-bin=PATH (another build's bin/pgconvoy.js), --no-verify.
 */
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { intFlag, measure, median, parseFlags, pgconvoyCommand, requireTool, scratchDir, startBenchCluster, table, type Measured } from './common.ts';
import { runVerifyBench } from './verify-bench.ts';

interface Scenario {
  readonly name: string;
  /** One timed run of the tool; `dir` is a fresh scratch location for its output. */
  pgBasebackup(dir: string): Promise<Measured>;
  pgconvoy(dir: string): Promise<Measured>;
}

const flags = parseFlags(process.argv.slice(2));
const scale = intFlag(flags, 'scale', 100);
const runs = intFlag(flags, 'runs', 5);
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
    rows.push([
      scenario.name,
      theirs.toFixed(2), ours.toFixed(2), (ours / theirs).toFixed(2),
      Math.max(...results.pgBasebackup.map((result) => result.peakRssMb)).toFixed(0),
      Math.max(...results.pgconvoy.map((result) => result.peakRssMb)).toFixed(0),
    ]);
  }
  log('');
  log(`pgbench scale ${scale}, ${runs} runs per tool, options -c fast -X fetch; medians of wall time, largest peak RSS`);
  log(table(['scenario', 'pg_basebackup s', 'pgconvoy s', 'ratio', 'pg_basebackup MB', 'pgconvoy MB'], rows));

  if (!flags.has('no-verify')) {
    const backup = join(work, 'verify-target');
    await measure([pgBasebackup, ...common, '-Fp', '-D', backup]);
    log('');
    await runVerifyBench(backup, { runs, useTsx: flags.has('tsx'), install: cluster.install, log, ...(flags.has('pgconvoy-bin') ? { bin: flags.get('pgconvoy-bin') as string } : {}) });
    await rm(backup, { recursive: true, force: true });
  }
} finally {
  await cluster.stop('fast');
}
