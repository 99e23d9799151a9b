/**
 * CompressSink: client-side compression of each archive (tar format), appending the method's suffix to the
 * archive name as pg_basebackup does (base.tar -> base.tar.gz).
 */
import type { ArchiveSink } from '../archive-sink.ts';
import { COMPRESSION_SUFFIX, type ByteFilter } from '../compression/filter.ts';
import { createCompressor } from '../compression/create-filter.ts';
import type { ClientCompression } from '../destination/options.ts';
import { FilterSink } from './filter-sink.ts';

export class CompressSink extends FilterSink {
  readonly #compression: ClientCompression;

  constructor(next: ArchiveSink, compression: ClientCompression) {
    super(next);
    this.#compression = compression;
  }

  protected override filterFor(name: string): { filter: ByteFilter; name: string } {
    const { method, level } = this.#compression;
    return { filter: createCompressor(method, level), name: name + COMPRESSION_SUFFIX[method] };
  }
}
