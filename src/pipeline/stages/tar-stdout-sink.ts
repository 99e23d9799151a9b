/**
 * TarStdoutSink: the terminal stage for '-D -'. Writes the single archive to a stream (process.stdout by default),
 * awaiting 'drain' for backpressure and each write's completion at the end. The manifest, when there is one, was
 * injected into the archive upstream (TarRebuildSink), so manifest hooks here only refuse to be used.
 */
import type { Writable } from 'node:stream';
import { ArchiveSink, type BackupEndInfo, type BackupStartInfo } from '../archive-sink.ts';
import { InternalError, UsageError, fsError } from '../../errors/index.ts';
import type { DestinationState } from '../destination/destination-state.ts';

export class TarStdoutSink extends ArchiveSink {
  readonly #state: DestinationState;
  readonly #stream: Writable;
  #archives = 0;
  #failure: unknown = null;
  #lastWrite: Promise<void> = Promise.resolve();

  constructor(state: DestinationState, stream: Writable) {
    super(null);
    this.#state = state;
    this.#stream = stream;
  }

  protected override async onBeginBackup(info: BackupStartInfo): Promise<void> {
    await this.#state.prepare(info);
    this.#stream.on('error', (error) => {
      this.#failure ??= fsError('write to', 'standard output', error);
    });
  }

  protected override async onBeginArchive(name: string): Promise<void> {
    if (++this.#archives > 1) throw new UsageError('OPTION_CONFLICT', `can only write single tablespace to stdout, got archive "${name}" too`);
  }

  protected override async onArchiveContents(chunk: Buffer): Promise<void> {
    this.#throwIfFailed();
    let done!: () => void;
    this.#lastWrite = new Promise<void>((resolve) => {
      done = resolve;
    });
    const hasRoom = this.#stream.write(chunk, (error) => {
      if (error) this.#failure ??= fsError('write to', 'standard output', error);
      done();
    });
    if (!hasRoom) await this.#drained();
    this.#throwIfFailed();
  }

  protected override async onEndArchive(): Promise<void> {
    await this.#lastWrite;
    this.#throwIfFailed();
  }

  protected override async onBeginManifest(): Promise<void> {
    throw new InternalError('STAGE_ORDER_VIOLATION', 'the manifest must be injected into the archive written to stdout');
  }

  protected override async onEndBackup(_info: BackupEndInfo): Promise<void> {
    await this.#lastWrite;
    this.#throwIfFailed();
    await this.#state.archiveDone();
  }

  protected override async onCleanup(error: unknown): Promise<void> {
    await this.#state.cleanup(error);
  }

  #drained(): Promise<void> {
    return new Promise((resolve) => {
      const finish = (): void => {
        this.#stream.off('drain', finish);
        this.#stream.off('error', finish);
        this.#stream.off('close', finish);
        resolve();
      };
      this.#stream.on('drain', finish);
      this.#stream.on('error', finish);
      this.#stream.on('close', finish);
    });
  }

  #throwIfFailed(): void {
    if (this.#failure !== null) throw this.#failure;
  }
}
