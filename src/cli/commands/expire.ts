/**
 * `pgconvoy expire --repo DIR (--keep N | --keep-days D) [--dry-run] [--json]`: retention for a repository. This
 * file turns the command line into a policy and the outcome into text or one JSON object; the rules are in
 * src/repository/expire-policy.ts, the order of removal in src/repository/expire.ts.
 */
import type { Command } from 'commander';
import { UsageError } from '../../errors/index.ts';
import { expireRepository, type ExpireOutcome } from '../../repository/expire.ts';
import type { RetentionPolicy } from '../../repository/expire-policy.ts';
import { LocalStorage } from '../../repository/storage.ts';
import { formatLsn } from '../../util/lsn.ts';
import type { CliIo } from '../cli-io.ts';
import type { RegisterCommand } from './index.ts';

interface ExpireFlags {
  repo: string;
  keep?: string;
  keepDays?: string;
  dryRun?: boolean;
  json?: boolean;
}

export const registerExpire: RegisterCommand = (program: Command, io: CliIo) => {
  program
    .command('expire')
    .description('remove the backups beyond a retention policy, and the WAL no kept backup needs')
    .helpOption('-?, --help', 'show this help')
    .requiredOption('--repo <dir>', 'repository directory')
    .option('--keep <count>', 'keep the newest COUNT complete backups')
    .option('--keep-days <days>', 'keep what restores to any moment of the last DAYS days')
    .option('--dry-run', 'say what would be removed, and remove nothing')
    .option('--json', 'print the outcome as one JSON object on stdout')
    .action(async (flags: ExpireFlags) => {
      const dryRun = flags.dryRun === true;
      const outcome = await expireRepository(new LocalStorage(flags.repo), retentionPolicy(flags), { dryRun });
      const ended = outcome.tookOverLock;
      if (ended !== null) {
        io.stderr.write(`pgconvoy: warning: took over the lock of an expire that ended without releasing it (process ${ended.pid} on host "${ended.host}", started ${ended.startedAt})\n`);
      }
      io.stdout.write(flags.json === true ? `${JSON.stringify(outcomeJson(outcome, dryRun))}\n` : outcomeText(outcome, dryRun));
    });
};

function retentionPolicy(flags: ExpireFlags): RetentionPolicy {
  if (flags.keep !== undefined && flags.keepDays !== undefined) throw new UsageError('OPTION_CONFLICT', '--keep and --keep-days cannot be used together');
  if (flags.keep !== undefined) {
    const keep = Number(flags.keep);
    if (!Number.isInteger(keep) || keep < 1) throw new UsageError('OPTION_OUT_OF_RANGE', `invalid --keep "${flags.keep}": must be a whole number of at least 1`);
    return { kind: 'count', keep };
  }
  if (flags.keepDays !== undefined) {
    const days = Number(flags.keepDays);
    if (flags.keepDays.trim() === '' || !Number.isFinite(days) || days <= 0) {
      throw new UsageError('OPTION_OUT_OF_RANGE', `invalid --keep-days "${flags.keepDays}": must be a number of days above 0`);
    }
    return { kind: 'days', days, now: new Date() };
  }
  throw new UsageError('OPTION_INVALID', 'no retention policy specified', { hint: 'Give --keep COUNT or --keep-days DAYS.' });
}

function walKeptFromLsn(outcome: ExpireOutcome): string | null {
  return outcome.walKeptFromSegno === null ? null : formatLsn(outcome.walKeptFromSegno * BigInt(outcome.walSegmentBytes));
}

function outcomeJson(outcome: ExpireOutcome, dryRun: boolean): object {
  return {
    dryRun,
    removedBackups: outcome.removeBackups.map((backup) => backup.id),
    keptBackups: outcome.keepBackups.map((backup) => backup.id),
    removedWal: outcome.removeWal,
    walKeptFromLsn: walKeptFromLsn(outcome),
    leftoverTrash: outcome.leftoverTrash,
    tookOverLock: outcome.tookOverLock,
  };
}

function outcomeText(outcome: ExpireOutcome, dryRun: boolean): string {
  const verb = dryRun ? 'would remove' : 'removed';
  const lines: string[] = [];
  for (const id of outcome.leftoverTrash) lines.push(`${verb} the rest of an interrupted expire: trash/${id}`);
  for (const backup of outcome.removeBackups) lines.push(`${verb} backup ${backup.id} "${backup.label}" (${backup.startLsn}..${backup.endLsn}, ${backup.endTime})`);
  const wal = outcome.removeWal;
  lines.push(wal.length === 0 ? `${verb} no WAL` : `${verb} ${wal.length} WAL file${wal.length === 1 ? '' : 's'}: ${wal[0]} to ${wal.at(-1)}`);
  const keptFrom = walKeptFromLsn(outcome);
  lines.push(`kept: ${outcome.keepBackups.length} backup${outcome.keepBackups.length === 1 ? '' : 's'}` +
    `${outcome.keepBackups.length === 0 ? '' : ` (${outcome.keepBackups.map((backup) => backup.id).join(', ')})`}, ` +
    (keptFrom === null ? 'all WAL' : `WAL from ${keptFrom}`));
  return `${lines.join('\n')}\n`;
}
