/**
 * `connect()` and the ReplicationSession it returns: one PostgreSQL connection (normally a walsender), one
 * command at a time. Simple commands collect their result sets; BASE_BACKUP and START_REPLICATION get the
 * message stream exclusively (base-backup.ts, wal-stream.ts) until ReadyForQuery.
 *
 * Lifetime: the AbortSignal given to connect() covers the whole session; aborting destroys the socket and
 * every pending or later call rejects with AbortError ABORTED. A connection that lost its protocol state
 * (abandoned COPY, protocol error, closed socket) is dead; later calls reject with the reason.
 * connect_timeout covers transport, SSL and authentication. sslmode=prefer retries without SSL when the TLS
 * handshake fails, as libpq does.
 */
import type { Socket } from 'node:net';
import { AbortError, ConnectionError, ConvoyError, InternalError, ProtocolError, ServerError, UsageError } from '../errors/index.ts';
import { encodeCancelRequest, encodeCopyFail, encodeQuery, TERMINATE } from '../protocol/encode-frontend.ts';
import {
  createPhysicalSlotCommand, dropReplicationSlotCommand, identifySystemCommand, showCommand, startReplicationCommand,
  timelineHistoryCommand, baseBackupCommand,
} from '../protocol/replication-command.ts';
import type { BackendMessage } from '../protocol/messages.ts';
import { parseLsn } from '../util/lsn.ts';
import { parseTimeline, streamBaseBackup, withBackupTarget } from './base-backup.ts';
import { passwordOf } from './credentials.ts';
import { MessageReader } from './message-reader.ts';
import { ResultCollector, singleRow, textOf, type ResultSet } from './result-set.ts';
import { isFatalSeverity, type SessionChannel } from './session-channel.ts';
import { runStartup, type StartupResult } from './startup.ts';
import { describeServer, openTransport, wantsSsl } from './transport.ts';
import type {
  BaseBackupEvent, BaseBackupOptions, CancelKey, ConnectionParams, IdentifySystemResult, NoticeMessage, ReplicationSession,
  StartReplicationOptions, WalStream,
} from './types.ts';
import { ReplicationWalStream } from './wal-stream.ts';

const NEW_BASE_BACKUP_VERSION = 150_000;

/** A CancelRequest is one small packet; a server that does not take it within this time will not take it. */
const CANCEL_TIMEOUT_MS = 3000;

export async function connect(params: ConnectionParams, options: { signal?: AbortSignal } = {}): Promise<ReplicationSession> {
  const { signal } = options;
  if (signal?.aborted === true) throw toAbortError(signal.reason);
  const password = passwordOf(params);
  const useSsl = wantsSsl(params);
  try {
    return await connectOnce(params, password, useSsl, signal);
  } catch (error) {
    const isHandshakeFailure = error instanceof ConnectionError && error.code === 'SSL_FAILED' && error.details['sslStage'] === 'handshake';
    if (!(useSsl && params.sslmode === 'prefer' && isHandshakeFailure)) throw error;
    return connectOnce(params, password, false, signal);
  }
}

async function connectOnce(
  params: ConnectionParams, password: string | undefined, useSsl: boolean, signal: AbortSignal | undefined,
): Promise<ReplicationSession> {
  const cancel = new AbortController();
  const onAbort = (): void => cancel.abort(toAbortError(signal?.reason));
  signal?.addEventListener('abort', onAbort, { once: true });
  const timer = params.connectTimeoutMs > 0
    ? setTimeout(() => cancel.abort(new ConnectionError('CONNECT_TIMEOUT', `${describeServer(params)} failed: timeout expired`)), params.connectTimeoutMs)
    : null;
  try {
    const socket = await openTransport(params, useSsl, cancel.signal);
    const reader = new MessageReader(socket);
    const onCancel = (): void => reader.fail(cancel.signal.reason);
    cancel.signal.addEventListener('abort', onCancel, { once: true });
    try {
      const io = { read: () => reader.read(), write: (frame: Buffer) => void socket.write(frame), serverText: describeServer(params) };
      const startup = await runStartup(io, params, password);
      return new ReplicationConnection(socket, reader, startup, signal, params);
    } catch (error) {
      reader.fail(error);
      throw cancel.signal.aborted ? cancel.signal.reason : error;
    } finally {
      cancel.signal.removeEventListener('abort', onCancel);
    }
  } finally {
    if (timer !== null) clearTimeout(timer);
    signal?.removeEventListener('abort', onAbort);
  }
}

/**
 * One CancelRequest for the session `key` names, on a fresh connection to the same server. Only host and port
 * matter, and it always travels in plain text (the server reads it before any SSL or authentication), so no
 * password is needed: whoever holds the key may cancel. Resolves when the server closed the connection, or
 * quietly after CANCEL_TIMEOUT_MS; rejects only when the server could not be reached.
 */
export async function sendCancelRequest(params: ConnectionParams, key: CancelKey): Promise<void> {
  const timeout = AbortSignal.timeout(CANCEL_TIMEOUT_MS);
  const socket = await openTransport(params, false, timeout);
  await new Promise<void>((resolve) => {
    timeout.addEventListener('abort', () => socket.destroy(), { once: true });
    socket.once('close', () => resolve());
    socket.once('error', () => resolve());
    socket.end(encodeCancelRequest(key.processId, key.secretKey));
  });
}

/** libpq's PQserverVersion: 10+ is major*10000+minor ('15.18 (Debian …)' → 150018, '18devel' → 180000). */
export function parseServerVersionNum(text: string): number {
  const match = /^(\d+)(?:\.(\d+))?(?:\.(\d+))?/.exec(text);
  if (match === null) return 0;
  const [major, minor, patch] = [Number(match[1]), Number(match[2] ?? 0), Number(match[3] ?? 0)];
  return major >= 10 ? major * 10_000 + minor : major * 10_000 + minor * 100 + patch;
}

class ReplicationConnection implements ReplicationSession {
  readonly serverVersionNum: number;
  readonly serverVersion: string;
  readonly backendPid: number;
  readonly #parameters: Map<string, string>;
  readonly #socket: Socket;
  readonly #reader: MessageReader;
  readonly #signal: AbortSignal | undefined;
  readonly #onAbort = (): void => this.#fail(toAbortError(this.#signal?.reason));
  readonly #noticeListeners: Array<(notice: NoticeMessage) => void> = [];
  #isBusy = false;
  #failure: unknown = null;

  readonly #params: ConnectionParams;
  readonly #secretKey: Buffer;

  constructor(socket: Socket, reader: MessageReader, startup: StartupResult, signal: AbortSignal | undefined,
    params: ConnectionParams) {
    this.#socket = socket;
    this.#params = params;
    this.#secretKey = startup.secretKey;
    this.#reader = reader;
    this.#parameters = startup.parameters;
    this.backendPid = startup.backendPid;
    this.serverVersion = startup.parameters.get('server_version') ?? '';
    this.serverVersionNum = parseServerVersionNum(this.serverVersion);
    this.#signal = signal;
    if (signal?.aborted === true) this.#onAbort();
    else signal?.addEventListener('abort', this.#onAbort, { once: true });
  }

  get parameters(): ReadonlyMap<string, string> {
    return this.#parameters;
  }

  /** A getter over private fields: not enumerable, so never printed with the session. */
  get cancelKey(): CancelKey {
    return { processId: this.backendPid, secretKey: this.#secretKey };
  }

  async identifySystem(): Promise<IdentifySystemResult> {
    const row = singleRow((await this.#command(identifySystemCommand()))[0], 'IDENTIFY_SYSTEM', 3);
    const systemId = textOf(row[0]);
    const xlogPos = textOf(row[2]);
    if (systemId === null || !/^\d+$/.test(systemId) || xlogPos === null) {
      throw new ProtocolError('MALFORMED_MESSAGE', 'could not parse IDENTIFY_SYSTEM response');
    }
    return { systemId, timeline: parseTimeline(row[1]), xlogPos: parseLsn(xlogPos), dbName: textOf(row[3]) };
  }

  async show(name: string): Promise<string> {
    const value = textOf(singleRow((await this.#command(showCommand(name)))[0], 'SHOW', 1)[0]);
    if (value === null) throw new ProtocolError('MALFORMED_MESSAGE', `unexpected NULL value of "${name}"`);
    return value;
  }

  async timelineHistory(tli: number): Promise<{ readonly filename: string; readonly content: Buffer }> {
    const row = singleRow((await this.#command(timelineHistoryCommand(tli)))[0], 'TIMELINE_HISTORY', 2);
    const filename = textOf(row[0]);
    if (filename === null || row[1] === null || row[1] === undefined) {
      throw new ProtocolError('MALFORMED_MESSAGE', 'unexpected NULL in TIMELINE_HISTORY response');
    }
    return { filename, content: Buffer.from(row[1]) };
  }

  async createPhysicalSlot(name: string, options: { temporary: boolean; reserveWal: boolean }): Promise<void> {
    await this.#command(createPhysicalSlotCommand(name, options, this.serverVersionNum));
  }

  async dropSlot(name: string, wait = false): Promise<void> {
    await this.#command(dropReplicationSlotCommand(name, wait));
  }

  /** Rows of every result set the statement(s) returned, in order, as text. */
  async query(sql: string): Promise<Array<Array<string | null>>> {
    const sets = await this.#command(sql);
    return sets.flatMap((set) => set.rows.map((row) => row.map(textOf)));
  }

  baseBackup(options: BaseBackupOptions): AsyncIterable<BaseBackupEvent> {
    const isNewForm = this.serverVersionNum >= NEW_BASE_BACKUP_VERSION;
    const { target, ...rest } = options;
    if (target !== undefined && !isNewForm) throw new UsageError('OPTION_CONFLICT', 'backup targets are not supported by this server version');
    // usage errors surface here, synchronously
    const command = withBackupTarget(baseBackupCommand(rest, this.serverVersionNum), target);
    return { [Symbol.asyncIterator]: () => streamBaseBackup(() => this.#acquire(), command, isNewForm) };
  }

  startReplication(options: StartReplicationOptions): WalStream {
    return new ReplicationWalStream(this.#acquire(), startReplicationCommand(options), options);
  }

  onNotice(listener: (notice: NoticeMessage) => void): void {
    this.#noticeListeners.push(listener);
  }

  async close(): Promise<void> {
    if (this.#failure !== null) return;
    this.#failure = new ConnectionError('CONNECTION_CLOSED', 'connection is closed');
    this.#signal?.removeEventListener('abort', this.#onAbort);
    const closed = new Promise<void>((resolve) => {
      if (this.#socket.closed) resolve();
      else this.#socket.once('close', () => resolve());
    });
    this.#socket.end(TERMINATE);
    await closed;
  }

  destroy(): void {
    this.#fail(new AbortError('ABORTED', 'connection was destroyed'));
  }

  async cancel(): Promise<void> {
    await sendCancelRequest(this.#params, this.cancelKey);
  }

  /** Runs one simple-query cycle to ReadyForQuery; the first ErrorResponse is thrown after it. */
  async #command(text: string): Promise<ResultSet[]> {
    const channel = this.#acquire();
    let error: ServerError | null = null;
    try {
      channel.send(encodeQuery(text));
      const results = new ResultCollector();
      for (;;) {
        const message = await channel.next();
        if (message.type === 'ReadyForQuery') break;
        if (results.accept(message).consumed) continue;
        if (message.type === 'ErrorResponse') {
          error ??= new ServerError(message.fields);
          if (isFatalSeverity(message.fields.severity)) {
            channel.abandon(error);
            throw error;
          }
        } else if (message.type === 'CopyInResponse') {
          channel.send(encodeCopyFail('COPY FROM STDIN is not supported by this client'));
        } else {
          throw new ProtocolError('UNEXPECTED_MESSAGE', `unexpected message "${message.type}" in response to a simple command`);
        }
      }
      channel.finish();
      if (error !== null) throw error;
      return results.results;
    } catch (caught) {
      if (caught !== error) channel.abandon(caught);
      else channel.finish();
      throw caught;
    }
  }

  #acquire(): SessionChannel {
    if (this.#failure instanceof ConnectionError || this.#failure instanceof AbortError) throw this.#failure;
    if (this.#failure !== null) {
      throw new ConnectionError('CONNECTION_CLOSED', 'connection is unusable after an earlier error', { cause: this.#failure });
    }
    if (this.#isBusy) throw new InternalError('INTERNAL_ASSERTION', 'another command is still running on this connection');
    this.#isBusy = true;
    let isReleased = false;
    return {
      serverVersionNum: this.serverVersionNum,
      next: () => this.#next(),
      send: (frame) => {
        if (this.#failure === null) this.#socket.write(frame);
      },
      finish: () => {
        if (!isReleased) this.#isBusy = false;
        isReleased = true;
      },
      abandon: (error) => {
        isReleased = true;
        this.#fail(error);
      },
    };
  }

  async #next(): Promise<BackendMessage> {
    for (;;) {
      let message: BackendMessage;
      try {
        message = await this.#reader.read();
      } catch (error) {
        this.#fail(error);
        throw error;
      }
      if (message.type === 'ParameterStatus') this.#parameters.set(message.name, message.value);
      else if (message.type === 'NoticeResponse') this.#notify(message.fields);
      else return message;
    }
  }

  #notify(fields: { severity: string; code: string; message: string; detail?: string }): void {
    const notice: NoticeMessage = {
      severity: fields.severity, code: fields.code, message: fields.message,
      ...(fields.detail === undefined ? {} : { detail: fields.detail }),
    };
    for (const listener of this.#noticeListeners) listener(notice);
  }

  #fail(error: unknown): void {
    if (this.#failure !== null) return;
    this.#failure = error;
    this.#signal?.removeEventListener('abort', this.#onAbort);
    this.#reader.fail(error);
  }
}

function toAbortError(reason: unknown): AbortError {
  if (reason instanceof AbortError) return reason;
  if (reason instanceof ConvoyError && reason.code === 'ABORTED') return new AbortError('ABORTED', reason.message, { cause: reason });
  return new AbortError('ABORTED', 'operation was aborted', reason === undefined ? {} : { cause: reason });
}
