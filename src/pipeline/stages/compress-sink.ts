/**
 * CompressSink: client-side compression of each archive (tar format), appending the method's suffix to the
 * archive name as pg_basebackup does (base.tar -> base.tar.gz). The manifest is written uncompressed, so manifest
 * hooks pass through untouched.
 */
import { ArchiveSink } from '../archive-sink.ts';
import { COMPRESSION_SUFFIX, type ByteFilter, type Emit } from '../compression/filter.ts';
import { createCompressor } from '../compression/create-filter.ts';
import type { ClientCompression } from '../destination/options.ts';

export class CompressSink extends ArchiveSink {
  readonly #compression: ClientCompression;
  #filter: ByteFilter | null = null;
  readonly #emit: Emit = async (chunk) => {
    await this.next?.archiveContents(chunk);
  };

  constructor(next: ArchiveSink, compression: ClientCompression) {
    super(next);
    this.#compression = compression;
  }

  protected override async onBeginArchive(name: string, location: string): Promise<void> {
    this.#filter = createCompressor(this.#compression.method, this.#compression.level);
    await this.next?.beginArchive(name + COMPRESSION_SUFFIX[this.#compression.method], location);
  }

  protected override async onArchiveContents(chunk: Buffer): Promise<void> {
    await this.#filter?.write(chunk, this.#emit);
  }

  protected override async onEndArchive(): Promise<void> {
    const filter = this.#filter;
    this.#filter = null;
    await filter?.end(this.#emit);
    await this.next?.endArchive();
  }

  protected override async onCleanup(): Promise<void> {
    this.#filter?.destroy();
    this.#filter = null;
  }
}
