/**
 * What the benchmarks share: a throwaway PostgreSQL 15 cluster filled by `pgbench -i`, a timed child process
 * with its peak memory, how pgconvoy is started (the compiled build, as installed users run it), medians and
 * a text table. Benchmarks, not tests: they print numbers and fail only when a tool fails.
 *
 * The timed child itself (wall, CPU, peak RSS) is measure.ts's, re-exported here.
 */
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { findInstall, toolPath, type PgInstall } from '../src/cluster/binaries.ts';
import { LocalCluster } from '../src/cluster/local-cluster.ts';
import { chownForServer } from '../src/cluster/os-user.ts';
import { removeAtExit } from '../src/cluster/process-cleanup.ts';
import { measure } from './measure.ts';

export { cpuSeconds, measure, sequential, type Measured } from './measure.ts';

export const REPO_ROOT = fileURLToPath(new URL('../', import.meta.url));

/** `--name=value` / `--flag` arguments. */
export function parseFlags(argv: readonly string[]): Map<string, string> {
  const flags = new Map<string, string>();
  for (const arg of argv) {
    const match = /^--([a-z-]+)(?:=(.*))?$/.exec(arg);
    if (match === null) throw new Error(`unknown argument "${arg}"`);
    flags.set(match[1] as string, match[2] ?? 'true');
  }
  return flags;
}

export function intFlag(flags: Map<string, string>, name: string, fallback: number): number {
  const text = flags.get(name);
  if (text === undefined) return fallback;
  const value = Number(text);
  if (!Number.isInteger(value) || value < 1) throw new Error(`--${name} must be a positive integer`);
  return value;
}

/**
 * How to start pgconvoy: the compiled CLI (`npm run build`), TypeScript through tsx with --tsx, or another
 * build's bin/pgconvoy.js with --pgconvoy-bin=PATH (to compare two versions).
 */
export function pgconvoyCommand(useTsx: boolean, bin?: string): string[] {
  if (bin !== undefined) return installedCommand(bin);
  if (useTsx) return [process.execPath, '--import', import.meta.resolve('tsx'), join(REPO_ROOT, 'src/cli/main.ts')];
  const compiled = join(REPO_ROOT, 'bin/pgconvoy.js');
  if (!existsSync(join(REPO_ROOT, 'dist/cli/main.js'))) throw new Error('no compiled build: run "npm run build" first, or pass --tsx');
  return installedCommand(compiled);
}

/**
 * How the installed `pgconvoy` runs: its `#!/usr/bin/env -S ... node ...` line (its environment settings and Node
 * flags are part of what users run) with this Node, then the entry point.
 */
function installedCommand(bin: string): string[] {
  const shebang = readFileSync(bin, 'utf8').split('\n', 1)[0] ?? '';
  const words = shebang.replace(/^#!\s*/, '').split(/\s+/);
  const nodeAt = words.findIndex((word) => word === 'node' || word.endsWith('/node'));
  if (nodeAt < 0) return [process.execPath, bin];
  const settings = words.slice(0, nodeAt).filter((word) => /^[A-Z_][A-Z0-9_]*=/.test(word));
  const node = [process.execPath, ...words.slice(nodeAt + 1), bin];
  return settings.length === 0 ? node : ['env', ...settings, ...node];
}

export function requireInstall15(): PgInstall {
  const install = findInstall({ major: 15 });
  if (install === null) throw new Error('the benchmark needs PostgreSQL 15 (Debian package postgresql-15)');
  return install;
}

export function requireTool(install: PgInstall, tool: string): string {
  const path = toolPath(install, tool);
  if (path === null) throw new Error(`${tool} for PostgreSQL ${install.major} is not installed`);
  return path;
}

/** A scratch directory under the system temp dir, reachable by the server user, removed at exit. */
export async function scratchDir(prefix: string): Promise<string> {
  const path = await mkdtemp(join(tmpdir(), `pgconvoy-bench-${prefix}-`));
  removeAtExit(path);
  await chownForServer(path, { mode: 0o700 });
  return path;
}

/** A PostgreSQL 15 cluster with `pgbench -i -s scale` loaded and checkpointed. */
export async function startBenchCluster(scale: number, log: (line: string) => void): Promise<LocalCluster> {
  const install = requireInstall15();
  const root = await scratchDir('cluster');
  const cluster = await LocalCluster.init({ install, dataDir: join(root, 'data'), noSync: true });
  await cluster.configure({
    shared_buffers: '128MB', wal_level: 'replica', max_wal_senders: 25, max_replication_slots: 25,
    max_wal_size: '8GB', checkpoint_timeout: '1h', synchronous_commit: 'off',
    // -X fetch reads WAL at the end, unprotected by a slot: ten backups' fast checkpoints at once otherwise
    // recycle a segment one of them still needs ("requested WAL segment ... has already been removed").
    wal_keep_size: '1GB',
  });
  await cluster.prependHba(['host replication postgres 127.0.0.1/32 trust', 'host all postgres 127.0.0.1/32 trust']);
  await cluster.start();
  const started = performance.now();
  const init = await measure([requireTool(install, 'pgbench'), '-i', '-q', '-s', String(scale), '-h', cluster.host, '-p', String(cluster.port), '-U', 'postgres', 'postgres']);
  await cluster.sql('CHECKPOINT');
  const [[size] = []] = await cluster.sql("select pg_size_pretty(sum(pg_database_size(oid))) from pg_database");
  log(`pgbench -i -s ${scale}: ${((performance.now() - started) / 1000).toFixed(0)} s (${init.seconds.toFixed(0)} s loading), databases ${size ?? '?'}`);
  return cluster;
}

export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? (sorted[middle] as number) : ((sorted[middle - 1] as number) + (sorted[middle] as number)) / 2;
}

/** A left-aligned first column, the rest right-aligned. */
export function table(header: readonly string[], rows: ReadonlyArray<readonly string[]>): string {
  const widths = header.map((cell, column) => Math.max(cell.length, ...rows.map((row) => (row[column] ?? '').length)));
  const line = (row: readonly string[]): string => row.map((cell, column) => (column === 0 ? cell.padEnd(widths[column] as number) : cell.padStart(widths[column] as number))).join('  ');
  return [line(header), widths.map((width) => '-'.repeat(width)).join('  '), ...rows.map(line)].join('\n');
}
