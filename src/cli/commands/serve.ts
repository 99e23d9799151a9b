/**
 * `pgconvoy serve`: run beside a PostgreSQL 15-18 cluster and answer the replication protocol for it, so that
 * stock pg_basebackup (and pgconvoy backup) connect to serve as to the cluster, and overlapping backups share one
 * read of the data directory. This file only turns the command line into ServeOptions; the work is in src/serve.
 */
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { UsageError } from '../../errors/index.ts';
import { resolveConnectionParams } from '../../client/conninfo.ts';
import { parseMaxRate } from '../../backup/option-values.ts';
import { runServe, type ListenAddress } from '../../serve/run-serve.ts';
import type { CliIo } from '../cli-io.ts';
import type { RegisterCommand } from './index.ts';

interface ServeFlags {
  pgdata?: string;
  dbname?: string;
  listen: string[];
  maxRate?: string;
  maxBackups: string;
  sslCert?: string;
  sslKey?: string;
  logFormat: string;
}

const DEFAULT_LISTEN = '127.0.0.1:5433';
const DEFAULT_MAX_BACKUPS = 16;
const collect = (value: string, previous: string[]): string[] => [...previous, value];

export const registerServe: RegisterCommand = (program: Command, io: CliIo) => {
  program
    .command('serve')
    .description('answer BASE_BACKUP for a local cluster, sharing one read of it between overlapping backups')
    .helpOption('-?, --help', 'show this help')
    .option('-D, --pgdata <dir>', 'the cluster\'s data directory (serve reads its files)')
    .option('-d, --dbname <connstr>', 'serve\'s own connection to the cluster (a role that may run pg_backup_start and create slots)')
    .option('--listen <host:port>', `address to accept clients on; repeatable (default ${DEFAULT_LISTEN})`, collect, [])
    .option('--max-rate <rate>', 'most bytes per second serve reads from disk, for all backups together (kB/s, or with suffix k or M)')
    .option('--max-backups <n>', 'backups performed at once; more wait their turn', String(DEFAULT_MAX_BACKUPS))
    .option('--ssl-cert <file>', 'certificate for TLS on the listeners (with --ssl-key)')
    .option('--ssl-key <file>', 'private key for TLS on the listeners')
    .option('--log-format <text|json>', 'log lines on stderr as text or as JSON', 'text')
    .action(async (flags: ServeFlags) => {
      if (flags.pgdata === undefined) throw new UsageError('OPTION_INVALID', 'no data directory specified', { hint: 'Give the cluster\'s data directory with -D/--pgdata.' });
      if ((flags.sslCert === undefined) !== (flags.sslKey === undefined)) {
        throw new UsageError('OPTION_CONFLICT', '--ssl-cert and --ssl-key must be given together');
      }
      if (flags.logFormat !== 'text' && flags.logFormat !== 'json') {
        throw new UsageError('OPTION_INVALID', `invalid log format "${flags.logFormat}", must be "text" or "json"`);
      }
      const maxBackups = Number(flags.maxBackups);
      if (!Number.isInteger(maxBackups) || maxBackups < 1 || maxBackups > 1000) {
        throw new UsageError('OPTION_OUT_OF_RANGE', `invalid --max-backups "${flags.maxBackups}": must be from 1 to 1000`);
      }
      const connection = resolveConnectionParams({
        ...(flags.dbname === undefined ? {} : { dbname: flags.dbname }),
        fallbackApplicationName: 'pgconvoy serve',
      }, io.env, { onWarning: (message) => io.stderr.write(`pgconvoy: warning: ${message}\n`) });
      await runServe({
        dataDir: resolve(flags.pgdata),
        connection,
        listen: (flags.listen.length === 0 ? [DEFAULT_LISTEN] : flags.listen).map(parseListen),
        maxRateBytesPerSecond: flags.maxRate === undefined ? null : parseMaxRate(flags.maxRate) * 1024,
        maxBackups,
        tls: flags.sslCert === undefined || flags.sslKey === undefined ? null : { certPath: flags.sslCert, keyPath: flags.sslKey },
        logFormat: flags.logFormat,
      }, io);
    });
};

/** `host:port`, `[v6]:port` or `:port` (all interfaces); port 0 picks a free one (logged). */
export function parseListen(text: string): ListenAddress {
  const match = /^(?:\[([^\]]+)\]|([^:]*)):(\d{1,5})$/.exec(text);
  const port = match === null ? NaN : Number(match[3]);
  if (match === null || !(port >= 0 && port <= 65535)) {
    throw new UsageError('OPTION_INVALID', `invalid listen address "${text}", must be HOST:PORT`);
  }
  const host = match[1] ?? match[2] ?? '';
  return { host: host === '' || host === '*' ? '0.0.0.0' : host, port };
}
