/** Runs `restore` and `drill` the way a user would: the real CLI in a child process, with a generous timeout. */
import { runCli, type CliResult } from '../harness.ts';

export async function runCommand(args: string[], opts: { timeoutMs?: number } = {}): Promise<CliResult> {
  return runCli(args, { timeoutMs: opts.timeoutMs ?? 300_000 });
}
