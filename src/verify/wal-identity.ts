/**
 * WAL identity: the WAL a backup carries must be the WAL of the cluster whose files it carries, and its start
 * segment must be on the timeline backup_label names; otherwise recovery fails ("WAL file is from different
 * database system", "unexpected timeline ID") although every file matches the manifest.
 *
 * System identifier: the WAL walk compares each long header with one expected identifier, but a version 1
 * manifest (PostgreSQL 13 to 16) carries none, and taking the first segment's own word lets a foreign or damaged
 * first segment vouch for itself. So the reference is the backup's own global/pg_control, whatever the manifest
 * version: the walk is given it when it is known in time (a plain backup; a tar backup's pg_control precedes its
 * WAL), and once everything is read the long header of every segment the backup holds is compared with it, which
 * also covers segments the walk never reached and tar archives in an unusual order (there the walk starts
 * without pg_control's word and may also name a later segment for differing from the first).
 *
 * Timeline: on a primary, pg_backup_start switches to a fresh segment before its checkpoint, precisely so that
 * the start segment holds no page of an older timeline (a history file covering it may be missing at recovery):
 * the start segment's first page must carry START TIMELINE exactly. A backup taken on a standby skips the switch,
 * so there the start segment may begin on an older timeline. The server also refuses a backup_label whose START
 * TIMELINE differs from the timeline of the start segment it names.
 *
 * Facts arrive in any order (tar members stream past); check() judges once all are in. A problem the WAL walk
 * already reported for the same file with the same code is not repeated.
 */
import { closeSync, openSync, readSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { parseBackupLabel, type BackupLabel } from '../restore/backup-files.ts';
import { LONG_PAGE_HEADER_BYTES, readPageHeader } from '../wal/wal-format.ts';
import type { ProblemList, VerifyProblem } from './report.ts';
import { controlSystemId } from './system-id.ts';
import { WAL_FILE_NAME } from './wal-stage.ts';

/** backup_label is a few hundred bytes (its label is at most 1023); anything far larger is not one. */
export const MAX_LABEL_BYTES = 64 << 10;

interface SegmentHead {
  readonly systemId: bigint;
  readonly tli: number;
}

export class WalIdentity {
  #controlSystemId: bigint | null = null;
  #label: BackupLabel | null = null;
  readonly #heads = new Map<string, SegmentHead>();

  /** The first bytes of global/pg_control. */
  control(head: Buffer): void {
    this.#controlSystemId = controlSystemId(head);
  }

  label(text: string): void {
    this.#label = parseBackupLabel(text);
  }

  /** The first bytes of WAL segment `name`: its long page header, if it has one. */
  segment(name: string, head: Buffer): void {
    // A short or never-written segment has no long header to compare: the size and page checks report it.
    if (head.length < LONG_PAGE_HEADER_BYTES) return;
    const header = readPageHeader(head, 0);
    if (header.long !== null) this.#heads.set(name, { systemId: header.long.systemId, tli: header.tli });
  }

  /** pg_control's system identifier in decimal, once known: what the WAL walk is to expect. */
  get systemId(): string | null {
    return this.#controlSystemId?.toString() ?? null;
  }

  check(problems: ProblemList): void {
    const reported = new Set(problems.items.map((problem) => `${problem.code} ${problem.path ?? ''}`));
    const add = (problem: VerifyProblem): void => {
      if (!reported.has(`${problem.code} ${problem.path ?? ''}`)) problems.add(problem);
    };
    const control = this.#controlSystemId;
    if (control !== null) {
      for (const [name, head] of [...this.#heads].sort(([a], [b]) => (a < b ? -1 : 1))) {
        if (head.systemId === control) continue;
        add({
          code: 'WAL_SYSTEM_ID_MISMATCH', path: `pg_wal/${name}`,
          message: `WAL segment "${name}" is from a different database system: its system identifier is ` +
            `${head.systemId}, but "global/pg_control" has ${control}`,
          expected: control.toString(), actual: head.systemId.toString(),
        });
      }
    }
    const label = this.#label;
    if (label === null) return;
    if (label.declaredStartTli !== null && label.declaredStartTli !== label.startTli) {
      add({
        code: 'WAL_TIMELINE_MISMATCH', path: 'backup_label',
        message: `"backup_label" has START TIMELINE ${label.declaredStartTli}, but names start WAL segment ` +
          `"${label.startSegment}" on timeline ${label.startTli}`,
        expected: label.startTli, actual: label.declaredStartTli,
      });
      return;
    }
    const head = this.#heads.get(label.startSegment);
    if (head === undefined) return; // missing or unwritten: the WAL walk reports it
    const isOlderAllowed = label.backupFrom === 'standby' && head.tli >= 1 && head.tli < label.startTli;
    if (head.tli === label.startTli || isOlderAllowed) return;
    add({
      code: 'WAL_TIMELINE_MISMATCH', path: `pg_wal/${label.startSegment}`,
      message: `WAL segment "${label.startSegment}" starts on timeline ${head.tli}, but "backup_label" has ` +
        `START TIMELINE ${label.startTli}`,
      expected: label.startTli, actual: head.tli,
    });
  }
}

/** A plain backup's backup_label and pg_control; a missing or unreadable one adds nothing (stage 2 names it). */
export function plainIdentity(root: string): WalIdentity {
  const identity = new WalIdentity();
  const label = readStart(join(root, 'backup_label'), MAX_LABEL_BYTES);
  if (label !== null) identity.label(label.toString('utf8'));
  const control = readStart(join(root, 'global', 'pg_control'), 8);
  if (control !== null) identity.control(control);
  return identity;
}

/** The long header of every segment file in a plain backup's pg_wal. */
export function addPlainSegments(identity: WalIdentity, walDir: string): void {
  let names: string[];
  try {
    names = readdirSync(walDir).filter((name) => WAL_FILE_NAME.test(name));
  } catch {
    return; // no pg_wal: the WAL walk reports the missing segments
  }
  for (const name of names) {
    const head = readStart(join(walDir, name), LONG_PAGE_HEADER_BYTES);
    if (head !== null) identity.segment(name, head);
  }
}

function readStart(path: string, bytes: number): Buffer | null {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch {
    return null;
  }
  try {
    const buffer = Buffer.alloc(bytes);
    return buffer.subarray(0, readSync(fd, buffer, 0, bytes, 0));
  } catch {
    return null;
  } finally {
    closeSync(fd);
  }
}
