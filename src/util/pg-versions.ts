/**
 * The one table of behaviour that depends on the PostgreSQL major version, for the parts of pgconvoy that act as a
 * PostgreSQL server (`serve` performs BASE_BACKUP as the cluster's own walsender would). Each row names the majors
 * from which a behaviour holds; `pgVersionRules(major)` resolves them for one cluster, so no code outside this
 * file compares version numbers for these facts.
 *
 * Sources: /work/shared/reference/base-backup-protocol.md §3, §5, §9 (13, 15 and 18 observed; 16 and 17 from the
 * sources), PostgreSQL's src/backend/backup/basebackup.c.
 */

export interface PgVersionRules {
  readonly major: number;
  /** `PostgreSQL-Backup-Manifest-Version`: 2 (with System-Identifier) from 17. */
  readonly manifestVersion: 1 | 2;
  /** `./pg_wal/summaries/` is sent after `./pg_wal/archive_status/` from 17 (WAL summarisation). */
  readonly walSummariesDir: boolean;
  /**
   * Which files get their data-page checksums verified: 15 and 16 check every file under global/, base/ or a
   * tablespace except a short list; 17 and later only files whose names parse as relation files.
   */
  readonly checksumEligibility: 'path' | 'relation-name';
  /** 17 and later treat global/ like a database directory when looking for unlogged relations. */
  readonly globalIsRelationDir: boolean;
  /** In-place tablespaces (directories inside pg_tblspc) get an archive of their own from 16; before, base.tar carries them. */
  readonly inPlaceTablespaceArchive: boolean;
  /** Page checksum warnings name the block within the file (15, 16) or within the relation (17+). */
  readonly checksumWarningBlock: 'in-file' | 'in-relation';
  /** RowDescription of BASE_BACKUP's own result sets: hand-built (typlen -1, typmod 0) up to 16, from a tuple descriptor later. */
  readonly resultSetShape: 'hand-built' | 'tuple-descriptor';
}

/** Majors `serve` performs BASE_BACKUP for: the 15+ wire form (one COPY with n/d/p/m) and pg_backup_start/stop. */
export const SERVE_MIN_MAJOR = 15;
export const SERVE_MAX_MAJOR = 18;

export function pgVersionRules(major: number): PgVersionRules {
  return {
    major,
    manifestVersion: major >= 17 ? 2 : 1,
    walSummariesDir: major >= 17,
    checksumEligibility: major >= 17 ? 'relation-name' : 'path',
    globalIsRelationDir: major >= 17,
    inPlaceTablespaceArchive: major >= 16,
    checksumWarningBlock: major >= 17 ? 'in-relation' : 'in-file',
    resultSetShape: major >= 17 ? 'tuple-descriptor' : 'hand-built',
  };
}

/** `server_version_num` (150018) or libpq's derived number to the major (15). */
export function majorOf(serverVersionNum: number): number {
  return Math.floor(serverVersionNum / 10_000);
}
