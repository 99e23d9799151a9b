/** Shared by the repository command tests: a command run in-process, a repository on disk, backup records. */
import { PassThrough } from 'node:stream';
import { Command } from 'commander';
import type { RegisterCommand } from '../../../src/cli/commands/index.ts';
import { ConvoyError } from '../../../src/errors/index.ts';
import { runningRecord, type BackupRecord } from '../../../src/repository/backup-catalog.ts';
import { claimRepository } from '../../../src/repository/repository.ts';
import { LocalStorage } from '../../../src/repository/storage.ts';
import { scratchDir } from './scratch-dirs.ts';

export const SEG = 16 * 1024 * 1024;
export const SYSTEM_ID = '7349163894263526621';

/** `pgconvoy <name> ...` on a program of its own; a thrown ConvoyError is reported with its code. */
export async function runCommand(register: RegisterCommand, name: string, args: string[]): Promise<{ status: number; stdout: string; code?: string }> {
  const stdout = new PassThrough();
  let out = '';
  stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
  let status = 0;
  const program = new Command('pgconvoy').exitOverride();
  register(program, { stdout, stderr: new PassThrough(), env: {}, signal: new AbortController().signal, setExitStatus: (code) => (status = code) });
  try {
    await program.parseAsync([name, ...args], { from: 'user' });
  } catch (error) {
    if (!(error instanceof ConvoyError)) throw error;
    return { status: 1, stdout: out, code: error.code };
  }
  await new Promise((resolve) => setImmediate(resolve));
  return { status, stdout: out };
}

/** A claimed repository whose wal/ holds empty files of these names. */
export async function repository(walNames: string[], prefix = 'repo'): Promise<string> {
  const storage = new LocalStorage(await scratchDir(prefix));
  await claimRepository(storage, { systemId: SYSTEM_ID, walSegmentBytes: SEG });
  for (const name of walNames) await storage.put(`wal/${name}`, Buffer.alloc(0));
  return storage.location;
}

export function completeRecord(id: string, startLsn: string, endLsn: string, endTime: string): BackupRecord {
  return {
    ...runningRecord({ id, label: `label ${id}`, format: 'tar', walMethod: 'stream', systemId: SYSTEM_ID }),
    status: 'complete', startLsn, endLsn, timeline: 1, endTime, streamBytes: 100, sizeBytes: 90, serverVersionNum: 150000,
  };
}
