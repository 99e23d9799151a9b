/**
 * `pgconvoy serve` as a child process for the benchmarks: started on a free port beside a cluster, its JSON log
 * followed for the listening port and its counter of data-directory bytes read, its CPU time and peak RSS read
 * from /proc. Does not judge what it sees; serve-bench.ts does.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import type { LocalCluster } from '../src/cluster/local-cluster.ts';
import { procUsage } from './measure.ts';

/** serve as a child process, its JSON log followed for the listening port and the read counter. */
export class ServeProcess {
  readonly #child: ChildProcess;
  #dataBytesRead = 0;
  readonly port: Promise<number>;

  constructor(command: readonly string[], cluster: LocalCluster) {
    this.#child = spawn(command[0] as string, [...command.slice(1), 'serve', '--pgdata', cluster.dataDir,
      '-d', `host=${cluster.host} port=${cluster.port} user=postgres dbname=postgres`,
      '--listen', '127.0.0.1:0', '--log-format', 'json', '--max-backups', '32'], { stdio: ['ignore', 'ignore', 'pipe'] });
    let partial = '';
    let tail = '';
    this.port = new Promise((resolve, reject) => {
      this.#child.stderr?.setEncoding('utf8').on('data', (text: string) => {
        tail = (tail + text).slice(-4000);
        const lines = (partial + text).split('\n');
        partial = lines.pop() ?? '';
        for (const line of lines) {
          if (!line.startsWith('{')) continue;
          const event = JSON.parse(line) as Record<string, unknown>;
          if (event['event'] === 'listening') resolve(Number(event['port']));
          if (event['event'] === 'backup-end') this.#dataBytesRead = Math.max(this.#dataBytesRead, Number(event['serveDataBytesRead']));
        }
      });
      this.#child.once('exit', (code) => reject(new Error(`serve exited (${code ?? 'signal'}) before listening:\n${tail}`)));
    });
  }

  /** Its process id (to move it into a cgroup, say). */
  get pid(): number {
    return this.#child.pid ?? 0;
  }

  /** Data-directory bytes read so far, as of the last backup that ended. */
  get dataBytesRead(): number {
    return this.#dataBytesRead;
  }

  /**
   * CPU seconds (user+sys) serve has used so far, and its peak RSS, from /proc: serve lives through the whole
   * section, so differences of this figure around a group are that group's share, exact to a clock tick.
   */
  async usage(): Promise<{ cpuSeconds: number; peakRssMb: number }> {
    const usage = await procUsage(this.pid);
    return { cpuSeconds: usage.userSeconds + usage.sysSeconds, peakRssMb: usage.peakRssKb / 1024 };
  }

  async stop(): Promise<void> {
    if (this.#child.exitCode !== null) return;
    const exited = new Promise((resolve) => this.#child.once('exit', resolve));
    this.#child.kill('SIGTERM');
    await exited;
  }
}
