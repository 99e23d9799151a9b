/**
 * DecompressSink: undoes server-side compression so the next stage sees plain tar. Which filter applies is decided
 * per archive from its name (base.tar.gz, 16384.tar.lz4, base.tar.zst), and the suffix is removed from the name
 * passed on; uncompressed archives pass straight through. The manifest is never compressed and passes through.
 */
import { ArchiveSink } from '../archive-sink.ts';
import type { ByteFilter, Emit } from '../compression/filter.ts';
import { COMPRESSION_SUFFIX, compressionOfName } from '../compression/filter.ts';
import { createDecompressor } from '../compression/create-filter.ts';

export class DecompressSink extends ArchiveSink {
  #filter: ByteFilter | null = null;
  readonly #emit: Emit = async (chunk) => {
    await this.next?.archiveContents(chunk);
  };

  protected override async onBeginArchive(name: string, location: string): Promise<void> {
    const method = compressionOfName(name);
    this.#filter = method === null ? null : createDecompressor(method);
    const plainName = method === null ? name : name.slice(0, -COMPRESSION_SUFFIX[method].length);
    await this.next?.beginArchive(plainName, location);
  }

  protected override async onArchiveContents(chunk: Buffer): Promise<void> {
    if (this.#filter === null) await this.next?.archiveContents(chunk);
    else await this.#filter.write(chunk, this.#emit);
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
