/**
 * The `-X stream` side of a backup: a second replication session that receives WAL from the backup's start
 * segment until the end LSN that BASE_BACKUP reports, and hands it to the destinations' WalSink.
 *
 * Why the slot comes first: the slot (RESERVE_WAL) is created by `reserve()` BEFORE BASE_BACKUP starts, so its
 * restart point is at or before the backup's start checkpoint and the server cannot recycle a segment this
 * backup still needs, however busy it is and however many backups run at once. pg_basebackup creates its slot
 * only after the backup started, which leaves a window for exactly that loss.
 *
 * Standby status updates report write = WAL received and flush = what the sink has fsynced (WalSink.flushedLsn),
 * never more: the flush position moves the slot, and lets the server recycle WAL and count commits as safe.
 */
import { ConvoyError, ServerError } from '../errors/index.ts';
import { parseDurationSetting } from '../client/duration-setting.ts';
import type { ReplicationSession, WalStream } from '../client/types.ts';
import type { WalSink } from '../pipeline/wal-sink.ts';
import { formatLsn, segmentStart, type Lsn } from '../util/lsn.ts';

export interface SlotChoice {
  /** Slot name to stream from; undefined with --no-slot. */
  readonly name?: string;
  /** Create it here (temporary unless `permanent`), or use one that exists. */
  readonly create: boolean;
  readonly permanent: boolean;
}

export class WalStreamer {
  readonly #session: ReplicationSession;
  readonly #sink: WalSink;
  readonly #slot: SlotChoice;
  readonly #segmentBytes: number;
  readonly #statusIntervalMs: number;
  #stopLsn: Lsn | null = null;
  #receivedLsn: Lsn = 0n;
  #stream: WalStream | null = null;
  #stopping: Promise<void> | null = null;
  #done: Promise<void> | null = null;
  /** Set when streaming failed; the run reports it instead of the main session's resulting disconnect. */
  failure: unknown = undefined;

  constructor(session: ReplicationSession, sink: WalSink, options: { slot: SlotChoice; segmentBytes: number; statusIntervalMs: number }) {
    this.#session = session;
    this.#sink = sink;
    this.#slot = options.slot;
    this.#segmentBytes = options.segmentBytes;
    this.#statusIntervalMs = options.statusIntervalMs;
  }

  get receivedLsn(): Lsn {
    return this.#receivedLsn;
  }

  /** Before BASE_BACKUP: create the slot that holds WAL for this backup. */
  async reserve(): Promise<void> {
    if (this.#slot.name !== undefined && this.#slot.create) {
      await this.#session.createPhysicalSlot(this.#slot.name, { temporary: !this.#slot.permanent, reserveWal: true })
        .catch((error: unknown) => { throw explainSlotError(error, undefined); });
    }
  }

  /**
   * After BASE_BACKUP reported its start: stream from the start segment in the background. `onFailure` runs
   * at once if streaming fails, so the main session is torn down instead of sending data nobody will keep.
   */
  start(startLsn: Lsn, startTli: number, onFailure: () => void): void {
    this.#done = this.#pump(startLsn, startTli);
    this.#done.catch((error: unknown) => {
      this.failure = error;
      onFailure();
    });
  }

  /** After BASE_BACKUP reported its end: wait until WAL up to `endLsn` is written, then end the stream. */
  async finish(endLsn: Lsn): Promise<void> {
    this.#stopLsn = endLsn;
    if (this.#receivedLsn >= endLsn) this.#requestStop();
    await this.#done;
    await this.#sink.finish();
  }

  async #pump(startLsn: Lsn, startTli: number): Promise<void> {
    let tli = startTli;
    let from = segmentStart(startLsn, this.#segmentBytes);
    // Known to the stream so that a close caused by this timeout is reported as such (see client/wal-stream.ts).
    const senderTimeoutMs = parseDurationSetting('wal_sender_timeout', await this.#session.show('wal_sender_timeout'), 1);
    for (;;) {
      if (tli > 1) {
        const history = await this.#session.timelineHistory(tli);
        await this.#sink.writeHistory(history.filename, history.content);
      }
      const stream = this.#session.startReplication({
        ...(this.#slot.name === undefined ? {} : { slot: this.#slot.name }),
        startLsn: from,
        timeline: tli,
        statusIntervalMs: this.#statusIntervalMs,
        senderTimeoutMs,
      });
      this.#stream = stream;
      let next: { tli: number; from: Lsn } | null = null;
      for await (const event of stream) {
        if (event.type === 'xlogdata') {
          await this.#sink.writeWal(tli, event.dataStart, event.data);
          this.#receivedLsn = event.dataStart + BigInt(event.data.length);
          // Written is not durable: the server may release WAL up to the flush position, so it gets the sink's fsynced one.
          stream.reportPosition(this.#receivedLsn, this.#sink.flushedLsn);
          if (this.#stopLsn !== null && this.#receivedLsn >= this.#stopLsn) this.#requestStop();
        } else {
          next = { tli: event.nextTli, from: segmentStart(event.nextStartLsn, this.#segmentBytes) };
        }
      }
      if (this.#stopping !== null) {
        await this.#stopping;
        return;
      }
      if (next === null) {
        throw new ConvoyError('CONNECTION_CLOSED',
          `replication stream was terminated before stop point (received up to ${formatLsn(this.#receivedLsn)})`);
      }
      tli = next.tli;
      from = next.from;
    }
  }

  #requestStop(): void {
    if (this.#stopping !== null || this.#stream === null) return;
    this.#stopping = this.#stream.stop();
    // Awaited only once the reading loop ends; if the connection is lost first, the loop throws that same loss and
    // this promise would be left rejected with no handler, which kills the process instead of failing the backup.
    this.#stopping.catch(() => {});
  }
}

/** SQLSTATEs of "no slot can be created here": all slots in use (53400), max_replication_slots = 0 (55000). */
const NO_SLOT_SQLSTATES = new Set(['53400', '55000']);

/**
 * pg_basebackup's wording when a slot named with -S is missing, instead of the server's raw text; and when no
 * temporary slot can be created, the way out (which pg_basebackup -X fetch takes silently, and loses WAL for).
 */
export function explainSlotError(error: unknown, slot: string | undefined): unknown {
  if (error instanceof ServerError && error.sqlstate === '42704' && slot !== undefined) {
    return new ConvoyError('SERVER_ERROR', `replication slot "${slot}" does not exist`, { cause: error });
  }
  if (error instanceof ServerError && NO_SLOT_SQLSTATES.has(error.sqlstate)) {
    return new ConvoyError('SERVER_ERROR', `could not create a temporary replication slot to protect the backup's WAL: ${error.message}`, {
      cause: error,
      hint: 'Free a slot or raise max_replication_slots; or use --no-slot, and the server may remove WAL this backup still needs.',
    });
  }
  return error;
}
