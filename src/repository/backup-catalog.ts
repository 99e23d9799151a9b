/**
 * The repository's backup catalog: `backups/<id>/` holds one complete backup (`backup/`, a normal pgconvoy backup
 * directory) and its record (`backup.json`); `staging/<id>/` holds a backup being written, with a record saying
 * who writes it and, once known, its start LSN. A backup enters the catalog by one rename of its whole staging
 * directory (storage.moveTree), after it was verified and its complete record written inside it, so a reader sees
 * a backup whole with its record or not at all, and any number of writers never touch each other's trees.
 *
 * Ids sort by time (UTC, to the millisecond) and end in random hex, so ids made by different processes at the
 * same moment differ, and the catalog is oldest first by name alone.
 *
 * Not here: taking the backup (repository-backup.ts), choosing one for a restore (backup-choice.ts).
 */
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { ConvoyError } from '../errors/index.ts';
import type { RepositoryStorage } from './storage.ts';

export const BACKUPS_PREFIX = 'backups';
export const STAGING_PREFIX = 'staging';
export const RECORD_NAME = 'backup.json';
/** The backup directory inside a backup's tree. */
export const BACKUP_DIR_NAME = 'backup';
const FORMAT_VERSION = 1;

export interface BackupRecord {
  readonly id: string;
  readonly status: 'running' | 'complete';
  readonly label: string;
  /** Who writes a running backup: a staging tree whose process is gone is abandoned. */
  readonly host: string;
  readonly pid: number;
  readonly startTime: string;
  /** Null until the server reported the start point. */
  readonly startLsn: string | null;
  readonly timeline: number | null;
  readonly endLsn: string | null;
  /** When the backup was complete on the client: its data is consistent at endLsn, reached before this time. */
  readonly endTime: string | null;
  readonly format: 'plain' | 'tar';
  readonly walMethod: string;
  /** Bytes the server sent, and bytes the backup directory holds. */
  readonly streamBytes: number | null;
  readonly sizeBytes: number | null;
  readonly serverVersionNum: number | null;
  readonly systemId: string;
}

export function newBackupId(now = new Date()): string {
  return `${now.toISOString().replace(/[-:]/g, '')}-${randomBytes(3).toString('hex')}`;
}

export function recordBytes(record: BackupRecord): Buffer {
  return Buffer.from(`${JSON.stringify({ version: FORMAT_VERSION, ...record }, null, 2)}\n`);
}

export function runningRecord(fields: { id: string; label: string; format: 'plain' | 'tar'; walMethod: string; systemId: string }): BackupRecord {
  return {
    ...fields, status: 'running', host: hostname(), pid: process.pid, startTime: new Date().toISOString(),
    startLsn: null, timeline: null, endLsn: null, endTime: null, streamBytes: null, sizeBytes: null, serverVersionNum: null,
  };
}

/** Complete backups, oldest first. A tree without a readable record is not a backup of ours and is skipped. */
export async function listBackups(storage: RepositoryStorage): Promise<BackupRecord[]> {
  const records = await readRecords(storage, BACKUPS_PREFIX);
  return records.filter((record) => record.status === 'complete');
}

/** Backups being written (or abandoned by a process that died), oldest first. */
export async function listStaging(storage: RepositoryStorage): Promise<BackupRecord[]> {
  return readRecords(storage, STAGING_PREFIX);
}

/** Whether the process that writes a staging backup is certainly gone (same host, no such process). */
export function isAbandoned(record: BackupRecord): boolean {
  if (record.host !== hostname()) return false;
  try {
    process.kill(record.pid, 0);
    return false;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'ESRCH';
  }
}

async function readRecords(storage: RepositoryStorage, prefix: string): Promise<BackupRecord[]> {
  const records: BackupRecord[] = [];
  for (const id of await storage.list(prefix)) {
    const bytes = await storage.get(`${prefix}/${id}/${RECORD_NAME}`).catch(() => null);
    if (bytes === null) continue;
    records.push(parseRecord(bytes, `${prefix}/${id}/${RECORD_NAME}`, storage.location));
  }
  return records;
}

function parseRecord(bytes: Buffer, key: string, location: string): BackupRecord {
  let value: unknown;
  try {
    value = JSON.parse(bytes.toString('utf8'));
  } catch {
    value = null;
  }
  const record = value as (BackupRecord & { version?: unknown }) | null;
  if (typeof record !== 'object' || record === null || record.version !== FORMAT_VERSION || typeof record.id !== 'string'
    || (record.status !== 'running' && record.status !== 'complete')) {
    throw new ConvoyError('REPOSITORY_INVALID', `invalid backup record "${key}" in repository "${location}"`);
  }
  const { version: _version, ...fields } = record;
  return fields;
}
