/**
 * Runs `restore` and `drill` the way a user would. Once the lead has registered the commands (COMMANDS holds
 * them), that is the real CLI in a child process (runCli); until then the same register functions are driven
 * in this process, with main()'s output conventions (`pgconvoy: error:` / `detail:` / `hint:`, exit status 1).
 */
import { Writable } from 'node:stream';
import { Command, CommanderError } from 'commander';
import { COMMANDS, type RegisterCommand } from '../../../src/cli/commands/index.ts';
import { registerDrill } from '../../../src/cli/commands/drill.ts';
import { registerRestore } from '../../../src/cli/commands/restore.ts';
import type { CliIo } from '../../../src/cli/cli-io.ts';
import { ConvoyError } from '../../../src/errors/index.ts';
import { runCli, type CliResult } from '../harness.ts';

function collector(): { stream: Writable; text: () => string } {
  let text = '';
  const stream = new Writable({
    write(chunk: Buffer | string, _encoding, callback) {
      text += chunk.toString();
      callback();
    },
  });
  return { stream, text: () => text };
}

export async function runCommand(args: string[], opts: { timeoutMs?: number } = {}): Promise<CliResult> {
  const register: RegisterCommand | undefined = args[0] === 'restore' ? registerRestore : args[0] === 'drill' ? registerDrill : undefined;
  if (register === undefined || COMMANDS.includes(register)) return runCli(args, { timeoutMs: opts.timeoutMs ?? 300_000 });
  const stdout = collector();
  const stderr = collector();
  let status = 0;
  const io: CliIo = {
    stdout: stdout.stream, stderr: stderr.stream, env: process.env, signal: new AbortController().signal,
    setExitStatus: (code) => { status = code; },
  };
  const program = new Command('pgconvoy').exitOverride().configureOutput({
    writeOut: (text) => stdout.stream.write(text), writeErr: (text) => stderr.stream.write(text), outputError: () => {},
  });
  register(program, io);
  try {
    await program.parseAsync(args, { from: 'user' });
  } catch (error) {
    status = 1;
    if (error instanceof CommanderError) {
      if (error.exitCode === 0) status = 0;
      else stderr.stream.write(`pgconvoy: error: ${error.message.replace(/^error: /, '')}\n`);
    } else if (error instanceof ConvoyError) {
      stderr.stream.write(`pgconvoy: error: ${error.message}\n`);
      const detail = error.details['detail'];
      if (typeof detail === 'string' && detail !== '') stderr.stream.write(`pgconvoy: detail: ${detail}\n`);
      if (error.hint !== undefined) stderr.stream.write(`pgconvoy: hint: ${error.hint}\n`);
    } else {
      throw error;
    }
  }
  return { status, signal: null, stdout: stdout.text(), stderr: stderr.text() };
}
