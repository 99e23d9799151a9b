/**
 * Reads what a drill needs from the restored server's log: when (and at which LSN) recovery became consistent,
 * where redo ended, and, when startup failed, the FATAL/PANIC lines with their DETAIL and HINT. Pure.
 *
 * The drill sets log_line_prefix = '%m [%p] ' and log_timezone = UTC, so timestamps are parsed from that form
 * only; failure lines are found with or without a prefix, because errors before the configuration is loaded
 * ("could not access the server configuration file") have none. Messages are PostgreSQL's English wording
 * (LocalCluster starts the server with lc_messages=C), the same from 13 to 18.
 */
import { parseLsn, type Lsn } from '../util/lsn.ts';

export interface RecoveryEvents {
  /** Epoch milliseconds of "consistent recovery state reached", and the LSN it names. */
  readonly consistentAtMs: number | null;
  readonly consistentLsn: Lsn | null;
  /** "redo done at X/Y": the start of the last record replayed. */
  readonly redoDoneLsn: Lsn | null;
  /** Epoch milliseconds of "database system is ready to accept connections" (or read-only ones). */
  readonly readyAtMs: number | null;
}

const STAMP = /^(\d{4}-\d{2}-\d{2}) (\d{2}:\d{2}:\d{2}(?:\.\d{1,3})?) UTC /;
const CONSISTENT = /consistent recovery state reached at ([0-9A-F]+\/[0-9A-F]+)/;
const REDO_DONE = /redo done at ([0-9A-F]+\/[0-9A-F]+)/;
const READY = /database system is ready to accept (?:read-only )?connections/;
const SEVERE = /\b(FATAL|PANIC):\s+(.*)$/;
const FOLLOW_UP = /\b(DETAIL|HINT|CONTEXT):\s+(.*)$/;
const FAILURE_LINES_MAX = 8;

function stampOf(line: string): number | null {
  const match = STAMP.exec(line);
  if (match === null) return null;
  const ms = Date.parse(`${match[1]}T${match[2]}Z`);
  return Number.isNaN(ms) ? null : ms;
}

export function readRecoveryEvents(log: string): RecoveryEvents {
  let consistentAtMs: number | null = null;
  let consistentLsn: Lsn | null = null;
  let redoDoneLsn: Lsn | null = null;
  let readyAtMs: number | null = null;
  for (const line of log.split('\n')) {
    const consistent = CONSISTENT.exec(line);
    if (consistent !== null && consistentLsn === null) {
      consistentLsn = parseLsn(consistent[1] as string);
      consistentAtMs = stampOf(line);
    }
    const redo = REDO_DONE.exec(line);
    if (redo !== null) redoDoneLsn = parseLsn(redo[1] as string);
    if (READY.test(line) && readyAtMs === null) readyAtMs = stampOf(line);
  }
  return { consistentAtMs, consistentLsn, redoDoneLsn, readyAtMs };
}

/**
 * "FATAL:  WAL ends before end of online backup" and the DETAIL/HINT lines right after it, without the line
 * prefix; empty when the log holds no FATAL or PANIC.
 */
export function failureLines(log: string): string[] {
  const lines = log.split('\n');
  const found: string[] = [];
  for (let at = 0; at < lines.length && found.length < FAILURE_LINES_MAX; at++) {
    const severe = SEVERE.exec(lines[at] as string);
    if (severe === null) continue;
    const text = `${severe[1]}:  ${severe[2]}`;
    if (found.includes(text)) continue;
    found.push(text);
    for (let next = at + 1; next < lines.length && found.length < FAILURE_LINES_MAX; next++) {
      const followUp = FOLLOW_UP.exec(lines[next] as string);
      if (followUp === null) break;
      found.push(`${followUp[1]}:  ${followUp[2]}`);
      at = next;
    }
  }
  return found;
}
