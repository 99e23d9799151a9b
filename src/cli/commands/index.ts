/** Every subcommand, in the order `--help` lists them. Each module registers itself on the program. */
import type { Command } from 'commander';
import type { CliIo } from '../cli-io.ts';

export type RegisterCommand = (program: Command, io: CliIo) => void;

import { registerBackup } from './backup.ts';
import { registerDemo } from './demo.ts';
import { registerDrill } from './drill.ts';
import { registerRestore } from './restore.ts';
import { registerVerify } from './verify.ts';

export const COMMANDS: readonly RegisterCommand[] = [registerBackup, registerVerify, registerRestore, registerDrill, registerDemo];
