#!/usr/bin/env node
/**
 * The `pgconvoy` entry point: parses argv with commander, runs one command, and is the only place that turns
 * an error into text and an exit status. Output follows PostgreSQL's tools:
 *   pgconvoy: error: <message>
 *   pgconvoy: detail: <detail>      (when there is one)
 *   pgconvoy: hint: <hint>          (when there is one)
 * Exit status 1 for any failure, as pg_basebackup; a run that SIGINT or SIGTERM ended (after its clean abort) exits
 * 128 + the signal number (130, 143), as a process killed by that signal would look to a shell.
 */
import { realpathSync } from 'node:fs';
import { constants as osConstants } from 'node:os';
import { fileURLToPath } from 'node:url';
import { Command, CommanderError } from 'commander';
import { ConvoyError } from '../errors/index.ts';
import type { CliIo } from './cli-io.ts';
import { commandsFor } from './commands/index.ts';

export async function main(argv: readonly string[], io: CliIo): Promise<number> {
  let status = 0;
  const program = new Command('pgconvoy')
    .description('PostgreSQL base backups, many at once')
    .version(PACKAGE_VERSION)
    .showHelpAfterError(false)
    .exitOverride()
    .configureOutput({
      writeOut: (text) => io.stdout.write(text),
      writeErr: (text) => io.stderr.write(text),
      outputError: () => {}, // reported below in our own format
    });
  const scoped: CliIo = { ...io, setExitStatus: (code) => { status = code; } };
  for (const register of await commandsFor(argv)) register(program, scoped);
  try {
    await program.parseAsync([...argv], { from: 'user' });
    return status;
  } catch (error) {
    if (error instanceof CommanderError) {
      if (error.exitCode === 0) return 0; // --help, --version
      // A mistake in a subcommand's options is explained by that subcommand's help.
      const command = program.commands.some((sub) => sub.name() === argv[0]) ? `pgconvoy ${argv[0] as string}` : 'pgconvoy';
      io.stderr.write(`pgconvoy: error: ${error.message.replace(/^error: /, '').replace(/\s*\n\s*/g, ' ')}\n`);
      io.stderr.write(`pgconvoy: hint: Try "${command} --help" for more information.\n`);
      return 1;
    }
    reportError(error, io);
    return io.signal.aborted ? signalExitStatus(io.signal.reason) : 1;
  }
}

/** 128 + the number of the signal that aborted the run (its reason says which), else 1. */
function signalExitStatus(reason: unknown): number {
  const name = reason instanceof ConvoyError ? reason.details['signal'] : undefined;
  const number = typeof name === 'string' ? osConstants.signals[name as NodeJS.Signals] : undefined;
  return number === undefined ? 1 : 128 + number;
}

function reportError(error: unknown, io: CliIo): void {
  if (error instanceof ConvoyError) {
    io.stderr.write(`pgconvoy: error: ${error.message}\n`);
    const detail = error.details['detail'];
    if (typeof detail === 'string' && detail !== '') io.stderr.write(`pgconvoy: detail: ${detail}\n`);
    if (error.hint !== undefined) io.stderr.write(`pgconvoy: hint: ${error.hint}\n`);
    if (io.env['PGCONVOY_DEBUG'] === '1') io.stderr.write(`${error.stack ?? ''}\n`);
    return;
  }
  // Not ours: a bug. Say so, with the stack, rather than pretending it is a user error.
  io.stderr.write(`pgconvoy: error: internal error: ${error instanceof Error ? error.stack ?? error.message : String(error)}\n`);
}

const PACKAGE_VERSION = '0.1.0';

function processIo(): CliIo {
  const controller = new AbortController();
  let signals = 0;
  const onSignal = (name: NodeJS.Signals): void => {
    signals += 1;
    if (signals > 1) process.exit(128 + osConstants.signals[name]); // a second Ctrl-C: the user insists
    controller.abort(new ConvoyError('ABORTED', `interrupted by ${name}`, { details: { signal: name } }));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  return {
    stdout: process.stdout,
    stderr: process.stderr,
    env: process.env,
    signal: controller.signal,
    setExitStatus: () => {},
  };
}

/** Runs the CLI as this process: real streams, signals, exit status. */
export function runFromProcess(): void {
  // A promise rejected with no handler is a bug whatever it carries: said in the usual form, not as Node's dump.
  // The process still ends at once, as Node would end it; the cleanup guardian then does what it does after any death.
  process.on('unhandledRejection', (reason: unknown) => {
    process.stderr.write(`pgconvoy: error: internal error: unhandled rejection: ${reason instanceof Error ? reason.stack ?? reason.message : String(reason)}\n`);
    process.exit(1);
  });
  main(process.argv.slice(2), processIo()).then(
    (code) => {
      process.exitCode = code;
    },
    (error: unknown) => {
      process.stderr.write(`pgconvoy: error: ${String(error)}\n`);
      process.exitCode = 1;
    },
  );
}

const entry = process.argv[1];
if (entry !== undefined && realpathSync(entry) === fileURLToPath(import.meta.url)) runFromProcess();
