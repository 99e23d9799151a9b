/**
 * Connection parameters from everything a libpq user expects: explicit flags (-h -p -U -d ...), the `-d`
 * connection string, PG* environment variables and libpq's defaults, in that order of precedence; then the
 * password file when no password was given. Also renders `primary_conninfo` for -R the way pg_basebackup does.
 *
 * The resolved password is never enumerable (see credentials.ts). Reads the password file synchronously:
 * resolution happens once, before any I/O that matters.
 */
import { existsSync } from 'node:fs';
import { homedir, userInfo } from 'node:os';
import { join } from 'node:path';
import { UsageError } from '../errors/index.ts';
import { isConnectionString, parseConninfo } from './conninfo-parse.ts';
import { attachCredentials, credentialsOf, Credentials } from './credentials.ts';
import { lookupPgpass } from './pgpass.ts';
import type { ConnectionParams, SslMode } from './types.ts';

export { isConnectionString, parseConninfo } from './conninfo-parse.ts';

/** What the command line gave. `dbname` is a connection string or a plain database name, like libpq's -d. */
export interface ConnectionInput {
  readonly dbname?: string;
  readonly host?: string;
  readonly port?: string | number;
  readonly user?: string;
  readonly password?: string;
  readonly sslmode?: string;
  readonly applicationName?: string;
  /** Used when nobody set application_name (pg_basebackup passes its own name here). */
  readonly fallbackApplicationName?: string;
  readonly connectTimeoutSeconds?: string | number;
  /** 'true' makes the database default to `replication`, as pg_basebackup does (also for .pgpass). */
  readonly replication?: 'true' | 'database';
}

export interface ResolveOptions {
  readonly homeDir?: string;
  readonly osUser?: string;
  readonly onWarning?: (message: string) => void;
  readonly socketDirExists?: (dir: string) => boolean;
}

const SSL_MODES: readonly SslMode[] = ['disable', 'allow', 'prefer', 'require', 'verify-ca', 'verify-full'];
const DEFAULT_PORT = 5432;
const DEFAULT_SOCKET_DIRS = ['/var/run/postgresql', '/tmp'] as const;

export function resolveConnectionParams(
  input: ConnectionInput, env: NodeJS.ProcessEnv = process.env, options: ResolveOptions = {},
): ConnectionParams {
  const conn = input.dbname !== undefined && isConnectionString(input.dbname)
    ? parseConninfo(input.dbname)
    : new Map(input.dbname === undefined || input.dbname === '' ? [] : [['dbname', input.dbname]]);
  const envValue = (name: string): string | undefined => (env[name] === '' ? undefined : env[name]);
  const pick = (flag: string | number | undefined, keyword: string, envName: string | null): string | undefined =>
    flag !== undefined ? String(flag) : (conn.get(keyword) ?? (envName === null ? undefined : envValue(envName)));

  const replication = parseReplication(input.replication ?? conn.get('replication'));
  const socketDirExists = options.socketDirExists ?? existsSync;
  const host = pick(input.host, 'host', 'PGHOST') ?? DEFAULT_SOCKET_DIRS.find(socketDirExists) ?? '/tmp';
  const port = parsePort(pick(input.port, 'port', 'PGPORT') ?? String(DEFAULT_PORT));
  const user = pick(input.user, 'user', 'PGUSER') ?? options.osUser ?? userInfo().username;
  const database = pick(undefined, 'dbname', null)
    ?? (replication === 'true' ? 'replication' : (envValue('PGDATABASE') ?? user));
  const sslmode = parseSslMode(pick(input.sslmode, 'sslmode', 'PGSSLMODE') ?? 'prefer');
  const explicitAppName = pick(input.applicationName, 'application_name', 'PGAPPNAME');
  const applicationName = explicitAppName ?? input.fallbackApplicationName ?? conn.get('fallback_application_name') ?? 'pgconvoy';
  const connectTimeoutMs = parseConnectTimeout(pick(input.connectTimeoutSeconds, 'connect_timeout', 'PGCONNECT_TIMEOUT') ?? '0');
  const explicitPassfile = conn.get('passfile') ?? envValue('PGPASSFILE');

  let password = pick(input.password, 'password', 'PGPASSWORD');
  const isPasswordFromUser = password !== undefined;
  if (password === undefined) {
    const passfile = explicitPassfile ?? join(options.homeDir ?? homedir(), '.pgpass');
    const warn = options.onWarning ?? ((message: string) => process.stderr.write(`warning: ${message}\n`));
    password = lookupPgpass(passfile, { host, port, database, user }, warn);
  }
  const params = {
    host, port, user, database, sslmode, applicationName, connectTimeoutMs,
    ...(replication === undefined ? {} : { replication }),
  };
  return attachCredentials(params, new Credentials({
    ...(password === undefined ? {} : { password }),
    isPasswordFromUser,
    ...(explicitPassfile === undefined ? {} : { passfile: explicitPassfile }),
    isApplicationNameExplicit: explicitAppName !== undefined,
  })) as ConnectionParams;
}

/**
 * The value of `primary_conninfo` that -R writes: keyword=value pairs in libpq's option order, without
 * dbname, replication and fallback_application_name (the walreceiver sets those). The password is included
 * when the user supplied one (flag, prompt, connection string, PGPASSWORD), not when it came from a password
 * file, matching what libpq reports to pg_basebackup. Quoting the result for postgresql.auto.conf is the
 * caller's job.
 */
export function renderPrimaryConninfo(params: ConnectionParams): string {
  const credentials = credentialsOf(params);
  const password = params.password ?? credentials?.password;
  const isPasswordFromUser = credentials === undefined ? password !== undefined : credentials.isPasswordFromUser;
  const pairs: Array<[string, string | undefined]> = [
    ['user', params.user],
    ['password', isPasswordFromUser ? password : undefined],
    ['passfile', credentials?.passfile],
    ['connect_timeout', params.connectTimeoutMs > 0 ? String(Math.ceil(params.connectTimeoutMs / 1000)) : undefined],
    ['host', params.host],
    ['port', String(params.port)],
    ['application_name', credentials?.isApplicationNameExplicit === true ? params.applicationName : undefined],
    ['sslmode', params.sslmode],
  ];
  return pairs
    .filter((pair): pair is [string, string] => pair[1] !== undefined && pair[1] !== '')
    .map(([keyword, value]) => `${keyword}=${quoteConninfoValue(value)}`)
    .join(' ');
}

/** libpq's rule: bare only when made of ASCII letters, digits, '_' and '.'; else quoted with \ escapes. */
export function quoteConninfoValue(value: string): string {
  if (/^[A-Za-z0-9_.]+$/.test(value)) return value;
  return `'${value.replace(/['\\]/g, (char) => `\\${char}`)}'`;
}

function parsePort(text: string): number {
  const port = /^\s*\d+\s*$/.test(text) ? Number(text) : NaN;
  if (!(port >= 1 && port <= 65535)) throw new UsageError('OPTION_INVALID', `invalid port number: "${text}"`);
  return port;
}

function parseSslMode(text: string): SslMode {
  if (!(SSL_MODES as readonly string[]).includes(text)) {
    throw new UsageError('OPTION_INVALID', `invalid sslmode value: "${text}"`);
  }
  return text as SslMode;
}

/** libpq: seconds; 0 or negative waits forever, and 1 is raised to 2 (a one-second timer fires too early). */
function parseConnectTimeout(text: string): number {
  if (!/^\s*-?\d+\s*$/.test(text)) throw new UsageError('OPTION_INVALID', `invalid integer value "${text}" for connection option "connect_timeout"`);
  const seconds = Number(text);
  if (seconds <= 0) return 0;
  return Math.max(seconds, 2) * 1000;
}

function parseReplication(text: string | undefined): 'true' | 'database' | undefined {
  if (text === undefined) return undefined;
  const lower = text.toLowerCase();
  if (['true', 'on', 'yes', '1'].includes(lower)) return 'true';
  if (lower === 'database') return 'database';
  if (['false', 'off', 'no', '0'].includes(lower)) return undefined;
  throw new UsageError('OPTION_INVALID', `invalid value for parameter "replication": "${text}"`);
}
