/**
 * Clients of `pgconvoy serve` for the fault trials: the real pg_basebackup (both WAL methods, plain and tar) and
 * `pgconvoy backup` pointed at serve, each throttled so that a random moment lands mid-backup, each killable as a
 * whole: pg_basebackup -X stream forks its WAL receiver, so its kill takes the process tree; pgconvoy's kill takes
 * only the CLI, since its cleanup guardian exists to outlive it.
 */
import { join } from 'node:path';
import type { TestCluster } from '../integration/harness.ts';
import { startCli } from '../integration/concurrency/helpers.ts';
import { pgBasebackup, type RunningServe } from '../integration/serve/serve-harness.ts';
import { killTree } from './fault-kit.ts';

export interface ClientKind {
  readonly name: string;
  readonly tool: 'pg_basebackup' | 'pgconvoy';
  readonly args: readonly string[];
}

export const CLIENT_KINDS: readonly ClientKind[] = [
  { name: 'pg_basebackup -X fetch -F p', tool: 'pg_basebackup', args: ['-X', 'fetch', '-F', 'p'] },
  { name: 'pg_basebackup -X stream -F p', tool: 'pg_basebackup', args: ['-X', 'stream', '-F', 'p'] },
  { name: 'pg_basebackup -X stream -F t', tool: 'pg_basebackup', args: ['-X', 'stream', '-F', 't'] },
  { name: 'pgconvoy backup -X stream -F p', tool: 'pgconvoy', args: ['-X', 'stream', '-F', 'p'] },
  { name: 'pgconvoy backup -X fetch -F t', tool: 'pgconvoy', args: ['-X', 'fetch', '-F', 't'] },
];

export interface ServeClient {
  readonly kind: ClientKind;
  readonly dir: string;
  readonly label: string;
  readonly result: Promise<{ status: number | null; signal: NodeJS.Signals | null; stderr: string }>;
  /** What the client has written to stderr so far: for the message when it does not finish. */
  stderrSoFar(): string;
  /** SIGKILL to the client and everything it forked. */
  kill(): Promise<void>;
}

/** Starts one backup through serve into `root/<label>`. */
export function startServeClient(cluster: TestCluster, serve: RunningServe, kind: ClientKind, root: string, label: string, rate = '32M'): ServeClient {
  const dir = join(root, label);
  const common = ['-D', dir, ...kind.args, '-c', 'fast', '-r', rate, '-l', label];
  const run = kind.tool === 'pg_basebackup'
    ? pgBasebackup(cluster, serve, common)
    : startCli(['backup', '-h', serve.host, '-p', String(serve.port), '-U', 'postgres', ...common]);
  let stderr = '';
  run.child.stderr?.on('data', (text: string | Buffer) => (stderr += String(text)));
  const stderrSoFar = (): string => stderr;
  if (kind.tool === 'pg_basebackup') {
    return { kind, dir, label, result: run.result, stderrSoFar, kill: () => killTree(run.child.pid as number) };
  }
  // only the CLI process: its cleanup guardian is meant to outlive it, and does the CLI's cleanup in its place
  return { kind, dir, label, result: run.result, stderrSoFar, kill: async () => { run.child.kill('SIGKILL'); } };
}
