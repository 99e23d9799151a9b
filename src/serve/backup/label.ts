/**
 * backup_label and tablespace_map as PostgreSQL 15+ writes them into a base backup, built at the start of the
 * backup (sql-backup.ts explains why), and the check against the texts pg_backup_stop returns.
 *
 * Line order and wording are PostgreSQL's (reference §4.1, §4.2). START TIME is the one line allowed to differ:
 * it is informational, and ours is read a moment after PostgreSQL's own.
 */
import { ConvoyError } from '../../errors/index.ts';
import { formatLsn, segmentOf, walFileName } from '../../util/lsn.ts';
import type { BackupStart } from './sql-backup.ts';

export interface TablespaceLink {
  readonly oid: number;
  /** The symlink target, as pg_tblspc holds it. */
  readonly location: string;
}

export function backupLabelText(start: BackupStart, label: string, segmentBytes: number): string {
  const startFile = walFileName(start.startTli, segmentOf(start.startLsn, segmentBytes), segmentBytes);
  return [
    `START WAL LOCATION: ${formatLsn(start.startLsn)} (file ${startFile})`,
    `CHECKPOINT LOCATION: ${formatLsn(start.checkpointLsn)}`,
    'BACKUP METHOD: streamed',
    `BACKUP FROM: ${start.fromStandby ? 'standby' : 'primary'}`,
    `START TIME: ${start.startTime}`,
    `LABEL: ${label}`,
    `START TIMELINE: ${start.startTli}`,
    '',
  ].join('\n');
}

/** One line per tablespace symlink; backslash, CR and LF in a path are escaped with a backslash (15+). */
export function tablespaceMapText(links: readonly TablespaceLink[]): string {
  return links.map((link) => `${link.oid} ${link.location.replace(/[\\\r\n]/g, (char) => `\\${char}`)}\n`).join('');
}

/** Throws unless PostgreSQL's own label and map say what we already sent (START TIME aside). */
export function checkAgainstServer(sentLabel: string, serverLabel: string, sentMap: string | null, serverMap: string): void {
  const strip = (text: string): string => text.split('\n').filter((line) => !line.startsWith('START TIME: ')).join('\n');
  if (strip(sentLabel) !== strip(serverLabel)) {
    throw new ConvoyError('BACKUP_STATE_CHANGED', 'the backup_label sent does not match the one the server returned', {
      details: { detail: `sent:\n${sentLabel}server:\n${serverLabel}` },
    });
  }
  if (sentMap !== null && sentMap !== serverMap) {
    throw new ConvoyError('BACKUP_STATE_CHANGED', 'tablespaces changed while the backup started: the tablespace_map sent is not the server\'s', {
      details: { detail: `sent:\n${sentMap}server:\n${serverMap}` },
    });
  }
}
