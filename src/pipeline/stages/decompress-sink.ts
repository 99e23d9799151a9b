/**
 * DecompressSink: undoes server-side compression so the next stage sees plain tar. Which filter applies is decided
 * per archive from its name (base.tar.gz, 16384.tar.lz4, base.tar.zst), and the suffix is removed from the name
 * passed on; uncompressed archives pass straight through.
 */
import { COMPRESSION_SUFFIX, compressionOfName, type ByteFilter } from '../compression/filter.ts';
import { createDecompressor } from '../compression/create-filter.ts';
import { FilterSink } from './filter-sink.ts';

export class DecompressSink extends FilterSink {
  protected override filterFor(name: string): { filter: ByteFilter | null; name: string } {
    const method = compressionOfName(name);
    if (method === null) return { filter: null, name };
    return { filter: createDecompressor(method), name: name.slice(0, -COMPRESSION_SUFFIX[method].length) };
  }
}
