/**
 * Write load for tests: pgbench's TPC-B-like script against a test cluster, with the Debian pgbench (any major
 * drives any server). Tables are created once per cluster (`pgbench -i`), or reused when a restored copy already
 * has them. Each run is bounded: -T seconds (or -t transactions) and a hard kill a minute after that.
 *
 * The invariant checked afterwards: every transaction adds the same delta to one account, one teller and one
 * branch, so sum(abalance) = sum(tbalance) = sum(bbalance) in any consistent state, including any restored
 * backup. pgbench killed mid-run keeps it too: each transaction commits whole or not at all.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import type { LocalCluster } from '../../../src/cluster/local-cluster.ts';
import { clientToolEnv, psql, requireTool } from './psql.ts';

export interface PgbenchRun {
  /** Resolves when pgbench finished or was stopped; rejects when pgbench failed by itself. */
  readonly done: Promise<void>;
  /** Ends the run now (SIGINT); resolves once pgbench has exited. */
  stop(): Promise<void>;
}

const initialized = new WeakMap<LocalCluster, Promise<void>>();
const HARD_LIMIT_EXTRA_MS = 60_000;

function connectionArgs(cluster: LocalCluster): string[] {
  return ['-h', cluster.host, '-p', String(cluster.port), '-U', 'postgres'];
}

function runPgbench(cluster: LocalCluster, args: string[], limitMs: number, onSpawn?: (child: ChildProcess) => void): Promise<void> {
  return new Promise((resolveRun, reject) => {
    const child = spawn(requireTool(cluster, 'pgbench'), [...args, ...connectionArgs(cluster), 'postgres'], {
      stdio: ['ignore', 'pipe', 'pipe'], env: clientToolEnv(), timeout: limitMs, killSignal: 'SIGKILL',
    });
    onSpawn?.(child);
    let output = '';
    child.stdout.setEncoding('utf8').on('data', (text: string) => (output += text));
    child.stderr.setEncoding('utf8').on('data', (text: string) => (output = (output + text).slice(-20_000)));
    child.once('error', reject);
    child.once('close', (status, signal) => {
      if (status === 0) resolveRun();
      else reject(new Error(`pgbench ${args.join(' ')} failed (${status ?? signal}): ${output.trim().split('\n').slice(-10).join('\n')}`));
    });
  });
}

async function ensureTables(cluster: LocalCluster, scale: number): Promise<void> {
  const [[exists] = []] = await psql(cluster, "select to_regclass('pgbench_accounts') is not null");
  if (exists === 't') return;
  await runPgbench(cluster, ['-i', '-q', '-s', String(scale)], 300_000);
}

export function startPgbench(
  cluster: LocalCluster, opts: { scale?: number; clients?: number; seconds: number; transactions?: number },
): PgbenchRun {
  const clients = opts.clients ?? 2;
  let child: ChildProcess | null = null;
  let isStopped = false;
  let init = initialized.get(cluster);
  if (init === undefined) {
    init = ensureTables(cluster, opts.scale ?? 1);
    initialized.set(cluster, init);
    init.catch(() => initialized.delete(cluster));
  }
  const length = opts.transactions === undefined ? ['-T', String(opts.seconds)] : ['-t', String(opts.transactions)];
  const args = ['-n', '-c', String(clients), '-j', String(Math.min(clients, 2)), ...length];
  const done = init.then(async () => {
    if (isStopped) return;
    try {
      await runPgbench(cluster, args, opts.seconds * 1000 + HARD_LIMIT_EXTRA_MS, (spawned) => (child = spawned));
    } catch (error) {
      if (!isStopped) throw error;
    }
  });
  done.catch(() => {}); // the caller may never await a failed run; awaiting it still rejects
  return {
    done,
    async stop(): Promise<void> {
      isStopped = true;
      (child as ChildProcess | null)?.kill('SIGINT');
      await done.catch(() => {});
    },
  };
}

export async function checkPgbenchInvariant(cluster: LocalCluster): Promise<void> {
  const [row = []] = await psql(cluster,
    'select (select sum(abalance) from pgbench_accounts), (select sum(tbalance) from pgbench_tellers), ' +
    '(select sum(bbalance) from pgbench_branches)');
  const [accounts, tellers, branches] = row.map((sum) => sum ?? '0');
  if (accounts !== tellers || tellers !== branches) {
    throw new Error(`pgbench invariant broken: sum(abalance)=${accounts}, sum(tbalance)=${tellers}, sum(bbalance)=${branches}`);
  }
}
