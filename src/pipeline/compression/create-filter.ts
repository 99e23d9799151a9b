/**
 * The one place that maps a compression method to its filter, so stages name a method and never a library.
 * Levels were validated by the caller (gzip 1-9, lz4 1-12, zstd's own range); undefined means the method's default.
 */
import type { ByteFilter, CompressionMethod } from './filter.ts';
import { createGunzipFilter, createGzipFilter } from './zlib-filter.ts';
import { Lz4FrameDecoder } from './lz4-frame-decoder.ts';
import { Lz4FrameEncoder } from './lz4-frame-encoder.ts';
import { createZstdCompressFilter, createZstdDecompressFilter } from './zstd-filter.ts';

export function createCompressor(method: CompressionMethod, level?: number): ByteFilter {
  switch (method) {
    case 'gzip': return createGzipFilter(level);
    case 'lz4': return new Lz4FrameEncoder();
    case 'zstd': return createZstdCompressFilter(level);
  }
}

export function createDecompressor(method: CompressionMethod): ByteFilter {
  switch (method) {
    case 'gzip': return createGunzipFilter();
    case 'lz4': return new Lz4FrameDecoder();
    case 'zstd': return createZstdDecompressFilter();
  }
}

/** A whole buffer through a filter, for objects small enough to hold (one WAL segment), never for a stream. */
export async function filterBuffer(filter: ByteFilter, input: Buffer): Promise<Buffer> {
  const output: Buffer[] = [];
  const collect = async (chunk: Buffer): Promise<void> => {
    output.push(chunk);
  };
  try {
    await filter.write(input, collect);
    await filter.end(collect);
  } finally {
    filter.destroy();
  }
  return Buffer.concat(output);
}
