/**
 * START_REPLICATION (physical) as a WalStream: XLogData becomes 'xlogdata' events; keepalives that ask for a
 * reply get one at once; a standby status update goes out every statusIntervalMs, and whenever reportPosition
 * advances the flush position, with write = WAL received so far and flush = the last flush given to reportPosition
 * (InvalidXLogRecPtr until then), apply = 0.
 *
 * Endings: stop() sends CopyDone and reads to ReadyForQuery, dropping CopyData that crossed our CopyDone (as
 * libpq does); breaking out of for-await does the same. The server ending a historic timeline (its CopyDone,
 * then the next_tli result set) yields one 'timeline-end'. An ErrorResponse, also inside copy-both mode,
 * rejects with ServerError once ReadyForQuery arrives. Reads are serialised, so stop() may be called while an
 * iteration is pending; it sends CopyDone immediately so the pending read ends promptly.
 *
 * The server's wal_sender_timeout ends a stream whose client sent nothing for that long (the process was stopped,
 * or its event loop blocked on a stalled disk); the walsender only logs why and closes the socket, so the client
 * sees the same bare close as a crash. To tell the two apart, every message we send is timed (a monotonic clock,
 * which runs on while the process is stopped): a close after a silence of ours of at least the server's timeout
 * (`senderTimeoutMs`) is REPLICATION_TIMEOUT; the longest silence counts, because the timer that fires first when a
 * stopped process resumes sends a status update before the close is read.
 */
import { ConnectionError, ProtocolError, ServerError } from '../errors/index.ts';
import { COPY_DONE, encodeCopyData, encodeQuery } from '../protocol/encode-frontend.ts';
import type { BackendMessage } from '../protocol/messages.ts';
import { decodeReplicationCopyData, encodeStandbyStatusUpdate } from '../protocol/replication-messages.ts';
import { INVALID_LSN, parseLsn, type Lsn } from '../util/lsn.ts';
import { toPgEpochMicros } from '../util/pg-epoch.ts';
import { parseTimeline } from './base-backup.ts';
import { ResultCollector, textOf } from './result-set.ts';
import { isFatalSeverity, type SessionChannel } from './session-channel.ts';
import type { StartReplicationOptions, WalStream, WalStreamEvent } from './types.ts';

type State = 'starting' | 'copy' | 'after-copy' | 'finished';
const DONE: IteratorResult<WalStreamEvent> = Object.freeze({ done: true, value: undefined });

export class ReplicationWalStream implements WalStream, AsyncIterator<WalStreamEvent> {
  readonly #channel: SessionChannel;
  readonly #statusIntervalMs: number;
  readonly #senderTimeoutMs: number;
  #lastSentAtMs: number;
  #longestSilenceMs = 0;
  #state: State = 'starting';
  #hasSentCopyDone = false;
  #isStopRequested = false;
  #receivedLsn: Lsn;
  #flushLsn: Lsn = INVALID_LSN;
  #timer: NodeJS.Timeout | null = null;
  readonly #results = new ResultCollector();
  #serverError: ServerError | null = null;
  #failure: unknown = null;
  #tail: Promise<unknown> = Promise.resolve();

  constructor(channel: SessionChannel, command: string, options: StartReplicationOptions) {
    this.#channel = channel;
    this.#statusIntervalMs = options.statusIntervalMs;
    this.#senderTimeoutMs = options.senderTimeoutMs ?? 0;
    this.#receivedLsn = options.startLsn;
    this.#lastSentAtMs = performance.now();
    channel.send(encodeQuery(command));
  }

  [Symbol.asyncIterator](): AsyncIterator<WalStreamEvent> {
    return this;
  }

  next(): Promise<IteratorResult<WalStreamEvent>> {
    return this.#exclusive(() => this.#nextEvent());
  }

  async return(): Promise<IteratorResult<WalStreamEvent>> {
    await this.stop();
    return DONE;
  }

  /**
   * A flush position that moved is sent at once, not at the next interval: the server releases commits waiting for
   * a synchronous standby (and WAL held by the slot) only when told, so a durable write should not wait unreported.
   */
  reportPosition(writeLsn: Lsn, flushLsn: Lsn): void {
    if (writeLsn > this.#receivedLsn) this.#receivedLsn = writeLsn;
    if (flushLsn <= this.#flushLsn) return;
    this.#flushLsn = flushLsn;
    this.#sendStatus(false);
  }

  /** Resolves once the server confirmed the end; a no-op after the stream finished (or failed: already reported). */
  async stop(): Promise<void> {
    if (this.#state === 'finished') return;
    this.#isStopRequested = true;
    if (this.#state === 'copy') this.#sendCopyDone();
    await this.#exclusive(async () => {
      while (this.#state !== 'finished') await this.#nextEvent();
      return DONE;
    });
  }

  /** One reader at a time; a failure is remembered and repeated to later callers. */
  #exclusive(read: () => Promise<IteratorResult<WalStreamEvent>>): Promise<IteratorResult<WalStreamEvent>> {
    const run = this.#tail.then(() => (this.#failure !== null ? Promise.reject(this.#failure) : read()));
    this.#tail = run.catch(() => undefined);
    return run;
  }

  async #nextEvent(): Promise<IteratorResult<WalStreamEvent>> {
    while (this.#state !== 'finished') {
      let message: BackendMessage;
      try {
        message = await this.#channel.next();
        const event = this.#handle(message);
        if (event !== null) return event;
      } catch (caught) {
        const error = this.#explainClose(caught);
        this.#finish();
        this.#failure = error;
        if (!(error instanceof ServerError) || isFatalSeverity(error.severity)) this.#channel.abandon(error);
        throw error;
      }
    }
    return DONE;
  }

  /** Returns an iterator result to hand out, or null to keep reading. */
  #handle(message: BackendMessage): IteratorResult<WalStreamEvent> | null {
    switch (message.type) {
      case 'CopyBothResponse':
        if (this.#state !== 'starting') throw unexpected(message);
        this.#state = 'copy';
        if (this.#isStopRequested) this.#sendCopyDone();
        else if (this.#statusIntervalMs > 0) {
          this.#timer = setInterval(() => this.#sendStatus(false), this.#statusIntervalMs);
          this.#timer.unref();
        }
        return null;
      case 'CopyData':
        if (this.#state !== 'copy') return null; // crossed our CopyDone, or after the server's: dropped like libpq
        return this.#hasSentCopyDone ? null : this.#copyData(message.data);
      case 'CopyDone':
        if (this.#state !== 'copy') throw unexpected(message);
        this.#sendCopyDone();
        this.#state = 'after-copy';
        return null;
      case 'ErrorResponse':
        this.#serverError = new ServerError(message.fields);
        if (this.#state === 'copy') this.#state = 'after-copy';
        if (isFatalSeverity(message.fields.severity)) throw this.#serverError;
        return null;
      case 'ReadyForQuery':
        return this.#ready();
      default:
        if (!this.#results.accept(message).consumed) throw unexpected(message);
        // a CommandComplete inside copy mode is the server shutting down: the copy is over
        if (message.type === 'CommandComplete' && this.#state === 'copy') this.#state = 'after-copy';
        return null;
    }
  }

  #copyData(payload: Buffer): IteratorResult<WalStreamEvent> | null {
    const decoded = decodeReplicationCopyData(payload);
    if (decoded.type === 'PrimaryKeepalive') {
      if (decoded.replyRequested) this.#sendStatus(false);
      return null;
    }
    const end = decoded.dataStart + BigInt(decoded.data.length);
    if (end > this.#receivedLsn) this.#receivedLsn = end;
    return { done: false, value: { type: 'xlogdata', dataStart: decoded.dataStart, walEnd: decoded.walEnd, data: decoded.data } };
  }

  #ready(): IteratorResult<WalStreamEvent> {
    this.#finish();
    this.#channel.finish();
    if (this.#serverError !== null) throw this.#serverError;
    const nextTimeline = this.#results.results.find((set) => set.fields.length >= 2 && set.rows.length === 1);
    const row = nextTimeline?.rows[0];
    if (row === undefined || this.#isStopRequested) return DONE;
    const nextStart = textOf(row[1]);
    if (nextStart === null) throw new ProtocolError('MALFORMED_MESSAGE', 'unexpected NULL next timeline start position');
    return { done: false, value: { type: 'timeline-end', nextTli: parseTimeline(row[0]), nextStartLsn: parseLsn(nextStart) } };
  }

  /** A bare close while streaming, after we were silent for the server's wal_sender_timeout: its timeout. */
  #explainClose(error: unknown): unknown {
    const timeoutMs = this.#senderTimeoutMs;
    if (!(error instanceof ConnectionError) || error.code !== 'CONNECTION_CLOSED' || this.#state !== 'copy' || timeoutMs <= 0) return error;
    const silenceMs = Math.max(this.#longestSilenceMs, performance.now() - this.#lastSentAtMs);
    if (silenceMs < timeoutMs) return error;
    const seconds = (ms: number): string => `${(ms / 1000).toFixed(1)} s`;
    return new ConnectionError('REPLICATION_TIMEOUT',
      `WAL stream timed out: the server closed it after receiving nothing from this client for ${seconds(silenceMs)}, ` +
      `longer than its wal_sender_timeout (${seconds(timeoutMs)})`, {
        cause: error,
        hint: 'The client stopped reading and replying for that long (the process was stopped or suspended, or blocked on a stalled ' +
          'disk); the server log says "terminating walsender process due to replication timeout". Keep the backup running, or raise ' +
          'wal_sender_timeout.',
        details: { silenceMs: Math.round(silenceMs), senderTimeoutMs: timeoutMs },
      });
  }

  #send(frame: Buffer): void {
    const now = performance.now();
    this.#longestSilenceMs = Math.max(this.#longestSilenceMs, now - this.#lastSentAtMs);
    this.#lastSentAtMs = now;
    this.#channel.send(frame);
  }

  #sendCopyDone(): void {
    if (this.#hasSentCopyDone) return;
    this.#hasSentCopyDone = true;
    this.#stopTimer();
    this.#send(COPY_DONE);
  }

  #sendStatus(replyRequested: boolean): void {
    if (this.#state !== 'copy' || this.#hasSentCopyDone) return;
    this.#send(encodeCopyData(encodeStandbyStatusUpdate({
      writeLsn: this.#receivedLsn,
      flushLsn: this.#flushLsn,
      applyLsn: INVALID_LSN,
      sendTimeUs: toPgEpochMicros(Date.now()),
      replyRequested,
    })));
  }

  #finish(): void {
    this.#state = 'finished';
    this.#stopTimer();
  }

  #stopTimer(): void {
    if (this.#timer !== null) clearInterval(this.#timer);
    this.#timer = null;
  }
}

function unexpected(message: BackendMessage): ProtocolError {
  return new ProtocolError('UNEXPECTED_MESSAGE', `unexpected message "${message.type}" during START_REPLICATION`);
}
