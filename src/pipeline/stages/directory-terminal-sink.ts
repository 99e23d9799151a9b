/**
 * DirectoryTerminalSink: what every terminal stage writing into a target directory shares. The destination's
 * state prepares the directories at beginBackup, receives backup_manifest.tmp, and at endBackup renames it into
 * place once the archives and the WAL are complete; cleanup undoes or marks what was written. Subclasses handle
 * the archives (extract them, or store them as files) and release their own resources in releaseOnCleanup.
 */
import { ArchiveSink, type BackupEndInfo, type BackupStartInfo } from '../archive-sink.ts';
import type { DestinationState } from '../destination/destination-state.ts';

export abstract class DirectoryTerminalSink extends ArchiveSink {
  protected readonly state: DestinationState;

  constructor(state: DestinationState) {
    super(null);
    this.state = state;
  }

  /** Abandon files in progress; called before the state removes or marks the destination. */
  protected abstract releaseOnCleanup(): Promise<void>;

  protected override async onBeginBackup(info: BackupStartInfo): Promise<void> {
    await this.state.prepare(info);
  }

  protected override async onBeginManifest(): Promise<void> {
    await this.state.beginManifest();
  }

  protected override async onManifestContents(chunk: Buffer): Promise<void> {
    await this.state.manifestContents(chunk);
  }

  protected override async onEndManifest(): Promise<void> {
    await this.state.endManifest();
  }

  protected override async onEndBackup(_info: BackupEndInfo): Promise<void> {
    await this.state.archiveDone();
  }

  protected override async onCleanup(error: unknown): Promise<void> {
    await this.releaseOnCleanup();
    await this.state.cleanup(error);
  }
}
