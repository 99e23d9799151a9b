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
    .description('show what a repository holds: its cluster, the WAL archive\'s range and any gap in it')
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
  return `${lines.join('\n')}\n`;
}
