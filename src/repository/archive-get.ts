/**
 * `pgconvoy archive-get`: what PostgreSQL's restore_command runs during recovery from a repository. It copies one
 * archived file (a completed WAL segment or a timeline history file) to where the server asked for it; a file the
 * archive does not hold fails with WAL_MISSING, which the server reads as the end of the archive, as it reads a
 * failing `cp`. A segment still in progress (`.partial`) is never handed out: it may end short of what the server
 * needs and would then be replayed as if whole. A segment `archive -Z` compressed is handed out decompressed.
 */
import { promises as fs } from 'node:fs';
import { ConvoyError, UsageError } from '../errors/index.ts';
import type { RepositoryStorage } from './storage.ts';
import { readArchived } from './wal-objects.ts';

const ARCHIVED_NAME = /^(?:[0-9A-F]{24}|[0-9A-F]{8}\.history)$/;

export async function archiveGet(storage: RepositoryStorage, name: string, destination: string): Promise<number> {
  if (!ARCHIVED_NAME.test(name)) throw new UsageError('OPTION_INVALID', `invalid WAL file name "${name}"`);
  const bytes = await readArchived(storage, name);
  if (bytes === null) throw new ConvoyError('WAL_MISSING', `"${name}" is not in repository "${storage.location}"`);
  await fs.writeFile(destination, bytes, { mode: 0o600 });
  return bytes.length;
}
