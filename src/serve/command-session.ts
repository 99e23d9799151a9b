/**
 * A logged-in client's commands. Everything is relayed to the client's own upstream walsender session (frames in
 * both directions, unchanged: IDENTIFY_SYSTEM, SHOW, slots, TIMELINE_HISTORY, START_REPLICATION with its CopyBoth
 * traffic, UPLOAD_MANIFEST's CopyIn), except BASE_BACKUP, which serve performs itself (run-base-backup.ts) when it
 * can, answers itself when its options are wrong, and otherwise relays too (options.ts decides).
 *
 * Ordering: client frames are processed one after another. A BASE_BACKUP waits until every relayed command before
 * it got its ReadyForQuery (ready-ledger.ts counts them as the walsender answers them), and upstream frames are held
 * while serve's own backup writes to the client, so the two sources never interleave on the client's connection.
 * A BASE_BACKUP sent while the walsender discards frames until Sync is relayed, so the walsender discards it too.
 * Waiting ends early when either side goes away, so a session never outlives its client.
 *
 * Ending a backup early: the client disconnecting, Terminate or CopyFail, a CancelRequest with this session's key
 * (57014), or serve shutting down (57P01, FATAL) abort it; the backup's SQL session then closes and PostgreSQL
 * aborts the backup and drops its slot. Backups that finished keep their SQL session (and slot) until this client
 * session ends, so WAL a `-X stream` client is still receiving cannot be recycled under it.
 */
import { sendCancelRequest } from '../client/connection.ts';
import type { FrameReader } from '../client/frame-reader.ts';
import type { CancelKey, ConnectionParams } from '../client/types.ts';
import { AbortError, ProtocolError } from '../errors/index.ts';
import { FrontendType, BackendType } from '../protocol/codes.ts';
import { decodeFrontendMessage } from '../protocol/decode-frontend.ts';
import { encodeErrorResponse, encodeReadyForQuery } from '../protocol/encode-backend.ts';
import type { Frame } from '../protocol/framer.ts';
import { parseReplicationCommand } from '../protocol/replication-grammar.ts';
import { forward } from './auth-relay.ts';
import type { BackupSlots } from './backup-slots.ts';
import { decideBaseBackup, type BaseBackupRequest } from './backup/options.ts';
import { runBaseBackup, type BackupContext } from './backup/run-base-backup.ts';
import type { SqlBackupSession } from './backup/sql-backup.ts';
import type { CancelTarget } from './cancel-registry.ts';
import { errorFieldsOf } from './error-fields.ts';
import { ReadyLedger } from './ready-ledger.ts';
import type { ServeLog } from './serve-log.ts';
import type { SocketWriter } from './socket-writer.ts';

export interface CommandServices {
  readonly backup: BackupContext;
  readonly slots: BackupSlots;
  readonly upstreamParams: ConnectionParams;
  readonly log: ServeLog;
  readonly shutdown: AbortSignal;
  nextBackupId(): number;
}

export interface CommandEnds {
  readonly client: FrameReader;
  readonly clientWriter: SocketWriter;
  readonly upstream: FrameReader;
  readonly upstreamWriter: SocketWriter;
  readonly upstreamKey: CancelKey;
  /** For log lines: `user@address:port`. */
  readonly who: string;
}

/** The client stopped the backup (Terminate, CopyFail, lost connection): nothing is sent back. */
const CLIENT_GONE = 'client-gone';

export class CommandSession implements CancelTarget {
  readonly #services: CommandServices;
  readonly #ends: CommandEnds;
  readonly #fifo: Frame[] = [];
  #fifoWaiter: ((frame: Frame | null) => void) | null = null;
  #isClientGone = false;
  readonly #ledger = new ReadyLedger();
  #idleWaiters: Array<() => void> = [];
  #backup: { readonly abort: AbortController; readonly done: Promise<void> } | null = null;
  readonly #heldSessions: SqlBackupSession[] = [];

  constructor(services: CommandServices, ends: CommandEnds) {
    this.#services = services;
    this.#ends = ends;
  }

  /** Runs until the client or the cluster ends the session; always leaves both connections closed. */
  async run(): Promise<void> {
    const onShutdown = (): void => this.#terminate();
    this.#services.shutdown.addEventListener('abort', onShutdown, { once: true });
    const reading = this.#readClient();
    const pumping = this.#pumpUpstream();
    try {
      await this.#process();
    } finally {
      this.#services.shutdown.removeEventListener('abort', onShutdown);
      this.#backup?.abort.abort(clientGone());
      for (const session of this.#heldSessions) session.destroy();
      this.#ends.upstream.fail(new AbortError('ABORTED', 'session ended'));
      this.#ends.client.fail(new AbortError('ABORTED', 'session ended'));
      await Promise.allSettled([reading, pumping]);
    }
  }

  cancel(): void {
    if (this.#backup !== null) {
      this.#backup.abort.abort(new AbortError('ABORTED', 'canceling statement due to user request', { details: { sqlstate: '57014' } }));
    } else if (this.#ledger.owed > 0) {
      sendCancelRequest(this.#services.upstreamParams, this.#ends.upstreamKey).catch(() => {});
    }
  }

  /** serve is shutting down: FATAL 57P01 to the client, as a fast shutdown of PostgreSQL says it. */
  #terminate(): void {
    const reason = new AbortError('ABORTED', 'terminating connection due to administrator command', { details: { sqlstate: '57P01' } });
    if (this.#backup !== null) {
      this.#backup.abort.abort(reason);
      return;
    }
    this.#ends.clientWriter.send(encodeErrorResponse(errorFieldsOf(reason, 'FATAL'))).catch(() => {}).finally(() => this.#endClient());
  }

  async #process(): Promise<void> {
    for (let frame = await this.#nextFrame(); frame !== null; frame = await this.#nextFrame()) {
      if (frame.type === FrontendType.Terminate) {
        await forward(this.#ends.upstreamWriter, frame).catch(() => {});
        return;
      }
      const route = frame.type === FrontendType.Query ? await this.#routeQuery(frame) : 'relay';
      if (route === 'answered') continue;
      if (this.#isClientGone) return;
      this.#ledger.relayed(frame.type, route === 'relay-copy-in');
      await forward(this.#ends.upstreamWriter, frame);
    }
  }

  /** 'answered' when serve answered the query itself (or the session ended while it waited), else how to relay it. */
  async #routeQuery(frame: Frame): Promise<'answered' | 'relay' | 'relay-copy-in'> {
    // the walsender will discard it unread, BASE_BACKUP or not: so it is relayed, for the walsender to discard
    if (this.#ledger.isSkippingTillSync) return 'relay';
    let command;
    try {
      const message = decodeFrontendMessage(frame);
      if (message.type !== 'Query') return 'relay';
      command = parseReplicationCommand(message.sql);
    } catch {
      // a malformed Query (no terminating NUL, bytes after it) or one that does not parse: PostgreSQL says what is
      // wrong with it in its own words, and keeps the session (ERROR, then ReadyForQuery), so it is relayed
      return 'relay';
    }
    if (command.type === 'UPLOAD_MANIFEST') return 'relay-copy-in';
    if (command.type !== 'BASE_BACKUP') return 'relay';
    const decision = decideBaseBackup(command.syntax, command.options);
    if (decision.kind === 'relay') {
      this.#services.log.event('backup-relayed', { client: this.#ends.who, reason: decision.reason });
      return 'relay';
    }
    await this.#upstreamIdle();
    if (this.#isClientGone) return 'answered';
    if (decision.kind === 'refuse') {
      await this.#ends.clientWriter.send(encodeErrorResponse(decision.error), encodeReadyForQuery('I'));
      return 'answered';
    }
    await this.#performBackup(decision.request);
    return 'answered';
  }

  async #performBackup(request: BaseBackupRequest): Promise<void> {
    const abort = new AbortController();
    let finished = (): void => {};
    this.#backup = { abort, done: new Promise((resolve) => { finished = resolve; }) };
    const id = this.#services.nextBackupId();
    const { slots, log } = this.#services;
    const startedMs = performance.now();
    try {
      if (slots.waiting > 0 || slots.running > 0) log.event('backup-queued', { backup: id, client: this.#ends.who, running: slots.running });
      await slots.acquire(abort.signal);
      try {
        log.event('backup-begin', { backup: id, client: this.#ends.who, label: request.label });
        const channel = { send: (...frames: Buffer[]) => this.#ends.clientWriter.send(...frames), signal: abort.signal };
        const outcome = await runBaseBackup(this.#services.backup, id, channel, request);
        this.#heldSessions.push(outcome.session);
        await this.#ends.clientWriter.send(encodeReadyForQuery('I'));
      } finally {
        slots.release();
      }
    } catch (error) {
      const reason: unknown = abort.signal.aborted ? abort.signal.reason : error;
      log.event('backup-failed', {
        backup: id, client: this.#ends.who, seconds: Math.round(performance.now() - startedMs) / 1000,
        error: reason instanceof Error ? reason.message : String(reason),
      });
      await this.#reportFailure(reason);
    } finally {
      this.#backup = null;
      finished();
    }
  }

  async #reportFailure(reason: unknown): Promise<void> {
    if (this.#isClientGone || (reason instanceof AbortError && reason.details['kind'] === CLIENT_GONE)) return;
    const isShutdown = reason instanceof AbortError && reason.details['sqlstate'] === '57P01';
    const fields = errorFieldsOf(reason, isShutdown ? 'FATAL' : 'ERROR');
    try {
      if (isShutdown) {
        await this.#ends.clientWriter.send(encodeErrorResponse(fields));
        this.#endClient();
      } else {
        await this.#ends.clientWriter.send(encodeErrorResponse(fields), encodeReadyForQuery('I'));
      }
    } catch {
      // the client is gone too: nothing more to say
    }
  }

  /** Client frames into the FIFO; Terminate, CopyFail and a lost connection stop a running backup at once. */
  async #readClient(): Promise<void> {
    try {
      for (;;) {
        const frame = await this.#ends.client.read();
        const backup = this.#backup;
        if (backup !== null && frame.type === FrontendType.CopyFail) {
          backup.abort.abort(new AbortError('ABORTED', 'base backup aborted: the client sent CopyFail', { details: { sqlstate: '57014' } }));
          continue;
        }
        if (backup !== null && frame.type === FrontendType.Terminate) backup.abort.abort(clientGone());
        this.#push(frame);
      }
    } catch (error) {
      // a bad length or an oversized frame: the reader already closed the connection, as PostgreSQL closes it
      // without a word to the client; like PostgreSQL, serve at least says why in its log
      if (error instanceof ProtocolError) this.#services.log.event('connection-error', { client: this.#ends.who, error: error.message });
      this.#isClientGone = true;
      this.#backup?.abort.abort(clientGone());
      this.#push(null);
      this.#wakeIdleWaiters();
    }
  }

  /** Upstream frames to the client, held while serve's own backup has the client's connection. */
  async #pumpUpstream(): Promise<void> {
    try {
      for (;;) {
        const frame = await this.#ends.upstream.read();
        while (this.#backup !== null) await this.#backup.done;
        await forward(this.#ends.clientWriter, frame);
        if (frame.type === BackendType.ReadyForQuery && this.#ledger.answered()) this.#wakeIdleWaiters();
      }
    } catch {
      // the cluster closed this session (after a FATAL we forwarded, or it went down): so does the client's
      this.#endClient();
    }
  }

  /** Resolves once the cluster owes no ReadyForQuery, or once the session is ending (then #isClientGone is set). */
  #upstreamIdle(): Promise<void> {
    if (this.#ledger.owed === 0 || this.#isClientGone) return Promise.resolve();
    return new Promise((resolve) => this.#idleWaiters.push(resolve));
  }

  #wakeIdleWaiters(): void {
    for (const wake of this.#idleWaiters.splice(0)) wake();
  }

  #push(frame: Frame | null): void {
    const waiter = this.#fifoWaiter;
    if (waiter !== null) {
      this.#fifoWaiter = null;
      waiter(frame);
    } else if (frame !== null || !this.#fifo.includes(END_MARK)) {
      this.#fifo.push(frame ?? END_MARK);
    }
  }

  #nextFrame(): Promise<Frame | null> {
    const frame = this.#fifo.shift();
    if (frame !== undefined) return Promise.resolve(frame === END_MARK ? null : frame);
    return new Promise((resolve) => { this.#fifoWaiter = resolve; });
  }

  #endClient(): void {
    this.#isClientGone = true;
    this.#ends.client.fail(new AbortError('ABORTED', 'session ended'));
    this.#push(null);
    this.#wakeIdleWaiters();
  }
}

const END_MARK: Frame = Object.freeze({ type: -1, body: Buffer.alloc(0) });

function clientGone(): AbortError {
  return new AbortError('ABORTED', 'the client ended the connection during the base backup', { details: { kind: CLIENT_GONE } });
}
