/**
 * Compressed WAL in the repository (`archive -Z`): a completed segment is stored as `<segment><suffix>` (`.gz`,
 * `.lz4`, `.zst`, as backups name compressed archives), and read back as the plain segment by whoever needs its
 * bytes (archive-get, the conflict check). Segments are held whole in memory here: one is at most 1 GB by
 * PostgreSQL's limit and 16 MB by default, and the compressors need no more than what they are given.
 *
 * Order, so that a crash at any moment loses nothing: the partial is durable before it is compressed, the
 * compressed object is durable (storage.put) before the partial is removed. A crash between the two leaves a stale
 * partial beside its compressed twin, which wal-catalog.ts ignores and expire removes with the segment.
 */
import { ConvoyError, invariant } from '../errors/index.ts';
import { createCompressor, createDecompressor, filterBuffer } from '../pipeline/compression/create-filter.ts';
import { COMPRESSION_SUFFIX, type CompressionMethod } from '../pipeline/compression/filter.ts';
import type { RepositoryStorage } from './storage.ts';
import { WAL_PREFIX } from './wal-catalog.ts';

export interface WalCompression {
  readonly method: CompressionMethod;
  /** Undefined: the method's default. */
  readonly level?: number;
}

/** Stores the completed, fsynced and closed `wal/<segment>.partial` compressed under its final name, then drops the partial. */
export async function publishCompressed(storage: RepositoryStorage, segment: string, compression: WalCompression): Promise<void> {
  const partialKey = `${WAL_PREFIX}/${segment}.partial`;
  const plain = await storage.get(partialKey);
  invariant(plain !== null, `"${partialKey}" disappeared before it was published`);
  const packed = await filterBuffer(createCompressor(compression.method, compression.level), plain);
  const key = `${WAL_PREFIX}/${segment}${COMPRESSION_SUFFIX[compression.method]}`;
  if (!(await storage.put(key, packed, { exclusive: true }))) {
    // Published before (a restart re-received it): the same WAL is the same segment, whatever its compressed bytes.
    const stored = await readArchived(storage, segment);
    if (stored === null || !stored.equals(plain)) {
      throw new ConvoyError('WAL_CONFLICT', `"${key}" in repository "${storage.location}" already exists with different contents`, {
        hint: 'The repository holds WAL of another history for this segment; the received copy is kept as the .partial file.',
      });
    }
  }
  await storage.delete(partialKey);
}

/** The plain bytes of an archived file (a segment, plain or compressed, or a history file), or null. */
export async function readArchived(storage: RepositoryStorage, name: string): Promise<Buffer | null> {
  const plain = await storage.get(`${WAL_PREFIX}/${name}`);
  if (plain !== null) return plain;
  for (const [method, suffix] of Object.entries(COMPRESSION_SUFFIX) as Array<[CompressionMethod, string]>) {
    const packed = await storage.get(`${WAL_PREFIX}/${name}${suffix}`);
    if (packed !== null) return filterBuffer(createDecompressor(method), packed);
  }
  return null;
}
