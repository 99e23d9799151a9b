/**
 * One `backup --repo` into a repository, around an ordinary backup run (src/backup): the run writes a normal
 * backup directory inside this backup's staging tree; this module claims the tree, records who writes it and its
 * start LSN (so that expire keeps the WAL it may need), and after the run verifies the backup, writes the
 * complete record and publishes the tree into the catalog with one atomic move (backup-catalog.ts).
 *
 * Order and why: the repository's identity is checked against the server before anything is written (a backup
 * of another cluster is refused, as archive refuses its WAL); a failed or aborted run removes its staging tree;
 * a killed one leaves it, never in the catalog, and the next backup into the repository removes it once its
 * process is gone. Each backup has its own id and tree, so any number of them run at once without a lock.
 */
import { promises as fs } from 'node:fs';
import { join } from 'node:path';
import { VerifyError } from '../errors/index.ts';
import { verifyBackup } from '../verify/index.ts';
import { formatLsn, type Lsn } from '../util/lsn.ts';
import {
  BACKUP_DIR_NAME, BACKUPS_PREFIX, RECORD_NAME, STAGING_PREFIX, isAbandoned, listStaging, newBackupId, recordBytes, runningRecord,
  type BackupRecord,
} from './backup-catalog.ts';
import { claimRepository } from './repository.ts';
import type { RepositoryStorage } from './storage.ts';

export interface RepositoryBackupFacts {
  readonly systemId: string;
  readonly walSegmentBytes: number;
  readonly serverVersionNum: number;
}

export interface RepositoryBackupEnd {
  readonly startLsn: Lsn;
  readonly endLsn: Lsn;
  readonly timeline: number;
  readonly streamBytes: bigint;
}

type RecordFields = Pick<BackupRecord, 'label' | 'format' | 'walMethod'>;

export class RepositoryBackup {
  readonly id: string;
  /** The directory the backup run writes (its -D). */
  readonly backupDir: string;
  readonly #storage: RepositoryStorage;
  readonly #fields: RecordFields;
  #record: BackupRecord | null = null;

  private constructor(storage: RepositoryStorage, id: string, backupDir: string, fields: RecordFields) {
    this.#storage = storage;
    this.id = id;
    this.backupDir = backupDir;
    this.#fields = fields;
  }

  /** Picks the id and the staging tree, and removes trees whose writers are gone; nothing is claimed yet. */
  static async prepare(storage: RepositoryStorage, fields: RecordFields): Promise<RepositoryBackup> {
    for (const stale of (await listStaging(storage)).filter(isAbandoned)) await storage.deleteTree(`${STAGING_PREFIX}/${stale.id}`);
    const id = newBackupId();
    // The tree itself is created by claim(), with its record, so no staging tree ever lacks one.
    return new RepositoryBackup(storage, id, join(storage.directoryFor(`${STAGING_PREFIX}/${id}`), BACKUP_DIR_NAME), fields);
  }

  /** Before the backup directory is claimed: the repository is this cluster's, and the tree says who writes it. */
  async claim(facts: RepositoryBackupFacts): Promise<void> {
    await claimRepository(this.#storage, { systemId: facts.systemId, walSegmentBytes: facts.walSegmentBytes });
    await this.#write({ ...runningRecord({ id: this.id, ...this.#fields, systemId: facts.systemId }), serverVersionNum: facts.serverVersionNum });
  }

  /** The server's start point: from now on expire keeps the WAL after it. */
  async started(startLsn: Lsn, timeline: number): Promise<void> {
    if (this.#record !== null) await this.#write({ ...this.#record, startLsn: formatLsn(startLsn), timeline });
  }

  /** Verifies the finished backup, records it complete and moves it into the catalog. */
  async publish(end: RepositoryBackupEnd): Promise<BackupRecord> {
    const running = this.#record;
    if (running === null) throw new VerifyError('BACKUP_INCOMPLETE', `backup "${this.id}" was never claimed`);
    const report = await verifyBackup(this.backupDir);
    if (!report.ok) {
      throw new VerifyError('BACKUP_INCOMPLETE', `backup "${this.id}" failed verification and was not added to the repository`, {
        details: { detail: report.problems.slice(0, 5).map((problem) => problem.message).join('; ') },
      });
    }
    const complete: BackupRecord = {
      ...running, status: 'complete', startLsn: formatLsn(end.startLsn), endLsn: formatLsn(end.endLsn), timeline: end.timeline,
      endTime: new Date().toISOString(), streamBytes: Number(end.streamBytes), sizeBytes: await treeBytes(this.backupDir),
    };
    await this.#write(complete);
    await this.#storage.moveTree(`${STAGING_PREFIX}/${this.id}`, `${BACKUPS_PREFIX}/${this.id}`);
    return complete;
  }

  /** After a failed or aborted run: the staging tree goes. */
  async discard(): Promise<void> {
    await this.#storage.deleteTree(`${STAGING_PREFIX}/${this.id}`);
  }

  async #write(record: BackupRecord): Promise<void> {
    await this.#storage.put(`${STAGING_PREFIX}/${this.id}/${RECORD_NAME}`, recordBytes(record));
    this.#record = record;
  }
}

async function treeBytes(dir: string): Promise<number> {
  let total = 0;
  for (const entry of await fs.readdir(dir, { recursive: true, withFileTypes: true })) {
    if (entry.isFile()) total += (await fs.stat(join(entry.parentPath, entry.name))).size;
  }
  return total;
}
