/**
 * PROGRESS: the size of each archive, estimated as the walsender does before sending anything: a walk of the
 * same entries (metadata only) summing tar headers, file sizes and padding, without the end-of-archive blocks,
 * the injected files or the WAL. Reported in kB, truncated.
 */
import { tarPaddingBytes } from '../../tar/writer.ts';
import { TAR_BLOCK_BYTES } from '../../tar/header.ts';
import { walkArchive, type ArchiveLayout } from './archive-walk.ts';

export async function estimateArchiveKb(layout: ArchiveLayout, tablespaceMap: boolean): Promise<bigint> {
  let bytes = 0;
  for await (const entry of walkArchive(layout)) {
    if (entry.kind === 'special' || (tablespaceMap && entry.inTablespaceDir)) continue;
    bytes += TAR_BLOCK_BYTES + entry.stat.size + tarPaddingBytes(entry.stat.size);
  }
  return BigInt(Math.floor(bytes / 1024));
}
