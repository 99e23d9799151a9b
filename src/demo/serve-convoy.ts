/**
 * The demo's convoy: `pgconvoy serve` started beside the throwaway cluster, several backups through it at the same
 * moment, and serve's own count of the bytes it read from the data directory, set against what the same backups
 * would have read on their own: the data-directory bytes each one received (its `sharedBytes` + `aloneBytes`),
 * summed. WAL and pg_control, which serve reads for each backup alone anyway, are in neither number.
 *
 * serve runs inside this process through runServe, the function `pgconvoy serve` itself calls, rather than as a
 * child process: there is no entry point or TypeScript loader to locate (the demo runs from tsx and from the build
 * alike), no second Node start-up, and serve cannot outlive the demo. The clients still reach it over TCP with
 * the replication protocol, as pg_basebackup would, and its log is read as the JSON lines `--log-format json`
 * prints. serve is stopped before this returns or throws; on success the cluster has been seen to hold nothing
 * of it: no session, no replication slot, no walsender.
 */
import { Writable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import type { BackupOutcome } from '../backup/run-backup.ts';
import type { LocalCluster } from '../cluster/local-cluster.ts';
import { AbortError, InternalError, invariant } from '../errors/index.ts';
import { runServe } from '../serve/run-serve.ts';
import { takeBackups, type DemoBackup } from './demo-backup.ts';

export interface ConvoyReport {
  readonly port: number;
  /** In the order of the backups asked for. */
  readonly outcomes: readonly BackupOutcome[];
  /** What serve read from the data directory for all the backups together. */
  readonly serveReadBytes: number;
  /** What the same backups would have read from it on their own. */
  readonly aloneReadBytes: number;
}

/** As the CLI names serve's sessions, so pg_stat_activity shows the demo's serve as it would show a real one. */
const SERVE_APPLICATION_NAME = 'pgconvoy serve';
/** serve closes its sessions without waiting for PostgreSQL to notice; backends take a moment to go. */
const LEFTOVER_WAIT_MS = 5_000;

export async function backupsThroughServe(cluster: LocalCluster, backups: readonly DemoBackup[], signal: AbortSignal): Promise<ConvoyReport> {
  const log = new ServeEvents();
  const stop = new AbortController();
  const serving = runServe({
    dataDir: cluster.dataDir,
    connection: cluster.connectionParams({ applicationName: SERVE_APPLICATION_NAME }),
    listen: [{ host: cluster.host, port: 0 }],
    maxRateBytesPerSecond: null,
    maxBackups: backups.length,
    tls: null,
    logFormat: 'json',
  }, { stderr: log.sink, signal: AbortSignal.any([signal, stop.signal]) });
  let port: number;
  let outcomes: BackupOutcome[];
  try {
    port = Number((await log.waitFor('listening', serving))['port']);
    await log.waitFor('ready', serving);
    const connection = cluster.connectionParams({ port });
    outcomes = await takeBackups(connection, backups, signal);
  } finally {
    stop.abort();
    // serve's own failure, if any, explains the clients' better than they can
    await serving;
  }
  await expectNothingLeft(cluster);
  const stopped = log.find('stopped');
  invariant(stopped !== undefined, 'serve stopped without logging "stopped"');
  const aloneReadBytes = backups.reduce((sum, backup) => {
    const end = log.find('backup-end', backup.label);
    invariant(end !== undefined, `serve logged no "backup-end" for "${backup.label}"`);
    return sum + Number(end['sharedBytes']) + Number(end['aloneBytes']);
  }, 0);
  return { port, outcomes, serveReadBytes: Number(stopped['dataBytesRead']), aloneReadBytes };
}

async function expectNothingLeft(cluster: LocalCluster): Promise<void> {
  const deadline = Date.now() + LEFTOVER_WAIT_MS;
  for (;;) {
    // the demo makes no permanent slot and its other backups have ended: any slot or walsender is serve's doing
    const [[sessions, slots, walsenders] = []] = await cluster.sql(
      `SELECT (SELECT count(*) FROM pg_stat_activity WHERE application_name LIKE '${SERVE_APPLICATION_NAME}%'), ` +
      "(SELECT count(*) FROM pg_replication_slots), (SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'walsender')");
    if (sessions === '0' && slots === '0' && walsenders === '0') return;
    if (Date.now() > deadline) {
      throw new InternalError('INTERNAL_ASSERTION',
        `serve stopped ${LEFTOVER_WAIT_MS / 1000} s ago, but the cluster still holds ${sessions} session(s) of serve, ${slots} replication slot(s) and ${walsenders} walsender(s)`);
    }
    await sleep(100);
  }
}

type ServeEvent = Readonly<Record<string, unknown>> & { readonly event: string };

/** serve's JSON log, parsed line by line as serve writes it. */
class ServeEvents {
  readonly #events: ServeEvent[] = [];
  readonly #waiters: Array<{ readonly event: string; readonly resolve: (event: ServeEvent) => void }> = [];
  #partial = '';
  readonly sink = new Writable({
    write: (chunk: Buffer, _encoding, done) => {
      this.#take(chunk.toString('utf8'));
      done();
    },
  });

  find(event: string, label?: string): ServeEvent | undefined {
    return this.#events.find((seen) => seen.event === event && (label === undefined || seen['label'] === label));
  }

  /** The first `event` serve logs, or serve's own failure if it ends first. */
  async waitFor(event: string, serving: Promise<void>): Promise<ServeEvent> {
    const seen = this.find(event);
    if (seen !== undefined) return seen;
    const logged = new Promise<ServeEvent>((resolve) => this.#waiters.push({ event, resolve }));
    // serve only ends by itself when asked to stop, and before that only the demo's own interruption can ask
    const ended = serving.then((): never => { throw new AbortError('ABORTED', `serve stopped before it logged "${event}"`); });
    return Promise.race([logged, ended]);
  }

  #take(text: string): void {
    const lines = (this.#partial + text).split('\n');
    this.#partial = lines.pop() ?? '';
    for (const line of lines) {
      const event = JSON.parse(line) as ServeEvent;
      this.#events.push(event);
      for (const waiter of this.#waiters.splice(0)) {
        if (waiter.event === event.event) waiter.resolve(event);
        else this.#waiters.push(waiter);
      }
    }
  }
}
