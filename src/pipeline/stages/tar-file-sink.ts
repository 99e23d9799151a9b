/**
 * TarFileSink: the terminal stage of a tar-format destination writing into a directory. Each archive is written as
 * received (after any client compression) to <dir>/<name>, plus backup_manifest.tmp. Archive names come from the
 * server through the client, which already refused unsafe ones; a name with a '/' is refused here too, since it
 * would place a file outside the directory.
 */
import { join } from 'node:path';
import { ArchiveSink, type BackupEndInfo, type BackupStartInfo } from '../archive-sink.ts';
import { ProtocolError } from '../../errors/index.ts';
import type { DestinationState } from '../destination/destination-state.ts';
import { FileOutput } from '../destination/file-output.ts';

export class TarFileSink extends ArchiveSink {
  readonly #state: DestinationState;
  #file: FileOutput | null = null;

  constructor(state: DestinationState) {
    super(null);
    this.#state = state;
  }

  protected override async onBeginBackup(info: BackupStartInfo): Promise<void> {
    await this.#state.prepare(info);
  }

  protected override async onBeginArchive(name: string): Promise<void> {
    if (name === '' || name.startsWith('.') || name.includes('/') || name.includes('\\')) {
      throw new ProtocolError('INVALID_ARCHIVE_NAME', `invalid archive name "${name}"`);
    }
    this.#file = await FileOutput.create(join(this.#state.dir, name), this.#state.fileMode);
  }

  protected override async onArchiveContents(chunk: Buffer): Promise<void> {
    await this.#file?.write(chunk);
  }

  protected override async onEndArchive(): Promise<void> {
    const file = this.#file;
    this.#file = null;
    await file?.close();
  }

  protected override async onBeginManifest(): Promise<void> {
    await this.#state.beginManifest();
  }

  protected override async onManifestContents(chunk: Buffer): Promise<void> {
    await this.#state.manifestContents(chunk);
  }

  protected override async onEndManifest(): Promise<void> {
    await this.#state.endManifest();
  }

  protected override async onEndBackup(_info: BackupEndInfo): Promise<void> {
    await this.#state.archiveDone();
  }

  protected override async onCleanup(error: unknown): Promise<void> {
    await this.#file?.abandon();
    this.#file = null;
    await this.#state.cleanup(error);
  }
}
