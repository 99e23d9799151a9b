/** `pgconvoy demo`: see src/demo/run-demo.ts. */
import type { Command } from 'commander';
import type { CliIo } from '../cli-io.ts';
import { runDemo } from '../../demo/run-demo.ts';
import type { RegisterCommand } from './index.ts';

export const registerDemo: RegisterCommand = (program: Command, io: CliIo) => {
  program
    .command('demo')
    .description('start a throwaway PostgreSQL, take several backups at once under load (directly and through pgconvoy serve), verify them, restore two and check them')
    .action(async () => {
      await runDemo({ write: (text) => io.stdout.write(text) }, io.signal);
    });
};
