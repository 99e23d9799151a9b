/**
 * `npm run bench`: every figure of issue 10 from one run on one PostgreSQL 15 cluster filled by
 * `pgbench -i -s SCALE` (default 100, about 1.5 GB), each a ratio of two tools measured in that run:
 *
 *   one backup    pgconvoy against pg_basebackup: tar into a pipe, tar to /dev/null, plain into tmpfs, plain to
 *                 disk, fan-out to three; and against `pgbackrest backup` for a plain full backup
 *                 (backup-cases.ts, run by single-bench.ts): wall time, CPU time, peak RSS, with the targets
 *   verify        pgconvoy verify against pg_verifybackup on one plain backup (verify-bench.ts)
 *   N at once     N pg_basebackup directly, N through `pgconvoy serve`, one pgconvoy with N destinations
 *                 (serve-bench.ts): wall time, failures, reads of the data directory
 *   slow disk     bigger than memory on a throttled disk (cgroups, slow-disk-bench.ts, its own cluster of
 *                 --slow-scale, default 20): N pg_basebackup together and one every few seconds, directly and
 *                 through serve: wall time and bytes read from the disk
 *
 * Warm and cold rounds (page-cache.ts) for every part; the cold ones drop the page cache before every timed run. pgconvoy runs as installed (compiled, `npm run build`); --tsx runs the TypeScript.
 *
 * A section or case whose tool fails is reported and the others still run; the exit status is then 1, so CI
 * (which runs --quick) notices when the benchmark rots. Something the machine cannot do (no tmpfs, no root for
 * dropping caches, pgBackRest not installable) is skipped with the reason printed and does not fail the run.
 * Every figure goes to bench/results/<timestamp>.json and latest.json, the ratios to latest.svg (results.ts).
 *
 * Flags: --scale=N (default 100), --runs=N (default 5), --cache=warm,cold (default both; --warm, --cold: one),
 * --only=tar-pipe,tar-devnull,plain-tmpfs,plain-disk,fan-out-3,pgbackrest, --serve-sizes=1,4,10, --no-verify,
 * --no-serve, --no-slow-disk, --slow-scale=N, --tsx, --pgconvoy-bin=PATH (another build's bin/pgconvoy.js),
 * --quick (scale 10, one run, every section and both cache states still exercised: CI runs
 * it so the benchmark itself never rots; its figures mean little).
 */
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { backupCases, tmpfsDir } from './backup-cases.ts';
import { intFlag, measure, parseFlags, pgconvoyCommand, requireTool, scratchDir, startBenchCluster } from './common.ts';
import { coldUnavailable, type CacheState } from './page-cache.ts';
import { setUpPgBackRest, type PgBackRest } from './pgbackrest.ts';
import { writeResults } from './results.ts';
import { runServeBench, type ServeBenchRow } from './serve-bench.ts';
import { runSingleBench, TARGETS, type SingleBenchRow } from './single-bench.ts';
import { runSlowDiskBench, slowDiskUnavailable, type SlowDiskResult } from './slow-disk-bench.ts';
import { runVerifyBench, type VerifyBenchResult } from './verify-bench.ts';

const flags = parseFlags(process.argv.slice(2));
const quick = flags.has('quick');
const scale = intFlag(flags, 'scale', quick ? 10 : 100);
const runs = intFlag(flags, 'runs', quick ? 1 : 5);
const only = flags.get('only')?.split(',') ?? null;
const log = (line: string): void => void process.stdout.write(`${line}\n`);
const skipped: Record<string, string> = {};
const failed: Record<string, string> = {};
const skip = (what: string, why: string): void => {
  skipped[what] = why;
  log(`skipped ${what}: ${why}`);
};
const fail = (what: string, error: unknown): void => {
  failed[what] = error instanceof Error ? error.message : String(error);
  log(`FAILED ${what}: ${failed[what]}`);
};

// --warm and --cold are short for --cache=warm and --cache=cold.
let caches = (flags.get('cache') ?? (flags.has('cold') ? 'cold' : flags.has('warm') ? 'warm' : 'warm,cold')).split(',') as CacheState[];
if (caches.some((cache) => cache !== 'warm' && cache !== 'cold')) throw new Error('--cache takes warm, cold or warm,cold');
const noCold = coldUnavailable();
if (caches.includes('cold') && noCold !== null) {
  skip('cold rounds', noCold);
  caches = caches.filter((cache) => cache !== 'cold');
}

const cluster = await startBenchCluster(scale, log);
let backup: SingleBenchRow[] = [];
const verify: VerifyBenchResult[] = [];
let serve: ServeBenchRow[] = [];
let slowDisk: SlowDiskResult | null = null;
try {
  const pgBasebackup = requireTool(cluster.install, 'pg_basebackup');
  const convoy = [...pgconvoyCommand(flags.has('tsx'), flags.get('pgconvoy-bin')), 'backup'];
  const connection = ['-h', cluster.host, '-p', String(cluster.port), '-U', 'postgres', '-c', 'fast', '-w'];
  // The plain-disk output and pgBackRest's repository share this directory's file system, so both write to
  // the same disk.
  const work = await scratchDir('out');

  const wanted = (name: string): boolean => only === null || only.includes(name);
  const shm = await tmpfsDir();
  if (typeof shm !== 'string' && wanted('plain-tmpfs')) skip('plain-tmpfs', shm.skipped);
  let pgbackrest: PgBackRest | null = null;
  if (wanted('pgbackrest')) {
    const ready = await setUpPgBackRest(cluster, await scratchDir('pgbackrest'), log);
    if ('skipped' in ready) skip('pgbackrest', ready.skipped);
    else pgbackrest = ready;
  }
  const cases = backupCases({ pgBasebackup, convoy, connection, pgbackrest }, typeof shm === 'string' ? shm : null).filter((c) => wanted(c.name));

  // Warm-up: one untimed run of each tool, so the first timed run does not pay for a cold start alone.
  await measure([pgBasebackup, ...connection, '-Ft', '-D', '-', '-X', 'fetch']);
  await measure([...convoy, ...connection, '-Ft', '-D', '-', '-X', 'fetch']);

  backup = await runSingleBench(cases, work, { runs, caches, log, onFailure: fail });
  log(`peak RSS target for pgconvoy: < ${TARGETS.pgconvoyPeakMb} MB`);

  if (!flags.has('no-verify')) {
    try {
      const target = join(work, 'verify-target');
      await measure([pgBasebackup, ...connection, '-X', 'fetch', '-Fp', '-D', target]);
      for (const cache of caches) {
        log('');
        verify.push(await runVerifyBench(target, { runs, useTsx: flags.has('tsx'), install: cluster.install, log, cache, ...(flags.has('pgconvoy-bin') ? { bin: flags.get('pgconvoy-bin') as string } : {}) }));
      }
      await rm(target, { recursive: true, force: true });
    } catch (error) {
      fail('verify', error);
    }
  }

  if (!flags.has('no-serve')) {
    try {
      log('');
      serve = await runServeBench(cluster, {
        runs: quick ? 1 : Math.min(runs, 3), sizes: (flags.get('serve-sizes') ?? '1,4,10').split(',').map(Number),
        pgconvoy: pgconvoyCommand(flags.has('tsx'), flags.get('pgconvoy-bin')), caches, log,
      });
      // pg_basebackup's own failures directly against the cluster are a finding, reported in the table; ours break the run
      const broken = serve.filter((row) => row.serveFailures + row.fanOutFailures > 0);
      if (broken.length > 0) fail('serve', new Error(`backups failed at ${broken.map((row) => `${row.backups} at once (${row.cache})`).join(', ')}`));
    } catch (error) {
      fail('serve', error);
    }
  }
} catch (error) {
  fail('bench', error);
} finally {
  await cluster.stop('fast');
}

const noSlowDisk = flags.has('no-slow-disk') ? 'not asked for (--no-slow-disk)' : slowDiskUnavailable();
if (noSlowDisk !== null) {
  skip('slow disk', noSlowDisk);
} else {
  // its own, smaller cluster: at 40 MB/s the default one would take minutes per backup
  log('');
  const slowCluster = await startBenchCluster(intFlag(flags, 'slow-scale', quick ? 2 : 20), log);
  try {
    slowDisk = await runSlowDiskBench(slowCluster, {
      backups: quick ? 3 : 10, gapSeconds: quick ? 1 : 2, memoryMb: 64, serveProcessMb: 96, readMbps: 40,
      pgconvoy: pgconvoyCommand(flags.has('tsx'), flags.get('pgconvoy-bin')), log,
    });
    const broken = slowDisk.rows.filter((row) => row.serveFailures > 0);
    if (broken.length > 0) fail('slow disk', new Error(`backups through serve failed (${broken.map((row) => row.arrival).join(', ')})`));
  } catch (error) {
    fail('slow disk', error);
  } finally {
    await slowCluster.stop('fast');
  }
}
await writeResults({ scale, runs, quick, caches, targets: TARGETS, backup, verify, serve, slowDisk, skipped, failed }, log);
if (Object.keys(skipped).length > 0) log(`skipped: ${Object.entries(skipped).map(([what, why]) => `${what} (${why})`).join('; ')}`);
if (Object.keys(failed).length > 0) {
  log(`broken: ${Object.keys(failed).join(', ')}`);
  process.exitCode = 1;
}
