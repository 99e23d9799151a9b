/**
 * Checks a --target-time value before restore writes it as recovery_target_time. PostgreSQL checks that setting
 * only when the restored server starts, and a value it refuses is FATAL there ("configuration file contains
 * errors"), long after the restore said it succeeded.
 *
 * What is accepted is a deliberately narrow part of what PostgreSQL's timestamptz input takes: an ISO date, an
 * optional time (separated by a space or "T") with up to six fractional digits, and an optional zone: a numeric
 * offset (+02, -05:30, +0530, up to 15 hours as PostgreSQL allows) or a zone name from the IANA database.
 * Everything accepted here was checked against PostgreSQL 15's own verdict (the vectors in the unit and
 * integration tests); refusing more than PostgreSQL does is the safe direction, and the hint says what to write.
 *
 * Two of PostgreSQL's rules decide the details. Its check runs before time zone abbreviations are loaded, so only
 * full zone names work: "Z", "PST" or "CEST" make the server refuse to start, while "UTC", "CET" or "Europe/Paris"
 * are zone files it finds. Which names exist is read from the zone files on this machine (TZDIR, else
 * /usr/share/zoneinfo), the database PostgreSQL itself reads on most Linux installs. And the relative words
 * ("now", "today 12:00", "tomorrow") are refused: PostgreSQL would evaluate them when the restored server starts,
 * which is never the moment the user meant.
 */
import { closeSync, openSync, readdirSync, readSync } from 'node:fs';
import { join } from 'node:path';
import { UsageError } from '../errors/index.ts';

/** Whether a time zone name (as typed, any case) exists for PostgreSQL. */
export type ZoneLookup = (name: string) => boolean;

export interface TargetTimeCheck {
  /** False when the value names no zone: the restored server then reads it in its own TimeZone setting. */
  readonly hasZone: boolean;
}

const EXAMPLE = '"2024-01-08 04:05:06+02"';
const FORMAT_HINT = `Give an absolute time as YYYY-MM-DD [HH:MM[:SS[.ffffff]]] [zone], the zone an offset (+02, -05:30), ` +
  `UTC or a name like Europe/Paris; for example ${EXAMPLE}.`;
const RELATIVE_WORDS = new Set(['now', 'today', 'tomorrow', 'yesterday', 'epoch', 'infinity', '-infinity', 'allballs']);
const MAX_OFFSET_HOURS = 15;
/** Every PostgreSQL build knows these, with or without a zone database. */
const ALWAYS_KNOWN_ZONES = new Set(['UTC', 'GMT']);

// date, then optionally a time, then optionally a zone; the zone is checked on its own below.
const TIMESTAMP = /^[ \t]*(\d{4})-(\d{1,2})-(\d{1,2})(?:(?:[Tt]|[ \t]+)(\d{1,2}):(\d{1,2})(?::(\d{1,2})(?:\.(\d{1,6}))?)?)?(?:[ \t]*(\S+))?[ \t]*$/;
const OFFSET = /^[+-](\d{1,2})(?::?(\d{2})(?::?(\d{2}))?)?$/;
const ZONE_NAME = /^[A-Za-z][A-Za-z0-9_+-]*(?:\/[A-Za-z0-9_+-]+)*$/;

export function checkTargetTime(value: string, zoneExists: ZoneLookup = zoneFileExists): TargetTimeCheck {
  const invalid = (reason: string, hint = FORMAT_HINT): UsageError =>
    new UsageError('OPTION_INVALID', `invalid recovery target time "${value}": ${reason}`, { hint });
  const relative = value.trim().split(/[ \t]+/).find((word) => RELATIVE_WORDS.has(word.toLowerCase()));
  if (relative !== undefined) {
    throw invalid(`"${relative}" is not an absolute time`,
      `PostgreSQL would read it when the restored server starts. ${FORMAT_HINT}`);
  }
  const match = TIMESTAMP.exec(value);
  if (match === null) throw invalid('not a timestamp');
  const [, year, month, day, hour, minute, second, , zone] = match.map((part) => part ?? '') as string[];
  if (!isDate(Number(year), Number(month), Number(day))
    || (hour !== '' && (Number(hour) > 23 || Number(minute) > 59 || Number(second) > 59))) {
    throw invalid('date/time field value out of range');
  }
  if (zone === undefined || zone === '') return { hasZone: false };
  const offset = OFFSET.exec(zone);
  if (offset !== null) {
    const [, hours, minutes, seconds] = offset.map((part) => Number(part ?? 0));
    if ((hours ?? 0) > MAX_OFFSET_HOURS || (minutes ?? 0) > 59 || (seconds ?? 0) > 59) {
      throw invalid(`time zone offset "${zone}" out of range`, `PostgreSQL accepts offsets up to ${MAX_OFFSET_HOURS}:59. ${FORMAT_HINT}`);
    }
    return { hasZone: true };
  }
  if (zone === 'Z' || zone === 'z') {
    throw invalid('PostgreSQL does not accept "Z" there',
      'Write +00 or UTC: PostgreSQL checks recovery_target_time before it loads time zone abbreviations such as Z.');
  }
  if (!ZONE_NAME.test(zone)) throw invalid('not a timestamp');
  if (!ALWAYS_KNOWN_ZONES.has(zone.toUpperCase()) && !zoneExists(zone)) {
    throw invalid(`unknown time zone "${zone}"`,
      'Use a full time zone name (America/Los_Angeles, not PST) or an offset (-08): PostgreSQL checks ' +
      'recovery_target_time before it loads time zone abbreviations.');
  }
  return { hasZone: true };
}

function isDate(year: number, month: number, day: number): boolean {
  if (year < 1 || month < 1 || month > 12 || day < 1) return false;
  const isLeap = year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0);
  const days = [31, isLeap ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][month - 1] as number;
  return day <= days;
}

/**
 * A zone file for `name` under the zone database, matched case-insensitively per path component as PostgreSQL
 * matches zone names. Only real zone files count (they start with "TZif"): the database directory also holds
 * tables such as zone.tab that are not zones.
 */
export function zoneFileExists(name: string): boolean {
  let dir = process.env['TZDIR'] ?? '/usr/share/zoneinfo';
  for (const component of name.split('/')) {
    let entries: string[];
    try {
      entries = readdirSync(dir);
    } catch {
      return false;
    }
    const entry = entries.find((candidate) => candidate.toLowerCase() === component.toLowerCase());
    if (entry === undefined) return false;
    dir = join(dir, entry);
  }
  return startsWithTzif(dir);
}

function startsWithTzif(path: string): boolean {
  const magic = Buffer.alloc(4);
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch {
    return false;
  }
  try {
    return readSync(fd, magic, 0, 4, 0) === 4 && magic.toString('latin1') === 'TZif';
  } catch {
    return false; // a directory (EISDIR) or an unreadable file
  } finally {
    closeSync(fd);
  }
}

/**
 * The instant a --target-time names, in ms since the epoch, when the value says it without the server's help: a
 * numeric offset or UTC/GMT. Null for a value in the server's TimeZone or a named zone, which only the server
 * resolves. Call after checkTargetTime accepted the value.
 */
export function targetTimeInstant(value: string): number | null {
  const match = TIMESTAMP.exec(value);
  if (match === null) return null;
  const [, year, month, day, hour, minute, second, fraction, zone] = match.map((part) => part ?? '') as string[];
  const offset = OFFSET.exec(zone ?? '');
  let offsetSeconds: number;
  if (offset !== null) {
    const [, hours, minutes, seconds] = offset.map((part) => Number(part ?? 0)) as number[];
    offsetSeconds = ((hours ?? 0) * 3600 + (minutes ?? 0) * 60 + (seconds ?? 0)) * ((zone ?? '').startsWith('-') ? -1 : 1);
  } else if (['UTC', 'GMT'].includes((zone ?? '').toUpperCase())) {
    offsetSeconds = 0;
  } else {
    return null;
  }
  const utc = Date.UTC(Number(year), Number(month) - 1, Number(day), Number(hour), Number(minute), Number(second),
    Number(`0.${fraction === '' ? '0' : fraction}`) * 1000);
  return utc - offsetSeconds * 1000;
}
