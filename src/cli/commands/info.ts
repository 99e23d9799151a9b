/**
 * `pgconvoy info --repo DIR [--json]`: the repository's cluster and its WAL archive (range, timelines, the segment
 * in progress, gaps), as text or one JSON object on stdout. A gap makes the exit status 1 (after the report), so a
 * monitoring script learns of it without parsing: WAL beyond a gap cannot be replayed.
 */
import type { Command } from 'commander';
import { repositoryInfo, type RepositoryInfo } from '../../repository/repository-info.ts';
import { LocalStorage } from '../../repository/storage.ts';
import type { CliIo } from '../cli-io.ts';
import { formatBytes } from '../format-bytes.ts';
import type { RegisterCommand } from './index.ts';

export const registerInfo: RegisterCommand = (program: Command, io: CliIo) => {
  program
    .command('info')
    .description('show what a repository holds: its cluster, the WAL archive\'s range and gaps, its backups, what can be restored')
    .helpOption('-?, --help', 'show this help')
    .requiredOption('--repo <dir>', 'repository directory')
    .option('--json', 'print the report as one JSON object on stdout')
    .action(async (flags: { repo: string; json?: boolean }) => {
      const info = await repositoryInfo(new LocalStorage(flags.repo));
      io.stdout.write(flags.json === true ? `${JSON.stringify(info)}\n` : infoText(info));
      if (info.wal.gaps.length > 0) io.setExitStatus(1);
    });
};

export function infoText(info: RepositoryInfo): string {
  const { wal } = info;
  const lines = [`repository "${info.repository}": system ${info.systemId}, WAL segments of ${formatBytes(info.walSegmentBytes)}`];
  if (wal.firstSegment === null) {
    lines.push('WAL archive: no completed segment yet');
  } else {
    const timelines = wal.timelines.length === 1 ? `timeline ${wal.timelines[0]}` : `timelines ${wal.timelines.join(', ')}`;
    lines.push(`WAL archive: ${wal.firstSegment} to ${wal.lastSegment} (${wal.segments} segments, ${wal.startLsn}..${wal.endLsn}, ${timelines})`);
  }
  if (wal.inProgress !== null) lines.push(`  in progress: ${wal.inProgress}`);
  for (const gap of wal.gaps) lines.push(`  gap: ${gap.fromName} to ${gap.toName} (${gap.segments} segment${gap.segments === 1 ? '' : 's'} missing)`);
  if (wal.firstSegment !== null && wal.gaps.length === 0) lines.push('  no gaps');
  lines.push(info.backups.length === 0 ? 'backups: none' : `backups (${info.backups.length}, oldest first):`);
  for (const backup of info.backups) {
    lines.push(`  ${backup.id} "${backup.label}": ${backup.startLsn}..${backup.endLsn} on timeline ${backup.timeline}, ` +
      `${backup.startTime} to ${backup.endTime}, ${formatBytes(backup.sizeBytes ?? 0)}, PostgreSQL ${backup.serverVersionNum}, ` +
      `WAL ${backup.walFrom}..${backup.walTo} ${backup.walCovered ? 'in the archive' : 'NOT all in the archive'}`);
  }
  for (const running of info.running) {
    lines.push(`  ${running.id}: ${running.abandoned ? 'abandoned (its process is gone; not a backup)' : 'being written'}${running.startLsn === null ? '' : `, from ${running.startLsn}`}`);
  }
  lines.push(info.restorable === null ? 'restorable: nothing yet (no backup whose WAL the archive holds)'
    : `restorable: from ${info.restorable.fromLsn} (${info.restorable.fromTime}) to ${info.restorable.toLsn}`);
  return `${lines.join('\n')}\n`;
}
