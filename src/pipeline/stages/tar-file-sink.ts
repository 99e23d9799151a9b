/**
 * TarFileSink: the terminal stage of a tar-format destination writing into a directory. Each archive is written as
 * received (after any client compression) to <dir>/<name>, plus backup_manifest.tmp. Archive names come from the
 * server through the client, which already refused unsafe ones; a name with a '/' is refused here too, since it
 * would place a file outside the directory.
 */
import { join } from 'node:path';
import { ProtocolError } from '../../errors/index.ts';
import { DirectoryTerminalSink } from './directory-terminal-sink.ts';
import type { FileOutput } from '../destination/file-output.ts';

export class TarFileSink extends DirectoryTerminalSink {
  #file: FileOutput | null = null;

  protected override async onBeginArchive(name: string): Promise<void> {
    if (name === '' || name.startsWith('.') || name.includes('/') || name.includes('\\')) {
      throw new ProtocolError('INVALID_ARCHIVE_NAME', `invalid archive name "${name}"`);
    }
    this.#file = await this.state.createFile(join(this.state.dir, name));
  }

  protected override async onArchiveContents(chunk: Buffer): Promise<void> {
    await this.#file?.write(chunk);
  }

  protected override async onEndArchive(): Promise<void> {
    const file = this.#file;
    this.#file = null;
    await file?.close();
  }

  protected override async releaseOnCleanup(): Promise<void> {
    await this.#file?.abandon();
    this.#file = null;
  }
}
