/**
 * Runs the pgconvoy CLI the way a user would, from TypeScript source (`node --import tsx src/cli/main.ts`),
 * with the repository root as working directory, a timeout, and stdout/stderr captured as text.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const DEFAULT_CLI_TIMEOUT_MS = 120_000;

export interface CliResult {
  /** Exit status; null when the process was ended by a signal (including the timeout). */
  readonly status: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
}

export function runCli(
  args: string[], opts: { env?: NodeJS.ProcessEnv; input?: string | Buffer; timeoutMs?: number; cwd?: string } = {},
): Promise<CliResult> {
  const env: NodeJS.ProcessEnv = { ...process.env, ...opts.env };
  delete env['NODE_TEST_CONTEXT']; // the CLI is not a test file; do not let it talk to our test runner
  return new Promise((resolveRun, reject) => {
    // tsx resolved from here, so a test may run the CLI from any working directory
    const child = spawn(process.execPath, ['--import', import.meta.resolve('tsx'), `${REPO_ROOT}src/cli/main.ts`, ...args], {
      cwd: opts.cwd ?? REPO_ROOT, env, stdio: ['pipe', 'pipe', 'pipe'],
      timeout: opts.timeoutMs ?? DEFAULT_CLI_TIMEOUT_MS, killSignal: 'SIGKILL',
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (text: string) => (stdout += text));
    child.stderr.setEncoding('utf8').on('data', (text: string) => (stderr += text));
    child.stdin.on('error', () => {}); // the CLI may exit without reading its input
    child.stdin.end(opts.input ?? '');
    child.once('error', reject);
    child.once('close', (status, signal) => resolveRun({ status, signal, stdout, stderr }));
  });
}
