/**
 * The single-backup cases of issue 10, each a pair of command lines doing the same job, one of them pgconvoy's.
 * Same connection and options for both tools (-c fast -w); only the program differs, and the destination is
 * handled identically (the same pipe consumer, the same /dev/null, the same file system).
 *
 *   tar-pipe     -Ft -D - -X fetch | cat > /dev/null   framing, plus writing into a pipe another process drains
 *   tar-devnull  -Ft -D - -X fetch > /dev/null         framing only (writes to /dev/null cost nothing)
 *   plain-tmpfs  -Fp -X stream -D /dev/shm/DIR         extraction, without a disk (the issue's measured case)
 *   plain-disk   -Fp -X stream -D DIR on the disk      extraction and fsync to a real disk
 *   fan-out-3    pgconvoy -Fp -X fetch -D A -D B -D C  one read, three copies, against three pg_basebackup in turn
 *   pgbackrest   plain-disk's pgconvoy run against `pgbackrest backup --type=full` (pgbackrest.ts)
 *
 * Does not run anything itself; single-bench.ts does.
 */
import { mkdtemp, statfs } from 'node:fs/promises';
import { join } from 'node:path';
import { removeAtExit } from '../src/cluster/process-cleanup.ts';
import { measure, sequential, type Measured } from './measure.ts';
import type { PgBackRest } from './pgbackrest.ts';

export interface BackupCase {
  readonly name: string;
  /** the tool pgconvoy is measured against */
  readonly against: 'pg_basebackup' | 'pgbackrest';
  /** both command lines, with DIR for the run's output directory */
  readonly commandLines: { readonly reference: string; readonly pgconvoy: string };
  /** where the run's DIR is created, if not the bench's scratch directory on the disk */
  readonly outputRoot?: string;
  reference(dir: string): Promise<Measured>;
  pgconvoy(dir: string): Promise<Measured>;
  /** untimed, after each run and its cleanup */
  afterRun?(tool: 'reference' | 'pgconvoy'): Promise<void>;
}

export interface CaseTools {
  readonly pgBasebackup: string;
  /** pgconvoy's argv up to and including "backup" */
  readonly convoy: readonly string[];
  /** -h -p -U -c fast -w */
  readonly connection: readonly string[];
  readonly pgbackrest: PgBackRest | null;
}

// statfs's f_type for tmpfs (linux/magic.h).
const TMPFS_MAGIC = 0x01021994;

/** A scratch directory on tmpfs, or the reason there is none. */
export async function tmpfsDir(): Promise<string | { skipped: string }> {
  try {
    if ((await statfs('/dev/shm')).type !== TMPFS_MAGIC) return { skipped: '/dev/shm is not a tmpfs here' };
    const dir = await mkdtemp('/dev/shm/pgconvoy-bench-');
    removeAtExit(dir);
    return dir;
  } catch (error) {
    return { skipped: `no usable /dev/shm (${(error as NodeJS.ErrnoException).code ?? String(error)})` };
  }
}

export function backupCases(tools: CaseTools, shm: string | null): BackupCase[] {
  const pgb = (args: readonly string[]): string[] => [tools.pgBasebackup, ...tools.connection, ...args];
  const ours = (args: readonly string[]): string[] => [...tools.convoy, ...tools.connection, ...args];
  const shown = (argv: readonly string[]): string => argv.join(' ');
  const tar = ['-Ft', '-D', '-', '-X', 'fetch'];
  const plain = (dir: string): string[] => ['-Fp', '-X', 'stream', '-D', dir];
  const fanOut = (dir: string): string[] => ['-Fp', '-X', 'fetch', ...[0, 1, 2].flatMap((index) => ['-D', `${dir}-${index}`])];
  // `cat` is the consumer for both tools: it drains the pipe as fast as a pipe allows, so the figure is the
  // writer's, including the cost of pipe-sized writes and of waking the reader.
  const consumer = ['cat'];

  const cases: BackupCase[] = [
    {
      name: 'tar-pipe', against: 'pg_basebackup',
      commandLines: { reference: `${shown(pgb(tar))} | cat > /dev/null`, pgconvoy: `${shown(ours(tar))} | cat > /dev/null` },
      reference: () => measure(pgb(tar), { pipeTo: consumer }),
      pgconvoy: () => measure(ours(tar), { pipeTo: consumer }),
    },
    {
      name: 'tar-devnull', against: 'pg_basebackup',
      commandLines: { reference: `${shown(pgb(tar))} > /dev/null`, pgconvoy: `${shown(ours(tar))} > /dev/null` },
      reference: () => measure(pgb(tar), { stdoutPath: '/dev/null' }),
      pgconvoy: () => measure(ours(tar), { stdoutPath: '/dev/null' }),
    },
  ];
  if (shm !== null) {
    cases.push({
      name: 'plain-tmpfs', against: 'pg_basebackup', outputRoot: shm,
      commandLines: { reference: shown(pgb(plain(join(shm, 'DIR')))), pgconvoy: shown(ours(plain(join(shm, 'DIR')))) },
      reference: (dir) => measure(pgb(plain(dir))),
      pgconvoy: (dir) => measure(ours(plain(dir))),
    });
  }
  cases.push(
    {
      name: 'plain-disk', against: 'pg_basebackup',
      commandLines: { reference: shown(pgb(plain('DIR'))), pgconvoy: shown(ours(plain('DIR'))) },
      reference: (dir) => measure(pgb(plain(dir))),
      pgconvoy: (dir) => measure(ours(plain(dir))),
    },
    {
      name: 'fan-out-3', against: 'pg_basebackup',
      commandLines: {
        reference: `${[0, 1, 2].map((index) => shown(pgb(['-Fp', '-X', 'fetch', '-D', `DIR-${index}`]))).join('; ')} (times added)`,
        pgconvoy: shown(ours(fanOut('DIR'))),
      },
      reference: (dir) => sequential(3, (index) => measure(pgb(['-Fp', '-X', 'fetch', '-D', `${dir}-${index}`]))),
      pgconvoy: (dir) => measure(ours(fanOut(dir))),
    },
  );
  const pgbackrest = tools.pgbackrest;
  if (pgbackrest !== null) {
    cases.push({
      name: 'pgbackrest', against: 'pgbackrest',
      commandLines: { reference: `${pgbackrest.commandLine} (as the postgres OS user; repository emptied and stanza-create between runs, untimed)`, pgconvoy: shown(ours(plain('DIR'))) },
      reference: () => pgbackrest.backup(),
      pgconvoy: (dir) => measure(ours(plain(dir))),
      afterRun: async (tool) => (tool === 'reference' ? pgbackrest.reset() : undefined),
    });
  }
  return cases;
}
