/**
 * The text files of a data directory that pgconvoy reads or writes: postmaster.pid (to know when the server
 * is ready, as pg_ctl -w does), our own configuration include, and pg_hba.conf.
 *
 * Settings go to `pgconvoy.conf`, included at the end of postgresql.conf, so postgresql.auto.conf (ALTER SYSTEM)
 * still wins and the user's own postgresql.conf is touched by one line only. Later settings override earlier
 * ones, as in any PostgreSQL configuration file. Every file written here is given to the server user.
 */
import { appendFile, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { UsageError } from '../errors/index.ts';
import { chownForServer } from './os-user.ts';

export type SettingValue = string | number | boolean;

export const INCLUDE_FILE = 'pgconvoy.conf';
const INCLUDE_LINE = `include_if_exists = '${INCLUDE_FILE}'`;
const SETTING_NAME = /^[A-Za-z_][A-Za-z0-9_.]*$/;

/** `name = value` lines in postgresql.conf syntax: strings single-quoted, with ' and \ escaped. */
export function renderSettings(settings: Readonly<Record<string, SettingValue>>): string {
  let text = '';
  for (const [name, value] of Object.entries(settings)) {
    if (!SETTING_NAME.test(name)) throw new UsageError('OPTION_INVALID', `invalid configuration parameter name "${name}"`);
    const rendered = typeof value === 'boolean' ? (value ? 'on' : 'off')
      : typeof value === 'number' ? String(value)
      : `'${value.replaceAll('\\', '\\\\').replaceAll("'", "''")}'`;
    text += `${name} = ${rendered}\n`;
  }
  return text;
}

/** Contents of postmaster.pid, named after the lines PostgreSQL writes (LOCK_FILE_LINE_* in miscadmin.h). */
export interface PostmasterPid {
  readonly pid: number;
  readonly dataDir: string;
  readonly startTime: number;
  readonly port: number;
  readonly socketDir: string;
  readonly listenAddress: string;
  /** 'starting', 'stopping', 'ready' or 'standby'; absent while the postmaster is still writing the file. */
  readonly status: string | undefined;
}

export function parsePostmasterPid(text: string): PostmasterPid | null {
  const lines = text.split('\n');
  const pid = Number(lines[0]);
  if (!Number.isInteger(pid) || pid <= 0) return null;
  const status = lines[7]?.trim();
  return {
    pid,
    dataDir: lines[1] ?? '',
    startTime: Number(lines[2] ?? 0),
    port: Number(lines[3] ?? 0),
    socketDir: lines[4] ?? '',
    listenAddress: lines[5] ?? '',
    status: status === undefined || status === '' ? undefined : status,
  };
}

/** Statuses in which the postmaster accepts connections (read-write, or read-only in hot standby). */
export function isAcceptingConnections(status: string | undefined): boolean {
  return status === 'ready' || status === 'standby';
}

export async function readPostmasterPid(dataDir: string): Promise<PostmasterPid | null> {
  try {
    return parsePostmasterPid(await readFile(join(dataDir, 'postmaster.pid'), 'utf8'));
  } catch {
    return null;
  }
}

export async function appendSettings(dataDir: string, settings: Readonly<Record<string, SettingValue>>): Promise<void> {
  const text = renderSettings(settings);
  const mainConf = join(dataDir, 'postgresql.conf');
  const current = await readFile(mainConf, 'utf8');
  if (!current.split('\n').includes(INCLUDE_LINE)) {
    await appendFile(mainConf, `${current.endsWith('\n') ? '' : '\n'}${INCLUDE_LINE}\n`);
  }
  const includePath = join(dataDir, INCLUDE_FILE);
  await appendFile(includePath, text, { mode: 0o600 });
  await chownForServer(includePath);
}

export async function prependHbaLines(dataDir: string, lines: readonly string[]): Promise<void> {
  const hbaPath = join(dataDir, 'pg_hba.conf');
  const current = await readFile(hbaPath, 'utf8');
  await writeFile(hbaPath, `${lines.join('\n')}\n${current}`);
  await chownForServer(hbaPath);
}
