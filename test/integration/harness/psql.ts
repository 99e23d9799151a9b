/**
 * SQL for the harness itself, through the system psql: creating roles, pgbench checks. Deliberately not through
 * pgconvoy's client (LocalCluster.sql), so a bug in the code under test cannot look like a broken cluster, and
 * the checks stay an independent witness. Tests exercising our client use cluster.sql().
 */
import { spawn } from 'node:child_process';
import { toolPath } from '../../../src/cluster/binaries.ts';
import type { LocalCluster } from '../../../src/cluster/local-cluster.ts';

const FIELD_SEPARATOR = '\x1f';
const RECORD_SEPARATOR = '\x1e';
const NULL_MARKER = '\x01';
const PSQL_TIMEOUT_MS = 60_000;

/** The environment for client tools: none of the caller's PG* variables, so only our arguments count. */
export function clientToolEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [name, value] of Object.entries(process.env)) if (!name.startsWith('PG')) env[name] = value;
  env['PGCONNECT_TIMEOUT'] = '10';
  return env;
}

export function requireTool(cluster: LocalCluster, tool: string): string {
  const path = toolPath(cluster.install, tool);
  if (path === null) throw new Error(`no "${tool}" usable with PostgreSQL ${cluster.install.major} is installed`);
  return path;
}

/**
 * Runs `sql` (one or more statements; the last result is returned) over TCP, by default as superuser
 * "postgres". `conninfo` adds or overrides libpq keywords (later ones win): "sslmode=verify-full ...".
 */
export function psql(
  cluster: LocalCluster, sql: string,
  opts: { database?: string; user?: string; password?: string; conninfo?: string } = {},
): Promise<Array<Array<string | null>>> {
  const conninfo = `host=${cluster.host} port=${cluster.port} user=${opts.user ?? 'postgres'} ` +
    `dbname=${opts.database ?? 'postgres'} ${opts.conninfo ?? ''}`;
  const args = [
    '-X', '-q', '-A', '-t', '-v', 'ON_ERROR_STOP=1', '-F', FIELD_SEPARATOR, '-R', RECORD_SEPARATOR,
    '-P', `null=${NULL_MARKER}`, '-d', conninfo, '-c', sql,
  ];
  const env = clientToolEnv();
  if (opts.password !== undefined) env['PGPASSWORD'] = opts.password;
  return new Promise((resolveRows, reject) => {
    const child = spawn(requireTool(cluster, 'psql'), args, {
      stdio: ['ignore', 'pipe', 'pipe'], env, timeout: PSQL_TIMEOUT_MS,
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (text: string) => (stdout += text));
    child.stderr.setEncoding('utf8').on('data', (text: string) => (stderr += text));
    child.once('error', reject);
    child.once('close', (status) => {
      if (status !== 0) {
        reject(new Error(`psql failed (exit status ${status}) on port ${cluster.port}: ${stderr.trim()}\nsql: ${sql}`));
        return;
      }
      const text = stdout.replace(/\n$/, '');
      resolveRows(text === '' ? [] : text.split(RECORD_SEPARATOR).map((record) =>
        record.split(FIELD_SEPARATOR).map((field) => (field === NULL_MARKER ? null : field))));
    });
  });
}
