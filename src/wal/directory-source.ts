/**
 * A WalSegmentSource over a directory of segment files, such as a plain backup's pg_wal/ or an archive
 * directory: `<dir>/<fileName>`, null when the file does not exist. Anything else that goes wrong reading it
 * (permissions, I/O) is an FsError, not a WAL problem.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fsError } from '../errors/index.ts';
import type { WalSegmentSource } from './segment-window.ts';

export function walDirectorySource(directory: string): WalSegmentSource {
  return {
    async readSegment(_tli: number, _segno: bigint, fileName: string): Promise<Buffer | null> {
      const path = join(directory, fileName);
      try {
        return await readFile(path);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
        throw fsError('read WAL segment', path, error);
      }
    },
  };
}
