/**
 * `pgconvoy archive --repo DIR`: continuous WAL archiving into a repository, as pg_receivewal receives WAL, through
 * a permanent physical slot. This file only turns the command line into an ArchivePlan and the run into text; the
 * work is in src/repository/run-archive.ts. SIGINT or SIGTERM ends the run cleanly (exit status 0): the write in
 * progress completes and the partial segment is fsynced.
 */
import type { Command } from 'commander';
import { connect } from '../../client/connection.ts';
import { resolveConnectionParams } from '../../client/conninfo.ts';
import { UsageError } from '../../errors/index.ts';
import { parseCompressionSpec } from '../../backup/compression-spec.ts';
import { runArchive } from '../../repository/run-archive.ts';
import type { WalCompression } from '../../repository/wal-objects.ts';
import { LocalStorage } from '../../repository/storage.ts';
import { formatLsn } from '../../util/lsn.ts';
import type { CliIo } from '../cli-io.ts';
import type { RegisterCommand } from './index.ts';

interface ArchiveFlags {
  repo: string;
  slot: string;
  createSlot?: boolean;
  synchronous?: boolean;
  statusInterval: string;
  verbose?: boolean;
  dbname?: string;
  compress?: string;
}

export const registerArchive: RegisterCommand = (program: Command, io: CliIo) => {
  program
    .command('archive')
    .description('receive WAL continuously into a repository through a permanent replication slot')
    .helpOption('-?, --help', 'show this help')
    .requiredOption('--repo <dir>', 'repository directory (created if missing)')
    .option('-S, --slot <name>', 'permanent physical replication slot to stream from', 'pgconvoy_archive')
    .option('--create-slot', 'create the slot if it does not exist')
    .option('--synchronous', 'fsync WAL as it arrives and report it at once, so this archive can be a synchronous standby')
    .option('-s, --status-interval <seconds>', 'time between status packets sent to the server', '10')
    .option('-Z, --compress <method[:level]>', 'store completed segments compressed: gzip, lz4 or zstd, with a level')
    .option('-v, --verbose', 'output a line for each completed segment')
    .option('-d, --dbname <connstr>', 'connection string (application_name names it in synchronous_standby_names)')
    .action(async (flags: ArchiveFlags) => {
      const statusSeconds = Number(flags.statusInterval);
      if (!Number.isInteger(statusSeconds) || statusSeconds < 1 || statusSeconds > 2147483) {
        throw new UsageError('OPTION_OUT_OF_RANGE', `invalid status interval "${flags.statusInterval}"`);
      }
      // A connection string (or PG* variables, ~/.pgpass) says everything a daemon needs; nothing prompts.
      const connection = resolveConnectionParams(
        { ...(flags.dbname === undefined ? {} : { dbname: flags.dbname }), fallbackApplicationName: 'pgconvoy', replication: 'true' },
        io.env, { onWarning: (message) => io.stderr.write(`pgconvoy: warning: ${message}\n`) });
      const compression = flags.compress === undefined ? undefined : walCompression(flags.compress);
      const storage = new LocalStorage(flags.repo);
      const outcome = await runArchive({
        storage,
        slot: flags.slot,
        createSlot: flags.createSlot === true,
        synchronous: flags.synchronous === true,
        statusIntervalMs: statusSeconds * 1000,
        compression,
      }, {
        connect: () => connect(connection),
        signal: io.signal,
        observer: {
          onStart: (info) => io.stderr.write(`pgconvoy: archiving WAL of system ${info.systemId} into "${storage.location}" from ` +
            `${formatLsn(info.startLsn)} on timeline ${info.tli} (${info.isResumed ? 'resumed from the repository' : 'empty repository'}), ` +
            `slot "${flags.slot}"${flags.synchronous === true ? ', synchronous' : ''}\n`),
          ...(flags.verbose === true ? { onSegment: (name: string) => io.stderr.write(`pgconvoy: archived segment ${name}\n`) } : {}),
        },
      });
      io.stderr.write(`pgconvoy: archive stopped, WAL up to ${formatLsn(outcome.flushedLsn)} is in the repository\n`);
    });
};

/** `-Z` as backup reads it, but only what a segment compressed here can use: a method and a level. */
function walCompression(text: string): WalCompression | undefined {
  const spec = parseCompressionSpec(text);
  if (spec === null) return undefined;
  if (spec.location === 'server' || spec.workers !== undefined || spec.long !== undefined) {
    throw new UsageError('OPTION_INVALID', `invalid compression specification "${text}" for archive`, {
      hint: 'archive compresses each completed segment itself: give gzip, lz4 or zstd, and optionally ":LEVEL".',
    });
  }
  return spec.level === undefined ? { method: spec.method } : { method: spec.method, level: spec.level };
}
