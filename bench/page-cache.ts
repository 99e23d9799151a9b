/**
 * Warm and cold rounds. A cold round empties the kernel's page cache before each timed run (`sync`, then
 * `echo 3 > /proc/sys/vm/drop_caches`), so the data directory is read from the disk again; a warm round does
 * nothing, the previous run having left the data directory cached. Dropping needs root: without it the cold
 * rounds are skipped with the reason, never faked. tmpfs contents are not cache and survive a drop.
 */
import { accessSync, constants } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { measure } from './measure.ts';

export type CacheState = 'warm' | 'cold';

const DROP_CACHES = '/proc/sys/vm/drop_caches';

/** Why cold rounds cannot run here, or null when they can. */
export function coldUnavailable(): string | null {
  if (process.getuid?.() !== 0) return `dropping the page cache needs root (writing ${DROP_CACHES}); running as uid ${process.getuid?.() ?? '?'}`;
  try {
    accessSync(DROP_CACHES, constants.W_OK);
    return null;
  } catch (error) {
    return `${DROP_CACHES} is not writable here (${(error as NodeJS.ErrnoException).code ?? String(error)}), e.g. in a container without it`;
  }
}

/** Brings the cache to `state` before a timed run: for cold, dirty pages written, then every clean page dropped. */
export async function prepareCache(state: CacheState): Promise<void> {
  if (state === 'warm') return;
  await measure(['sync']);
  await writeFile(DROP_CACHES, '3\n');
}
