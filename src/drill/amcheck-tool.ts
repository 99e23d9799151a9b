/**
 * amcheck through the real pg_amcheck: every connectable database (--all), heap and btree checks with TOAST,
 * the extension installed where missing (--install-missing; the scratch copy is ours to change). Used when a
 * pg_amcheck of the server's major or newer exists; an older one may not know a newer server's catalogs.
 *
 * pg_amcheck runs as the invoking user with an environment of our own (no PG* variables of the user's, which
 * could point it at another server), over the drill server's private Unix socket. Its exit status is the
 * verdict (0 clean, 2 corruption, 1 could not check); its report lines are passed on as failures.
 */
import { spawn } from 'node:child_process';
import { parsePostgresVersion } from '../cluster/binaries.ts';
import type { AmcheckOutcome } from './amcheck-sql.ts';

const FAILURES_MAX = 50;
/** A badly damaged cluster makes pg_amcheck very talkative; the report keeps the start. */
const OUTPUT_MAX_CHARS = 64 * 1024;

/** pg_amcheck's major, from `pg_amcheck --version` ("pg_amcheck (PostgreSQL) 15.14"). */
export async function toolMajor(path: string): Promise<number | null> {
  const { status, output } = await runTool(path, ['--version'], 10_000);
  return status === 0 ? parsePostgresVersion(output)?.major ?? null : null;
}

export async function runPgAmcheck(
  path: string, server: { host: string; port: number; user: string }, databases: number,
  opts: { heapallindexed: boolean; timeoutMs: number },
): Promise<AmcheckOutcome> {
  const started = performance.now();
  const args = [
    '--host', server.host, '--port', String(server.port), '--username', server.user, '--no-password',
    '--all', '--install-missing', ...(opts.heapallindexed ? ['--heapallindexed'] : []),
  ];
  const { status, output } = await runTool(path, args, opts.timeoutMs);
  const lines = output.split('\n').map((line) => line.trim()).filter((line) => line !== '');
  const failures = status === 0 ? [] : lines.length > 0 ? lines.slice(0, FAILURES_MAX) : [`pg_amcheck failed with exit status ${status ?? 'null (killed)'}`];
  return {
    ok: status === 0, method: 'pg_amcheck', tool: path, databases, relationsChecked: null, failures,
    seconds: Math.round(performance.now() - started) / 1000,
  };
}

function runTool(path: string, args: string[], timeoutMs: number): Promise<{ status: number | null; output: string }> {
  const env = { PATH: process.env['PATH'] ?? '/usr/bin:/bin', LC_ALL: 'C', PGCONNECT_TIMEOUT: '10', PGSSLMODE: 'disable', PGAPPNAME: 'pgconvoy drill' };
  return new Promise((resolveRun) => {
    const child = spawn(path, args, { stdio: ['ignore', 'pipe', 'pipe'], env, timeout: timeoutMs, killSignal: 'SIGKILL' });
    let output = '';
    const keep = (text: string): void => {
      if (output.length < OUTPUT_MAX_CHARS) output += text;
    };
    child.stdout.setEncoding('utf8').on('data', keep);
    child.stderr.setEncoding('utf8').on('data', keep);
    child.once('error', (error) => resolveRun({ status: null, output: `${output}${error.message}\n` }));
    child.once('close', (status) => resolveRun({ status, output }));
  });
}
