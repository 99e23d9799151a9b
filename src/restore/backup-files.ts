/**
 * The two small text files a base backup carries that restore must understand before it writes anything:
 * backup_label (start LSN and timeline, whether it is an incremental backup) and tablespace_map (which
 * tablespace archive belongs where). Pure parsers; reading the files is the caller's job.
 *
 * Not here: the rest of backup_label's lines (PostgreSQL reads them at startup; we only use what restore shows
 * and what verify compares with the WAL).
 * Invariant: a malformed backup_label yields null rather than a guess, because restore must not invent a start
 * LSN; the server itself is the judge of the file when it starts.
 */
import { parseLsn, type Lsn } from '../util/lsn.ts';

export interface BackupLabel {
  readonly startLsn: Lsn;
  /** From the start segment's file name on the first line. */
  readonly startTli: number;
  /** The WAL segment holding the start LSN, as the first line names it. */
  readonly startSegment: string;
  /** The START TIMELINE line (PostgreSQL 11+), which the server requires to match the start segment's name. */
  readonly declaredStartTli: number | null;
  readonly checkpointLsn: Lsn | null;
  readonly label: string | null;
  readonly backupFrom: string | null;
  /** 17+: an incremental backup cannot be started; pg_combinebackup has to rebuild a full one first. */
  readonly isIncremental: boolean;
}

const START_LINE = /^START WAL LOCATION: ([0-9A-Fa-f]{1,8}\/[0-9A-Fa-f]{1,8}) \(file (([0-9A-Fa-f]{8})[0-9A-Fa-f]{16})\)$/;

export function parseBackupLabel(text: string): BackupLabel | null {
  const lines = text.split('\n');
  const start = START_LINE.exec(lines[0] ?? '');
  if (start === null) return null;
  const value = (prefix: string): string | null => {
    const line = lines.find((candidate) => candidate.startsWith(`${prefix}: `));
    return line === undefined ? null : line.slice(prefix.length + 2);
  };
  const checkpoint = value('CHECKPOINT LOCATION');
  let checkpointLsn: Lsn | null = null;
  try {
    checkpointLsn = checkpoint === null ? null : parseLsn(checkpoint);
  } catch {
    checkpointLsn = null;
  }
  const declared = value('START TIMELINE');
  return {
    startLsn: parseLsn(start[1] as string),
    startTli: Number.parseInt(start[3] as string, 16),
    startSegment: start[2] as string,
    declaredStartTli: declared !== null && /^\d{1,10}$/.test(declared) ? Number(declared) : null,
    checkpointLsn,
    label: value('LABEL'),
    backupFrom: value('BACKUP FROM'),
    isIncremental: value('INCREMENTAL FROM LSN') !== null,
  };
}

export interface TablespaceMapEntry {
  readonly oid: string;
  readonly location: string;
}

/**
 * `<oid> <path>` per line. The path may contain spaces; 15+ escape newline, carriage return and backslash with a
 * backslash, 13 and 14 only newline and carriage return, so only those three escapes are undone: a lone
 * backslash in a 13-era path stays what it was.
 */
export function parseTablespaceMap(text: string): TablespaceMapEntry[] {
  const entries: TablespaceMapEntry[] = [];
  let line = '';
  const finish = (): void => {
    if (line === '') return;
    const space = line.indexOf(' ');
    if (space > 0 && /^[0-9]+$/.test(line.slice(0, space))) {
      entries.push({ oid: line.slice(0, space), location: line.slice(space + 1) });
    }
    line = '';
  };
  for (let at = 0; at < text.length; at++) {
    const char = text[at] as string;
    const next = text[at + 1];
    if (char === '\\' && (next === '\n' || next === '\r' || next === '\\')) {
      line += next;
      at++;
    } else if (char === '\n') {
      finish();
    } else {
      line += char;
    }
  }
  finish();
  return entries;
}
