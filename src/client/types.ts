/**
 * The contract between the replication client (src/client) and everything above it (commands, pipeline
 * wiring). Implemented by `ReplicationConnection` in connection.ts; kept here so callers compile against
 * the shape, not the implementation.
 *
 * Byte ownership: every Buffer handed out (archive data, manifest data, WAL data) is owned by the receiver.
 * The client never writes into memory it has handed out, so a consumer may keep a chunk as long as it likes.
 *
 * Backpressure: event streams are async iterators. While the consumer has not asked for the next event, the
 * socket is paused; a slow disk therefore slows the server instead of growing memory.
 */
import type { Lsn } from '../util/lsn.ts';

export type SslMode = 'disable' | 'allow' | 'prefer' | 'require' | 'verify-ca' | 'verify-full';

/** Connection parameters after merging conninfo, flags, PG* environment and ~/.pgpass. */
export interface ConnectionParams {
  readonly host: string; // a directory starting with '/' means a Unix-domain socket directory
  readonly port: number;
  readonly user: string;
  readonly database: string; // sent as dbname; 'replication' for physical walsenders
  readonly password?: string; // never logged, never enumerable on errors
  readonly sslmode: SslMode;
  readonly applicationName: string;
  readonly connectTimeoutMs: number; // 0 = no timeout
  /** `true` for a physical walsender, 'database' for logical, omitted for a plain SQL session. */
  readonly replication?: 'true' | 'database';
  /** Extra run-time parameters (GUCs) for the StartupMessage, e.g. client_connection_check_interval. */
  readonly startupParameters?: Readonly<Record<string, string>>;
}

export interface IdentifySystemResult {
  readonly systemId: string; // decimal u64, kept as text (may exceed 2^53)
  readonly timeline: number;
  readonly xlogPos: Lsn;
  readonly dbName: string | null;
}

export interface TablespaceInfo {
  readonly oid: number | null; // null for the main data directory row (always last)
  readonly location: string | null;
  readonly sizeKb: bigint | null; // only with PROGRESS
}

/** Options of BASE_BACKUP, in pg_basebackup's terms. The client renders them for the server's syntax. */
export interface BaseBackupOptions {
  readonly label: string;
  readonly progress: boolean;
  readonly fastCheckpoint: boolean;
  readonly wal: boolean; // WAL option: server appends WAL to base.tar (-X fetch)
  readonly wait: boolean; // false = NOWAIT / WAIT 0 (pg_basebackup sends it whenever WAL is included)
  readonly maxRateKbps?: number; // 32..1048576
  readonly tablespaceMap: boolean;
  readonly verifyChecksums: boolean;
  readonly manifest: 'no' | 'yes' | 'force-encode';
  readonly manifestChecksums?: 'NONE' | 'CRC32C' | 'SHA224' | 'SHA256' | 'SHA384' | 'SHA512';
  /** Server-side compression (15+ only). */
  readonly compression?: { readonly method: 'gzip' | 'lz4' | 'zstd'; readonly detail?: string };
  /** TARGET other than 'client' (15+ only): the server stores the backup; the COPY then carries no archive data. */
  readonly target?: { readonly name: string; readonly detail?: string };
}

/**
 * One BASE_BACKUP, normalised over both wire forms. For servers < 15 the client synthesises `archive` events
 * from the tablespace list (base.tar / <oid>.tar), appends the two zero blocks that terminate each tar, and
 * emits `manifest` before the manifest COPY; so consumers always see terminated tar archives.
 */
export type BaseBackupEvent =
  | { readonly type: 'start'; readonly startLsn: Lsn; readonly startTli: number }
  | { readonly type: 'tablespaces'; readonly tablespaces: readonly TablespaceInfo[] }
  | { readonly type: 'archive'; readonly name: string; readonly location: string } // '' for the main dir
  | { readonly type: 'data'; readonly chunk: Buffer } // archive bytes, or manifest bytes after 'manifest'
  | { readonly type: 'progress'; readonly bytesDone: bigint } // cumulative, uncompressed
  | { readonly type: 'manifest' }
  | { readonly type: 'end'; readonly endLsn: Lsn; readonly endTli: number };

/** START_REPLICATION (physical). */
export interface StartReplicationOptions {
  readonly slot?: string;
  readonly startLsn: Lsn; // rounded down to a segment start by the caller
  readonly timeline: number;
  readonly statusIntervalMs: number; // standby status updates; 0 = only when the server asks
  /** The server's wal_sender_timeout (0 = none): a close after we were silent that long is REPLICATION_TIMEOUT. */
  readonly senderTimeoutMs?: number;
}

export type WalStreamEvent =
  | { readonly type: 'xlogdata'; readonly dataStart: Lsn; readonly walEnd: Lsn; readonly data: Buffer }
  /** The server ended a historic timeline: switch to `nextTli` from `nextStartLsn`. */
  | { readonly type: 'timeline-end'; readonly nextTli: number; readonly nextStartLsn: Lsn };

export interface WalStream extends AsyncIterable<WalStreamEvent> {
  /** Report how far WAL was received (write) and made durable (flush); advances the slot. */
  reportPosition(writeLsn: Lsn, flushLsn: Lsn): void;
  /** Ask the server to end the stream (CopyDone); iteration then finishes. */
  stop(): Promise<void>;
}

/**
 * BackendKeyData: what a CancelRequest for a session must quote. It lets anyone who holds it cancel the session's
 * command, so it is never logged and never enumerable on the session.
 */
export interface CancelKey {
  readonly processId: number;
  readonly secretKey: Buffer;
}

export interface NoticeMessage {
  readonly severity: string;
  readonly code: string;
  readonly message: string;
  readonly detail?: string;
}

export interface ReplicationSession {
  readonly serverVersionNum: number; // e.g. 150020, derived from server_version
  readonly serverVersion: string;
  readonly backendPid: number;
  readonly parameters: ReadonlyMap<string, string>;
  /** For a CancelRequest sent by someone else (the backup guardian); see sendCancelRequest in connection.ts. */
  readonly cancelKey: CancelKey;

  identifySystem(): Promise<IdentifySystemResult>;
  show(name: string): Promise<string>;
  timelineHistory(tli: number): Promise<{ readonly filename: string; readonly content: Buffer }>;
  createPhysicalSlot(name: string, options: { temporary: boolean; reserveWal: boolean }): Promise<void>;
  dropSlot(name: string, wait?: boolean): Promise<void>;
  /** Simple-query SQL (only on non-physical sessions); rows as text, NULL as null. */
  query(sql: string): Promise<Array<Array<string | null>>>;
  baseBackup(options: BaseBackupOptions): AsyncIterable<BaseBackupEvent>;
  startReplication(options: StartReplicationOptions): WalStream;
  /** Notices (e.g. checksum WARNINGs during BASE_BACKUP) go here as they arrive. */
  onNotice(listener: (notice: NoticeMessage) => void): void;
  /**
   * Ask the server to cancel what this session is doing (CancelRequest on a separate connection), e.g. a
   * BASE_BACKUP still waiting for its start checkpoint. Best effort: resolves when the request was sent.
   */
  cancel(): Promise<void>;
  /** Terminate politely (Terminate message, then close). */
  close(): Promise<void>;
  /** Drop the socket now; the server aborts whatever this session was doing. */
  destroy(): void;
}
