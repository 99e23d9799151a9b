/**
 * Bigger than memory on a slow disk, the case the 2011 thread worried about: backups that drift apart stop
 * sharing the page cache, and each reads the whole data directory from the disk again.
 *
 * Setup (cgroup v1, as on this machine; root): the cluster's postmaster and every process it has forked go into a
 * memory cgroup limited to `memoryMb` (page cache included, so the database does not fit) and a blkio cgroup whose
 * reads from the data directory's disk are throttled to `readMbps`. serve, when it runs, goes into the same blkio
 * cgroup (one disk, one budget) and into a memory cgroup of its own of `memoryMb` plus `serveProcessMb` for its
 * process: the page cache it can use is no larger than the cluster's. Clients (pg_basebackup) stay outside: they
 * only write to /dev/null. The page cache is dropped before every group.
 *
 * For each arrival pattern (together, and one every `gapSeconds`): N `pg_basebackup -X none -Ft -D -` directly
 * against the cluster, then N through serve. Wall time of the group, failures, and bytes read from the disk by
 * the cgroup (blkio.throttle.io_service_bytes), also as a multiple of one backup's size. The cgroups are removed
 * afterwards, whatever happened (processes are moved back to the root groups first).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { mkdir, readFile, rmdir, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { LocalCluster } from '../src/cluster/local-cluster.ts';
import { measure, requireTool, table } from './common.ts';
import { coldUnavailable, prepareCache } from './page-cache.ts';
import { ServeProcess } from './serve-process.ts';

const CGROUP_ROOT = '/sys/fs/cgroup';
const GROUP_NAME = 'pgconvoy-bench';

export interface SlowDiskOptions {
  readonly backups: number;
  readonly gapSeconds: number;
  readonly memoryMb: number;
  readonly serveProcessMb: number;
  readonly readMbps: number;
  readonly pgconvoy: readonly string[];
  readonly log: (line: string) => void;
}

export interface SlowDiskRow {
  readonly arrival: string;
  readonly backups: number;
  readonly directSeconds: number;
  readonly serveSeconds: number;
  readonly directFailures: number;
  readonly serveFailures: number;
  /** bytes read from the disk by the group, as a multiple of one backup's archive size */
  readonly directDiskReads: number;
  readonly serveDiskReads: number;
}

export interface SlowDiskResult {
  readonly setup: string;
  readonly oneBackupSeconds: number;
  readonly oneBackupBytes: number;
  readonly rows: readonly SlowDiskRow[];
}

/** Why this machine cannot run the case, or null when it can (dropping the page cache, cgroup v1 memory and blkio). */
export function slowDiskUnavailable(): string | null {
  const noCold = coldUnavailable();
  if (noCold !== null) return noCold;
  for (const controller of ['memory', 'blkio']) {
    try {
      readdirSync(join(CGROUP_ROOT, controller));
    } catch {
      return `no cgroup v1 ${controller} controller at ${join(CGROUP_ROOT, controller)}`;
    }
  }
  return null;
}

/** A cgroup v1 group in one controller: made by `create`, removed by `remove`. */
class Group {
  readonly path: string;

  constructor(controller: string, name: string) {
    this.path = join(CGROUP_ROOT, controller, name);
  }

  async create(settings: Readonly<Record<string, string>>): Promise<void> {
    await mkdir(this.path, { recursive: true });
    for (const [file, value] of Object.entries(settings)) await writeFile(join(this.path, file), value);
  }

  async add(pids: readonly number[]): Promise<void> {
    for (const pid of pids) await writeFile(join(this.path, 'cgroup.procs'), String(pid)).catch(() => {}); // it may have exited
  }

  async read(file: string): Promise<string> {
    return readFile(join(this.path, file), 'utf8');
  }

  /** Moves whatever is left back to the controller's root group, then removes the group. */
  async remove(): Promise<void> {
    const procs = await this.read('cgroup.procs').catch(() => '');
    const root = join(this.path, '..', 'cgroup.procs');
    for (const pid of procs.split('\n').filter((line) => line !== '')) await writeFile(root, pid).catch(() => {});
    await rmdir(this.path).catch(() => {});
  }
}

/** The pid and every descendant of it, from /proc. */
function processTree(rootPid: number): number[] {
  const parents = new Map<number, number>();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const fields = readFileSync(`/proc/${name}/stat`, 'utf8');
      const ppid = Number(fields.slice(fields.lastIndexOf(')') + 2).split(' ')[1]);
      parents.set(Number(name), ppid);
    } catch {
      // exited while we looked
    }
  }
  const tree = [rootPid];
  for (let index = 0; index < tree.length; index += 1) {
    for (const [pid, ppid] of parents) if (ppid === tree[index]) tree.push(pid);
  }
  return tree;
}

async function postmasterPid(cluster: LocalCluster): Promise<number> {
  return Number((await readFile(join(cluster.dataDir, 'postmaster.pid'), 'utf8')).split('\n')[0]);
}

/** major:minor of the block device holding `path` (as blkio names it). */
async function deviceOf(path: string): Promise<string> {
  const dev = (await stat(path)).dev;
  return `${(dev >> 8) & 0xfff}:${(dev & 0xff) | ((dev >> 12) & 0xfff00)}`;
}

/** Bytes the group read from `device` so far. */
async function diskBytesRead(group: Group, device: string): Promise<number> {
  const text = await group.read('blkio.throttle.io_service_bytes');
  const line = text.split('\n').find((entry) => entry.startsWith(`${device} Read `));
  return line === undefined ? 0 : Number(line.split(' ')[2]);
}

/** N pg_basebackup runs against host:port, started `gapMs` apart; wall time of the group and failures. */
async function backupGroup(pgBasebackup: string, host: string, port: number, count: number, gapMs: number): Promise<{ seconds: number; failures: number }> {
  const started = performance.now();
  const runs: Array<Promise<unknown>> = [];
  for (let index = 0; index < count; index += 1) {
    if (index > 0 && gapMs > 0) await sleep(gapMs);
    runs.push(measure([pgBasebackup, '-h', host, '-p', String(port), '-U', 'postgres', '-w', '-c', 'fast', '-X', 'none', '-Ft', '-D', '-']));
  }
  const outcomes = await Promise.allSettled(runs);
  return { seconds: (performance.now() - started) / 1000, failures: outcomes.filter((outcome) => outcome.status === 'rejected').length };
}

export async function runSlowDiskBench(cluster: LocalCluster, options: SlowDiskOptions): Promise<SlowDiskResult> {
  const { log } = options;
  const pgBasebackup = requireTool(cluster.install, 'pg_basebackup');
  const device = await deviceOf(cluster.dataDir);
  const memoryBytes = options.memoryMb * 1024 * 1024;
  const clusterMemory = new Group('memory', `${GROUP_NAME}-cluster`);
  const serveMemory = new Group('memory', `${GROUP_NAME}-serve`);
  const disk = new Group('blkio', GROUP_NAME);
  const setup = `cgroup v1: cluster memory ${options.memoryMb} MB, serve memory ${options.memoryMb} + ${options.serveProcessMb} MB, ` +
    `reads from ${device} throttled to ${options.readMbps} MB/s, page cache dropped before each group`;
  let serve: ServeProcess | null = null;
  try {
    await clusterMemory.create({ 'memory.limit_in_bytes': String(memoryBytes) });
    await serveMemory.create({ 'memory.limit_in_bytes': String(memoryBytes + options.serveProcessMb * 1024 * 1024) });
    await disk.create({ 'blkio.throttle.read_bps_device': `${device} ${options.readMbps * 1024 * 1024}` });
    const pids = processTree(await postmasterPid(cluster));
    await clusterMemory.add(pids);
    await disk.add(pids);
    log(`slow disk: ${setup}; ${pids.length} cluster processes moved`);

    await prepareCache('cold');
    const before = await diskBytesRead(disk, device);
    const one = await backupGroup(pgBasebackup, cluster.host, cluster.port, 1, 0);
    const oneBackupBytes = (await diskBytesRead(disk, device)) - before;
    if (one.failures > 0) throw new Error('one pg_basebackup -X none failed in the cgroup');
    log(`slow disk: one backup alone ${one.seconds.toFixed(1)} s, ${(oneBackupBytes / 2 ** 20).toFixed(0)} MB read from the disk`);

    serve = new ServeProcess(options.pgconvoy, cluster);
    const servePort = await serve.port;
    await serveMemory.add([serve.pid]);
    await disk.add([serve.pid]);

    const rows: SlowDiskRow[] = [];
    for (const gapSeconds of [0, options.gapSeconds]) {
      const arrival = gapSeconds === 0 ? 'together' : `one every ${gapSeconds} s`;
      const measured = async (port: number): Promise<{ seconds: number; failures: number; reads: number }> => {
        await prepareCache('cold');
        const from = await diskBytesRead(disk, device);
        const outcome = await backupGroup(pgBasebackup, '127.0.0.1', port, options.backups, gapSeconds * 1000);
        return { ...outcome, reads: ((await diskBytesRead(disk, device)) - from) / oneBackupBytes };
      };
      const direct = await measured(cluster.port);
      log(`slow disk: ${options.backups} ${arrival} directly: ${direct.seconds.toFixed(1)} s, ${direct.failures} failed, disk reads ${direct.reads.toFixed(2)}x one backup`);
      const through = await measured(servePort);
      log(`slow disk: ${options.backups} ${arrival} through serve: ${through.seconds.toFixed(1)} s, ${through.failures} failed, disk reads ${through.reads.toFixed(2)}x one backup`);
      rows.push({
        arrival, backups: options.backups, directSeconds: direct.seconds, serveSeconds: through.seconds, directFailures: direct.failures,
        serveFailures: through.failures, directDiskReads: direct.reads, serveDiskReads: through.reads,
      });
    }
    log('');
    log(`bigger than memory on a slow disk (${setup}); one backup alone ${one.seconds.toFixed(1)} s`);
    log(table(['arrival', 'backups', 'direct s', 'serve s', 'serve/direct', 'failed (direct, serve)', 'disk reads direct', 'disk reads serve'],
      rows.map((row) => [row.arrival, String(row.backups), row.directSeconds.toFixed(1), row.serveSeconds.toFixed(1),
        (row.serveSeconds / row.directSeconds).toFixed(2), `${row.directFailures}, ${row.serveFailures}`,
        `${row.directDiskReads.toFixed(2)}x`, `${row.serveDiskReads.toFixed(2)}x`])));
    log('targets: one every few seconds, serve at most 0.7x the wall time and 0.5x the disk reads; together, serve no slower');
    return { setup, oneBackupSeconds: one.seconds, oneBackupBytes, rows };
  } finally {
    await serve?.stop();
    for (const cgroup of [clusterMemory, serveMemory, disk]) await cgroup.remove();
  }
}
