/**
 * `pgconvoy verify DIR`: pg_verifybackup's options and output, for plain and tar backups, with the WAL checked
 * by our own reader instead of pg_waldump. One line per problem on stderr (`pgconvoy: error: ...`), a summary
 * line on success, or with --json the whole report as one JSON object on stdout. Exit status 1 when the backup
 * is not whole (through setExitStatus: the run itself succeeded).
 */
import type { Command } from 'commander';
import { UsageError } from '../../errors/index.ts';
import { verifyBackup, type VerifyReport } from '../../verify/index.ts';
import type { CliIo } from '../cli-io.ts';
import { formatBytes } from '../format-bytes.ts';
import { createProgressView } from '../progress-view.ts';
import type { RegisterCommand } from './index.ts';

interface VerifyFlags {
  exitOnError?: boolean;
  ignore: string[];
  manifestPath?: string;
  parseWal: boolean;
  skipChecksums?: boolean;
  quiet?: boolean;
  progress?: boolean;
  json?: boolean;
}

const collect = (value: string, previous: string[]): string[] => [...previous, value];

export const registerVerify: RegisterCommand = (program: Command, io: CliIo) => {
  program
    .command('verify')
    .description('check a base backup (plain or tar) against its backup_manifest, and check its WAL')
    .argument('<dir>', 'backup directory')
    .option('-e, --exit-on-error', 'exit immediately on error')
    .option('-i, --ignore <path>', 'ignore this relative path (and everything below it); repeatable', collect, [])
    .option('-m, --manifest-path <path>', 'use this manifest instead of DIR/backup_manifest')
    .option('-n, --no-parse-wal', 'do not check the WAL')
    .option('-s, --skip-checksums', 'skip checksum verification')
    .option('-q, --quiet', 'print nothing on success')
    .option('-P, --progress', 'show progress information')
    .option('--json', 'print the report as one JSON object on stdout')
    .action(async (dir: string, flags: VerifyFlags) => {
      if (flags.progress === true && flags.quiet === true) {
        throw new UsageError('OPTION_CONFLICT', 'cannot specify both -P/--progress and -q/--quiet');
      }
      const view = flags.progress === true ? createProgressView(io.stderr, 'verify') : null;
      let started = false;
      const report = await verifyBackup(dir, {
        skipChecksums: flags.skipChecksums === true,
        skipWal: !flags.parseWal,
        exitOnError: flags.exitOnError === true,
        ignore: flags.ignore,
        signal: io.signal,
        ...(flags.manifestPath === undefined ? {} : { manifestPath: flags.manifestPath }),
        ...(view === null ? {} : {
          onProgress: (done: number, total: number) => {
            if (!started) view.start(BigInt(total));
            started = true;
            view.update(BigInt(done), dir);
          },
        }),
      });
      if (started) view?.stop();
      if (flags.json === true) {
        io.stdout.write(`${JSON.stringify(report)}\n`);
      } else {
        for (const problem of report.problems) io.stderr.write(`pgconvoy: error: ${problem.message}\n`);
        if (report.ok && flags.quiet !== true) io.stdout.write(`${successLine(report)}\n`);
      }
      if (!report.ok) io.setExitStatus(1);
    });
};

/** `backup successfully verified (N files, X MB, WAL 0/2000028..0/2000100 on timeline 1, Ys)` */
export function successLine(report: VerifyReport): string {
  const checked = report.walRanges.filter((range) => range.checked);
  const wal = checked.length === 0
    ? 'WAL not checked'
    : `WAL ${checked.map((range) => `${range.startLsn}..${range.endLsn} on timeline ${range.tli}`).join(', ')}`;
  return `backup successfully verified (${report.filesChecked} files, ${formatBytes(report.bytesChecked)}, ${wal}, ` +
    `${report.seconds.toFixed(2)}s)`;
}
