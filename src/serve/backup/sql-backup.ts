/**
 * One backup's own SQL session on the cluster, with serve's role: a temporary physical slot reserving WAL (taken
 * before the start, so no checkpoint can recycle a segment this backup needs), then `pg_backup_start` and, at the
 * end, `pg_backup_stop`. PostgreSQL ties the backup to this session: closing it (or losing it) aborts the backup
 * and drops the slot, which is how every failure path cleans up.
 *
 * backup_label must be the first member of base.tar, but PostgreSQL 15+ hands its text out only at stop. So the
 * label is built here at start from the same facts (start LSN and timeline, the checkpoint's location from
 * pg_control, recovery state, the start time in log_timezone) and checked against PostgreSQL's own at stop
 * (label.ts): every line but START TIME must match, or the backup fails. Starts are serialised through a
 * StartGate, so that the checkpoint pg_control shows right after our start is ours; if another checkpoint slipped
 * in between (redo no longer equals our start LSN), the start is undone and retried before anything was sent.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { connect } from '../../client/connection.ts';
import { quoteLiteral } from '../../protocol/replication-command.ts';
import type { ConnectionParams, NoticeMessage, ReplicationSession } from '../../client/types.ts';
import { InternalError } from '../../errors/index.ts';
import { parseLsn, type Lsn } from '../../util/lsn.ts';

const START_ATTEMPTS = 3;
export const BACKUP_APPLICATION_NAME = 'pgconvoy serve backup';

export interface BackupStart {
  readonly startLsn: Lsn;
  readonly startTli: number;
  readonly checkpointLsn: Lsn;
  /** `YYYY-MM-DD HH:MM:SS TZ` in log_timezone, as backup_label writes it. */
  readonly startTime: string;
  readonly fromStandby: boolean;
}

export interface BackupStop {
  readonly endLsn: Lsn;
  readonly endTli: number;
  readonly labelFile: string;
  readonly tablespaceMap: string;
}

/**
 * Lets one backup start at a time (see the module comment), and lets backups that arrive together begin copying
 * together: one that has started waits (`settle`) while others that have arrived are still starting, so they all
 * join the convoy at the first file instead of trailing it by a checkpoint each and needing another lap for the
 * files they missed. The wait is bounded, so a steady stream of arrivals never holds a backup back for long.
 */
export class StartGate {
  #tail: Promise<void> = Promise.resolve();
  #arrived = 0;
  #onSettled: Array<() => void> = [];

  /** Counts a backup from its BASE_BACKUP until the returned function is called (once started, or failed). */
  arrive(): () => void {
    this.#arrived += 1;
    let isGone = false;
    return () => {
      if (isGone) return;
      isGone = true;
      this.#arrived -= 1;
      if (this.#arrived === 0) for (const wake of this.#onSettled.splice(0)) wake();
    };
  }

  /** Resolves once no arrived backup is still starting, or after `maxMs`. */
  async settle(maxMs: number): Promise<void> {
    if (this.#arrived === 0) return;
    let wake = (): void => {};
    const settled = new Promise<void>((resolve) => { wake = resolve; this.#onSettled.push(resolve); });
    const timer = new AbortController();
    await Promise.race([settled, sleep(maxMs, undefined, { signal: timer.signal }).catch(() => {})]);
    timer.abort(); // no timer left behind to keep the process alive
    this.#onSettled = this.#onSettled.filter((waiter) => waiter !== wake);
  }

  async run<T>(work: () => Promise<T>): Promise<T> {
    const previous = this.#tail;
    let release = (): void => {};
    this.#tail = new Promise((resolve) => { release = resolve; });
    await previous;
    try {
      return await work();
    } finally {
      release();
    }
  }
}

export class SqlBackupSession {
  readonly #session: ReplicationSession;

  private constructor(session: ReplicationSession) {
    this.#session = session;
  }

  static async open(params: ConnectionParams, signal: AbortSignal): Promise<SqlBackupSession> {
    // its own application_name, so an operator can tell backup sessions from serve's own in pg_stat_activity
    const session = await connect({ ...params, applicationName: BACKUP_APPLICATION_NAME }, { signal });
    try {
      // START TIME is written in log_timezone; formatting it in this session needs that zone
      await session.query("SELECT set_config('TimeZone', current_setting('log_timezone'), false)");
    } catch (error) {
      session.destroy();
      throw error;
    }
    return new SqlBackupSession(session);
  }

  onNotice(listener: (notice: NoticeMessage) => void): void {
    this.#session.onNotice(listener);
  }

  /** A temporary slot that reserves WAL now; it lives as long as this session. */
  async reserveWal(slotName: string): Promise<void> {
    await this.#session.query(`SELECT pg_create_physical_replication_slot(${quoteLiteral(slotName)}, true, true)`);
  }

  async start(gate: StartGate, label: string, fast: boolean): Promise<BackupStart> {
    return gate.run(async () => {
      for (let attempt = 1; ; attempt++) {
        const [[start] = []] = await this.#session.query(`SELECT pg_backup_start(${quoteLiteral(label)}, ${fast ? 'true' : 'false'})::text`);
        // a separate statement: in one SELECT the FROM clause would read pg_control before the start
        const [[redo, checkpoint, tli, inRecovery, startTime] = []] = await this.#session.query(
          'SELECT redo_lsn::text, checkpoint_lsn::text, timeline_id::text, pg_is_in_recovery()::text, ' +
          "to_char(clock_timestamp(), 'YYYY-MM-DD HH24:MI:SS TZ') FROM pg_control_checkpoint()");
        if (start == null || redo == null || checkpoint == null || tli == null || startTime == null) {
          throw new InternalError('INTERNAL_ASSERTION', 'pg_backup_start returned no row');
        }
        if (start === redo) {
          return {
            startLsn: parseLsn(start), startTli: Number(tli), checkpointLsn: parseLsn(checkpoint), startTime,
            fromStandby: inRecovery === 'true',
          };
        }
        await this.#session.query('SELECT pg_backup_stop(false)'); // another checkpoint came between: try again
        if (attempt === START_ATTEMPTS) {
          throw new InternalError('INTERNAL_ASSERTION', `could not identify the checkpoint of backup start ${start} after ${attempt} attempts`);
        }
      }
    });
  }

  async stop(waitForArchive: boolean): Promise<BackupStop> {
    const [row] = await this.#session.query(
      `SELECT s.lsn::text, s.labelfile, s.spcmapfile, CASE WHEN pg_is_in_recovery() ` +
      'THEN (SELECT min_recovery_end_timeline FROM pg_control_recovery()) ' +
      `ELSE (SELECT timeline_id FROM pg_control_checkpoint()) END::text FROM pg_backup_stop(${waitForArchive ? 'true' : 'false'}) s`);
    const [lsn, labelFile, tablespaceMap, tli] = row ?? [];
    if (lsn == null || labelFile == null || tli == null) throw new InternalError('INTERNAL_ASSERTION', 'pg_backup_stop returned no row');
    return { endLsn: parseLsn(lsn), endTli: Number(tli), labelFile, tablespaceMap: tablespaceMap ?? '' };
  }

  /** Ends the session: PostgreSQL aborts a backup still running in it and drops its temporary slot. */
  destroy(): void {
    this.#session.destroy();
  }
}
