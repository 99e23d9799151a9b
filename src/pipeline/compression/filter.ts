/**
 * ByteFilter: the one shape every compressor and decompressor has, so that compression is always a filter stage
 * between two sinks and never a writer (PostgreSQL's gzip writer vs lz4 compressor asymmetry, avoided).
 *
 * A filter turns input chunks into output chunks and hands each output to `emit`, awaiting it before producing
 * more: memory stays bounded by one working buffer however much a chunk expands. Outputs are fresh buffers owned by
 * the receiver; inputs are never modified or kept after the call returns.
 *
 * Order: write* then end, or destroy at any time (after which nothing is emitted).
 */
export type Emit = (chunk: Buffer) => Promise<void>;

export interface ByteFilter {
  write(chunk: Buffer, emit: Emit): Promise<void>;
  end(emit: Emit): Promise<void>;
  destroy(): void;
}

/**
 * A compressor that can make everything written so far decodable from what it emitted, without ending its stream
 * (gzip's sync flush): what a writer needs before an fsync that must cover the data, not just part of it.
 */
export interface FlushableFilter extends ByteFilter {
  flush(emit: Emit): Promise<void>;
}

export type CompressionMethod = 'gzip' | 'lz4' | 'zstd';

/** File name suffixes, as pg_basebackup names archives (base.tar.gz, base.tar.lz4, base.tar.zst). */
export const COMPRESSION_SUFFIX: Readonly<Record<CompressionMethod, string>> = { gzip: '.gz', lz4: '.lz4', zstd: '.zst' };

/** The method whose suffix ends `name`, or null for an uncompressed name. */
export function compressionOfName(name: string): CompressionMethod | null {
  for (const [method, suffix] of Object.entries(COMPRESSION_SUFFIX) as [CompressionMethod, string][]) {
    if (name.endsWith(suffix)) return method;
  }
  return null;
}
