/**
 * FilterSink: runs each archive's bytes through a ByteFilter chosen when the archive begins (compress or
 * decompress), renaming the archive as the filter changes it. With no filter the archive passes through. The
 * manifest is never compressed, so its hooks keep their forwarding defaults.
 */
import { ArchiveSink } from '../archive-sink.ts';
import type { ByteFilter, Emit } from '../compression/filter.ts';

export abstract class FilterSink extends ArchiveSink {
  #filter: ByteFilter | null = null;
  readonly #emit: Emit = async (chunk) => {
    await this.next?.archiveContents(chunk);
  };

  /** The filter for an archive of this name (null: pass through) and the name to pass on. */
  protected abstract filterFor(name: string): { filter: ByteFilter | null; name: string };

  protected override async onBeginArchive(name: string, location: string): Promise<void> {
    const chosen = this.filterFor(name);
    this.#filter = chosen.filter;
    await this.next?.beginArchive(chosen.name, location);
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
