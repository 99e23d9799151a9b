/**
 * TarRebuildSink: parses the main archive (base.tar) and rebuilds it, for the two edits pg_basebackup makes to a
 * tar-format backup:
 *  - -R: the postgresql.auto.conf member is extended with the recovery settings (its header regenerated with the
 *    new size), an existing standby.signal is dropped and an empty one added at the end, and postgresql.auto.conf
 *    is added if the server had none;
 *  - '-D -': backup_manifest becomes the last member. The manifest arrives after the archive ended, so the end of
 *    base.tar (and endArchive downstream) is held back until the manifest is complete, which is also why the
 *    manifest is held in memory: its size must be in its header before its bytes (pg_basebackup does the same).
 *
 * Other archives pass through untouched; so do the headers of unchanged members (byte for byte). Member data is
 * forwarded as the reader's subarrays, never copied.
 * Injected members use pg_basebackup's conventions: the data directory's file mode, uid 2048, gid 1024, now.
 */
import { ArchiveSink } from '../archive-sink.ts';
import { UsageError } from '../../errors/index.ts';
import { TarReader, type TarEvent } from '../../tar/reader.ts';
import { encodeTarHeader, type TarHeader } from '../../tar/header.ts';
import { encodeTarMember, tarEndOfArchive, tarPadding } from '../../tar/writer.ts';
import { compressionOfName } from '../compression/filter.ts';

export interface TarRebuildOptions {
  readonly recoveryConf: { readonly autoConfLines: string } | null;
  readonly injectManifest: boolean;
  readonly fileMode: number;
}

const AUTO_CONF = 'postgresql.auto.conf';
const STANDBY_SIGNAL = 'standby.signal';
const INJECTED_UID = 2048;
const INJECTED_GID = 1024;

export class TarRebuildSink extends ArchiveSink {
  readonly #options: TarRebuildOptions;
  readonly #recoveryBytes: Buffer | null;
  #reader: TarReader | null = null;
  #appendix: Buffer | null = null;
  #memberSize = 0;
  #isSkipping = false;
  #sawAutoConf = false;
  #isEndDeferred = false;
  #manifest: Buffer[] = [];

  constructor(next: ArchiveSink, options: TarRebuildOptions) {
    super(next);
    this.#options = options;
    this.#recoveryBytes = options.recoveryConf === null ? null : Buffer.from(options.recoveryConf.autoConfLines, 'utf8');
  }

  protected override async onBeginArchive(name: string, location: string): Promise<void> {
    if (location === '') {
      if (compressionOfName(name) !== null) {
        const what = this.#options.injectManifest ? 'manifest' : 'recovery configuration';
        throw new UsageError('OPTION_CONFLICT', `cannot inject ${what} into a compressed tar file`);
      }
      this.#reader = new TarReader({ keepHeaderBytes: true });
    }
    await this.next?.beginArchive(name, location);
  }

  protected override async onArchiveContents(chunk: Buffer): Promise<void> {
    if (this.#reader === null) {
      await this.next?.archiveContents(chunk);
      return;
    }
    const out: Buffer[] = [];
    for (const event of this.#reader.push(chunk)) this.#rebuild(event, out, event.type === 'member' ? this.#reader.shiftHeaderBytes() ?? null : null);
    for (const piece of out) await this.next?.archiveContents(piece);
  }

  protected override async onEndArchive(): Promise<void> {
    const reader = this.#reader;
    this.#reader = null;
    reader?.end();
    if (reader !== null && this.#options.injectManifest) {
      this.#isEndDeferred = true;
      return;
    }
    await this.next?.endArchive();
  }

  protected override async onBeginManifest(): Promise<void> {
    if (!this.#options.injectManifest) await this.next?.beginManifest();
  }

  protected override async onManifestContents(chunk: Buffer): Promise<void> {
    if (this.#options.injectManifest) this.#manifest.push(chunk);
    else await this.next?.manifestContents(chunk);
  }

  protected override async onEndManifest(): Promise<void> {
    if (!this.#options.injectManifest) {
      await this.next?.endManifest();
      return;
    }
    const content = Buffer.concat(this.#manifest);
    this.#manifest = [];
    await this.next?.archiveContents(encodeTarMember(this.#injected('backup_manifest'), content));
    await this.#closeDeferredArchive();
  }

  protected override async onEndBackup(info: Parameters<ArchiveSink['endBackup']>[0]): Promise<void> {
    await this.#closeDeferredArchive();
    await this.next?.endBackup(info);
  }

  protected override async onCleanup(): Promise<void> {
    this.#manifest = [];
    this.#reader = null;
  }

  async #closeDeferredArchive(): Promise<void> {
    if (!this.#isEndDeferred) return;
    this.#isEndDeferred = false;
    await this.next?.archiveContents(tarEndOfArchive());
    await this.next?.endArchive();
  }

  /** `rawHeader` is the member's original header block, passed through when the member is not changed. */
  #rebuild(event: TarEvent, out: Buffer[], rawHeader: Buffer | null): void {
    switch (event.type) {
      case 'member': {
        const { header } = event;
        const isFile = header.type === 'file';
        this.#isSkipping = this.#recoveryBytes !== null && isFile && header.name === STANDBY_SIGNAL;
        this.#appendix = this.#recoveryBytes !== null && isFile && header.name === AUTO_CONF ? this.#recoveryBytes : null;
        if (this.#appendix !== null) this.#sawAutoConf = true;
        this.#memberSize = header.size + (this.#appendix?.length ?? 0);
        if (this.#isSkipping) break;
        out.push(this.#appendix === null && rawHeader !== null ? rawHeader : encodeTarHeader({ ...header, size: this.#memberSize }));
        break;
      }
      case 'data':
        if (!this.#isSkipping) out.push(event.chunk);
        break;
      case 'member-end':
        if (this.#appendix !== null) out.push(this.#appendix);
        if (!this.#isSkipping) out.push(tarPadding(this.#memberSize));
        this.#appendix = null;
        this.#isSkipping = false;
        break;
      case 'archive-end':
        if (this.#recoveryBytes !== null) {
          if (!this.#sawAutoConf) out.push(encodeTarMember(this.#injected(AUTO_CONF), this.#recoveryBytes));
          out.push(encodeTarMember(this.#injected(STANDBY_SIGNAL)));
        }
        if (!this.#options.injectManifest) out.push(tarEndOfArchive());
        break;
    }
  }

  #injected(name: string): TarHeader {
    return {
      name, mode: this.#options.fileMode, uid: INJECTED_UID, gid: INJECTED_GID, size: 0,
      mtime: Math.floor(Date.now() / 1000), type: 'file', linkname: '',
    };
  }
}
