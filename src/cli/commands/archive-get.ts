/**
 * `pgconvoy archive-get --repo DIR FILE PATH`: a restore_command (`... %f %p`) that fetches WAL from a repository.
 * Quiet on success, because the server logs a restore_command's output; exit status 1 when the file is missing.
 */
import type { Command } from 'commander';
import { archiveGet } from '../../repository/archive-get.ts';
import { LocalStorage } from '../../repository/storage.ts';
import type { RegisterCommand } from './index.ts';

export const registerArchiveGet: RegisterCommand = (program: Command) => {
  program
    .command('archive-get')
    .description('copy an archived WAL segment or history file from a repository (restore_command)')
    .helpOption('-?, --help', 'show this help')
    .requiredOption('--repo <dir>', 'repository directory')
    .argument('<file>', 'WAL file name (%f)')
    .argument('<path>', 'where to write it (%p)')
    .action(async (file: string, path: string, flags: { repo: string }) => {
      await archiveGet(new LocalStorage(flags.repo), file, path);
    });
};
