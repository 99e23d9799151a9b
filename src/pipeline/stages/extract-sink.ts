/**
 * ExtractSink: the terminal stage of a plain-format destination. Parses each (already decompressed) tar archive and
 * writes its members: base.tar into the data directory, <oid>.tar into the tablespace's location or its -T mapping,
 * pg_tblspc/<oid> symlinks pointed at the mapped location. Also writes backup_manifest.tmp, and the -R files once
 * base.tar is extracted (postgresql.auto.conf appended, empty standby.signal).
 *
 * Modes come from the data directory mode (directories 0700/0750, files 0600/0640), not from the archive, as
 * pg_basebackup does. Paths are built from the member's exact name bytes. Names were made safe by the tar reader;
 * this stage adds the other half of extraction safety: nothing is written through a symlink an archive created.
 * Small files are collected (by reference) and written in the background, a bounded number at a time (TaskQueue);
 * large files stream through FileOutput (batched writes) and are closed in the background.
 * Directories and symlinks are created inline, so they exist before anything is written below them.
 */
import { promises as fs } from 'node:fs';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { ProtocolError, TarError } from '../../errors/index.ts';
import { TarReader, type TarEvent } from '../../tar/reader.ts';
import type { TarHeader } from '../../tar/header.ts';
import { DirectoryTerminalSink } from './directory-terminal-sink.ts';
import type { FileOutput } from '../destination/file-output.ts';
import { fsCall, makeDirectory } from '../destination/fs-helpers.ts';
import { TaskQueue } from '../destination/task-queue.ts';

/** Files up to this size are written in one go in the background. */
const SMALL_FILE_BYTES = 256 * 1024;
const BACKGROUND_TASKS = 8;

export class ExtractSink extends DirectoryTerminalSink {
  #reader: TarReader | null = null;
  #root = Buffer.alloc(0);
  #isBase = false;
  #file: FileOutput | null = null;
  #small: { path: Buffer; chunks: Buffer[] } | null = null;
  #symlinks = new Set<string>();
  readonly #tasks = new TaskQueue(BACKGROUND_TASKS);

  protected override async onBeginArchive(name: string, location: string): Promise<void> {
    if (!name.endsWith('.tar')) throw new ProtocolError('INVALID_ARCHIVE_NAME', `cannot parse archive "${name}"`);
    this.#isBase = location === '';
    const root = this.#isBase ? this.state.dir : this.state.tablespaceTarget(location);
    if (!isAbsolute(location) && !this.#isBase) {
      await fsCall('create directory', root, () => fs.mkdir(root, { recursive: true, mode: this.state.dirMode }));
    }
    this.#root = Buffer.from(`${resolve(root)}/`);
    this.#reader = new TarReader();
    this.#symlinks = new Set();
  }

  protected override async onArchiveContents(chunk: Buffer): Promise<void> {
    const reader = this.#reader as TarReader;
    for (const event of reader.push(chunk)) await this.#apply(event);
  }

  protected override async onEndArchive(): Promise<void> {
    this.#reader?.end();
    this.#reader = null;
    await this.#tasks.drain();
    if (this.#isBase && this.state.options.recoveryConf !== null) await this.#writeRecoveryConf(this.state.options.recoveryConf.autoConfLines);
  }

  protected override async releaseOnCleanup(): Promise<void> {
    await this.#tasks.settle();
    await this.#file?.abandon();
    this.#file = null;
    this.#small = null;
  }

  async #apply(event: TarEvent): Promise<void> {
    switch (event.type) {
      case 'member':
        await this.#beginMember(event.header);
        break;
      case 'data':
        if (this.#small !== null) this.#small.chunks.push(event.chunk);
        else await this.#file?.write(event.chunk);
        break;
      case 'member-end': {
        const file = this.#file;
        const small = this.#small;
        this.#file = null;
        this.#small = null;
        // run() refuses new work once a background task failed; the file is ours to close then.
        if (file !== null) await this.#tasks.run(() => file.close()).catch(async (error: unknown) => {
          await file.abandon();
          throw error;
        });
        if (small !== null) await this.#tasks.run(() => this.#writeSmallFile(small.path, small.chunks));
        break;
      }
      case 'archive-end':
        break;
    }
  }

  async #beginMember(header: TarHeader): Promise<void> {
    this.#refuseThroughSymlink(header.name);
    const path = Buffer.concat([this.#root, header.nameBytes ?? Buffer.from(header.name)]);
    if (header.type === 'directory') {
      await makeDirectory(path, this.state.dirMode);
    } else if (header.type === 'symlink') {
      const target = isAbsolute(header.linkname) ? this.state.tablespaceTarget(header.linkname) : header.linkname;
      await fsCall('create symbolic link', path, () => fs.symlink(target, path));
      this.#symlinks.add(header.name);
    } else if (header.size <= SMALL_FILE_BYTES) {
      this.#small = { path, chunks: [] };
    } else {
      this.#file = await this.#createFile(path);
    }
  }

  async #writeSmallFile(path: Buffer, chunks: Buffer[]): Promise<void> {
    const file = await this.#createFile(path);
    try {
      for (const chunk of chunks) await file.write(chunk);
      await file.close();
    } catch (error) {
      await file.abandon();
      throw error;
    }
  }

  async #createFile(path: Buffer): Promise<FileOutput> {
    try {
      return await this.state.createFile(path);
    } catch (error) {
      // Archives from PostgreSQL list directories before their contents; tolerate others that do not.
      if ((error as { errno?: string }).errno !== 'ENOENT') throw error;
      const parent = dirname(path.toString('latin1'));
      await fsCall('create directory', parent, () => fs.mkdir(Buffer.from(parent, 'latin1'), { recursive: true, mode: this.state.dirMode }));
      return await this.state.createFile(path);
    }
  }

  /** A member at or below a symlink this archive created would be written outside the target directory. */
  #refuseThroughSymlink(name: string): void {
    if (this.#symlinks.size === 0) return;
    for (let at = name.indexOf('/'); ; at = name.indexOf('/', at + 1)) {
      const prefix = at === -1 ? name : name.slice(0, at);
      if (this.#symlinks.has(prefix)) {
        throw new TarError('TAR_UNSAFE_PATH', `tar member "${name}" would be written through symbolic link "${prefix}"`);
      }
      if (at === -1) return;
    }
  }

  async #writeRecoveryConf(autoConfLines: string): Promise<void> {
    const dir = this.state.dir;
    const mode = this.state.fileMode;
    const autoConf = join(dir, 'postgresql.auto.conf');
    await fsCall('write file', autoConf, () => fs.appendFile(autoConf, autoConfLines, { mode }));
    const signal = join(dir, 'standby.signal');
    await fsCall('write file', signal, () => fs.writeFile(signal, '', { mode }));
  }
}
