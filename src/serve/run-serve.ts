/**
 * `pgconvoy serve` as a whole: learns the cluster (cluster-facts.ts), builds the shared parts (the convoy, the
 * start gate, the backup slots, the cancel keys), listens on every `--listen` address and serves each connection
 * (client-session.ts) until asked to stop.
 *
 * Stopping (SIGTERM, SIGINT): listeners close at once, every session is told (FATAL 57P01, as a fast shutdown of
 * PostgreSQL), running backups abort, every upstream session closes; whatever has not ended after
 * SHUTDOWN_GRACE_MS is destroyed. A `kill -9` of serve needs none of this: every PostgreSQL session serve holds
 * ends with its socket, and PostgreSQL then aborts the backup and drops the temporary slot itself.
 *
 * serve's own SQL session (the `-d` role) is used for pg_hba_file_rules and role membership lookups, one query at
 * a time; backups open sessions of their own.
 */
import { createServer, type Server, type Socket } from 'node:net';
import { createSecureContext, type SecureContext } from 'node:tls';
import { readFile } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { connect } from '../client/connection.ts';
import type { ConnectionParams, ReplicationSession } from '../client/types.ts';
import { ConnectionError, fsError } from '../errors/index.ts';
import { BackupSlots } from './backup-slots.ts';
import { Convoy } from './backup/convoy.ts';
import type { ReadCounters } from './backup/file-read.ts';
import { StartGate } from './backup/sql-backup.ts';
import { Throttle } from './backup/throttle.ts';
import { CancelRegistry } from './cancel-registry.ts';
import { serveConnection, type SessionServices } from './client-session.ts';
import { readClusterFacts } from './cluster-facts.ts';
import { productionLookups } from './hba/hba-lookups.ts';
import { hbaRulesFromRows, hbaRulesQuery } from './hba/hba-rules.ts';
import { createServeLog, type LogFormat } from './serve-log.ts';

export interface ListenAddress {
  readonly host: string;
  readonly port: number;
}

export interface ServeOptions {
  readonly dataDir: string;
  /** serve's own role, for SQL (replication omitted): pg_backup_start/stop, slots, pg_hba_file_rules. */
  readonly connection: ConnectionParams;
  readonly listen: readonly ListenAddress[];
  readonly maxRateBytesPerSecond: number | null;
  readonly maxBackups: number;
  readonly tls: { readonly certPath: string; readonly keyPath: string } | null;
  readonly logFormat: LogFormat;
}

/**
 * Bytes read from disk per read call. Measured at scale 100, warm, 3 runs per size, 2026-12-07:
 * - 256 kB: serve's CPU for one backup was 1.99 s against 1.50 s at 1 MB. Each chunk costs a promise hop and a
 *   write per socket, and that outweighs verify's cache effect (src/verify/file-hasher.ts).
 * - 2 and 4 MB: ten at once were no faster (10.3 and 9.6 s against 9.1 s), and they read the data directory 1.30
 *   and 1.27 times, because bigger chunks fill a member's queue sooner and so detach more laggards. serve's peak
 *   RSS was 189 and 231 MB against 140 MB.
 */
const CHUNK_BYTES = 1024 * 1024;
const SHUTDOWN_GRACE_MS = 3000;

export async function runServe(options: ServeOptions, io: { readonly stderr: NodeJS.WritableStream; readonly signal: AbortSignal }): Promise<void> {
  const log = createServeLog(options.logFormat, io.stderr);
  const admin = new AdminSession(options.connection);
  const facts = await readClusterFacts(await admin.session(), options.dataDir);
  const tls = options.tls === null ? null : await secureContext(options.tls);
  const throttle = new Throttle(options.maxRateBytesPerSecond);
  const convoyCounters: ReadCounters = { dataBytesRead: 0 };
  const walCounters: ReadCounters = { dataBytesRead: 0 };
  const shutdown = new AbortController();
  let backupIds = 0;
  const services: SessionServices = {
    backup: {
      dataDir: options.dataDir, sqlParams: options.connection, cluster: facts, startGate: new StartGate(), log,
      convoy: new Convoy({ chunkBytes: CHUNK_BYTES, throttle, counters: convoyCounters, dataChecksums: facts.dataChecksums, log: (event, fields) => log.event(event, fields) }),
      walRead: { chunkBytes: CHUNK_BYTES, throttle, counters: walCounters },
      readCounters: { convoy: convoyCounters, wal: walCounters },
    },
    slots: new BackupSlots(options.maxBackups),
    upstreamParams: options.connection,
    log,
    shutdown: shutdown.signal,
    nextBackupId: () => ++backupIds,
    tls,
    cancelKeys: new CancelRegistry(),
    authenticationTimeoutMs: facts.authenticationTimeoutMs,
    loadHba: async () => {
      const rows = await admin.query(hbaRulesQuery(facts.serverVersionNum));
      return { rules: hbaRulesFromRows(rows), lookups: productionLookups({ query: (sql: string) => admin.query(sql) }) };
    },
  };
  const sessions = new Set<Promise<void>>();
  const sockets = new Set<Socket>();
  const servers = await Promise.all(options.listen.map((address) => listen(address, (socket) => {
    sockets.add(socket);
    const session = serveConnection(socket, services).catch(() => {}).finally(() => {
      sockets.delete(socket);
      sessions.delete(session);
    });
    sessions.add(session);
  })));
  for (const server of servers) {
    const bound = server.address();
    if (bound !== null && typeof bound === 'object') log.event('listening', { host: bound.address, port: bound.port });
  }
  log.event('ready', { pgdata: options.dataDir, version: facts.serverVersionNum, checksums: facts.dataChecksums, maxBackups: options.maxBackups });
  await new Promise<void>((resolve) => {
    if (io.signal.aborted) resolve();
    else io.signal.addEventListener('abort', () => resolve(), { once: true });
  });
  log.event('shutting-down', { sessions: sessions.size });
  for (const server of servers) server.close();
  shutdown.abort();
  // unref: once every session has ended, a pending grace timer must not keep serve alive
  await Promise.race([Promise.allSettled([...sessions]), sleep(SHUTDOWN_GRACE_MS, undefined, { ref: false })]);
  for (const socket of sockets) socket.destroy();
  admin.close();
  log.event('stopped', { dataBytesRead: convoyCounters.dataBytesRead, walBytesRead: walCounters.dataBytesRead });
}

function listen(address: ListenAddress, onSocket: (socket: Socket) => void): Promise<Server> {
  return new Promise((resolve, reject) => {
    const server = createServer({ noDelay: true, pauseOnConnect: true }, onSocket);
    server.once('error', (error) => reject(new ConnectionError('CONNECT_FAILED', `could not listen on ${address.host}:${address.port}: ${error.message}`, { cause: error })));
    server.listen(address.port, address.host, () => resolve(server));
  });
}

async function secureContext(paths: { readonly certPath: string; readonly keyPath: string }): Promise<SecureContext> {
  const read = (path: string): Promise<Buffer> => readFile(path).catch((error: unknown) => { throw fsError('read file', path, error); });
  return createSecureContext({ cert: await read(paths.certPath), key: await read(paths.keyPath) });
}

/** serve's own SQL session, reopened after a failure, one query at a time. */
class AdminSession {
  readonly #params: ConnectionParams;
  #session: Promise<ReplicationSession> | null = null;
  #tail: Promise<unknown> = Promise.resolve();

  constructor(params: ConnectionParams) {
    this.#params = params;
  }

  session(): Promise<ReplicationSession> {
    this.#session ??= connect(this.#params);
    const session = this.#session;
    session.catch(() => { if (this.#session === session) this.#session = null; });
    return session;
  }

  query(sql: string): Promise<Array<Array<string | null>>> {
    const run = this.#tail.catch(() => {}).then(async () => {
      const session = await this.session();
      try {
        return await session.query(sql);
      } catch (error) {
        if (error instanceof ConnectionError) this.#session = null; // lost: the next query reconnects
        throw error;
      }
    });
    this.#tail = run;
    return run;
  }

  close(): void {
    void this.#session?.then((session) => session.close()).catch(() => {});
  }
}
