/**
 * Every subcommand, in the order `--help` lists them. Each module registers itself on the program; modules are
 * imported only when needed (just the one named on the command line), because loading all of them costs start-up
 * time that a short backup would feel.
 */
import type { Command } from 'commander';
import type { CliIo } from '../cli-io.ts';

export type RegisterCommand = (program: Command, io: CliIo) => void;

export const COMMANDS: ReadonlyArray<readonly [name: string, load: () => Promise<RegisterCommand>]> = [
  ['backup', async () => (await import('./backup.ts')).registerBackup],
  ['verify', async () => (await import('./verify.ts')).registerVerify],
  ['restore', async () => (await import('./restore.ts')).registerRestore],
  ['drill', async () => (await import('./drill.ts')).registerDrill],
  ['serve', async () => (await import('./serve.ts')).registerServe],
  ['archive', async () => (await import('./archive.ts')).registerArchive],
  ['archive-get', async () => (await import('./archive-get.ts')).registerArchiveGet],
  ['info', async () => (await import('./info.ts')).registerInfo],
  ['expire', async () => (await import('./expire.ts')).registerExpire],
  ['demo', async () => (await import('./demo.ts')).registerDemo],
];

/** The registrations needed for this command line: the named subcommand alone, or all (help, errors). */
export async function commandsFor(argv: readonly string[]): Promise<RegisterCommand[]> {
  const named = COMMANDS.find(([name]) => name === argv[0]);
  return Promise.all((named === undefined ? COMMANDS : [named]).map(([, load]) => load()));
}
