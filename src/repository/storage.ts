/**
 * Where a repository keeps its objects, behind a small interface so that object storage can be added without
 * touching the commands: put (atomic), get, list, delete, plus one handle for the object being written (the WAL
 * segment in progress, which must be durable before it is whole so that `archive --synchronous` can acknowledge a
 * commit). `LocalStorage` is the first implementation: a directory tree.
 *
 * Keys are relative paths of `/`-separated names of letters, digits, `.`, `_` and `-`, never starting with `.`:
 * names starting with `.` are this module's temporary files, invisible to list().
 *
 * Invariants (local): a reader never sees a half-written object. put() writes a temporary file in the same
 * directory, fsyncs it, renames it into place and fsyncs the directory, so after a crash the key holds the old
 * object or the new one, whole. An exclusive put and publish() use link(2) instead of rename, which refuses an
 * existing name atomically, so two processes racing to create one object cannot both win.
 *
 * Trees: a base backup is written by the backup pipeline, which needs a directory, so a tree of objects can be
 * written in place under a staging prefix (directoryFor, once its parent exists) and published whole by one moveTree: rename(2) of the
 * directory, atomic, refusing an existing target. Object storage would stage locally and upload in moveTree.
 */
import { randomBytes } from 'node:crypto';
import { constants as fsConstants, promises as fs } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { ConvoyError, fsError, invariant } from '../errors/index.ts';
import { fsCall, syncPath } from '../pipeline/destination/fs-helpers.ts';

export interface RepositoryStorage {
  /** For messages: where the repository is. */
  readonly location: string;
  /**
   * Stores `data` under `key` atomically. With `exclusive`, an existing object is left alone and false returned
   * (so a first writer can claim a key); otherwise an existing object is replaced.
   */
  put(key: string, data: Buffer, options?: { readonly exclusive?: boolean }): Promise<boolean>;
  /** The whole object, or null when there is none. */
  get(key: string): Promise<Buffer | null>;
  /** Names of the objects directly below `prefix` ('' for the top), sorted; [] when there are none. */
  list(prefix: string): Promise<string[]>;
  /** Removes the object; no error when it does not exist. */
  delete(key: string): Promise<void>;
  /**
   * The object `<key>.partial`, created empty if missing, to be written at any offset, made durable with sync()
   * and, once whole, published under `key` (never over a different object there: WAL_CONFLICT).
   */
  openPartial(key: string): Promise<PartialObject>;
  /** The directory where the tree under `prefix` may be written in place, by writers that need one (not created). */
  directoryFor(prefix: string): string;
  /** Moves the whole tree under `from` to `to` at once: readers see all of it under `to` or none. */
  moveTree(from: string, to: string): Promise<void>;
  /** Removes the tree under `prefix`; no error when there is none. */
  deleteTree(prefix: string): Promise<void>;
}

export interface PartialObject {
  /** Bytes the object held when it was opened. */
  readonly initialBytes: number;
  write(offset: number, data: Buffer): Promise<void>;
  /** Everything written so far survives a crash. */
  sync(): Promise<void>;
  /** sync, then make the object visible under its final key and drop the partial; the handle is closed after. */
  publish(): Promise<void>;
  /** Closes without publishing (what was written stays as the partial). */
  close(): Promise<void>;
}

const KEY_NAME = /^[A-Za-z0-9_-][A-Za-z0-9._-]*$/;
const FILE_MODE = 0o600;
const DIRECTORY_MODE = 0o700;

function checkKey(key: string, allowEmpty = false): string[] {
  const names = key === '' ? [] : key.split('/');
  invariant(allowEmpty || names.length > 0, 'empty repository key');
  for (const name of names) invariant(KEY_NAME.test(name), `invalid repository key "${key}"`);
  return names;
}

export class LocalStorage implements RepositoryStorage {
  readonly location: string;
  /** Directories known to exist and be durable, so each is created and fsynced once per process. */
  readonly #madeDirectories = new Set<string>();

  constructor(root: string) {
    this.location = root;
  }

  #path(key: string): string {
    return join(this.location, ...checkKey(key));
  }

  async put(key: string, data: Buffer, options: { readonly exclusive?: boolean } = {}): Promise<boolean> {
    const path = this.#path(key);
    const directory = dirname(path);
    await this.#makeDirectory(directory);
    const temporary = temporaryPath(path);
    try {
      await writeDurably(temporary, data);
      if (options.exclusive === true) {
        const isCreated = await linkExclusive(temporary, path);
        await removeFile(temporary);
        if (!isCreated) return false;
      } else {
        await fsCall('rename file', temporary, () => fs.rename(temporary, path));
      }
    } catch (error) {
      await fs.rm(temporary, { force: true }).catch(() => undefined);
      throw error;
    }
    await syncPath(directory);
    return true;
  }

  async get(key: string): Promise<Buffer | null> {
    const path = this.#path(key);
    try {
      return await fs.readFile(path);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw fsError('read file', path, error);
    }
  }

  async list(prefix: string): Promise<string[]> {
    const path = join(this.location, ...checkKey(prefix, true));
    let entries: string[];
    try {
      entries = await fs.readdir(path);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw fsError('open directory', path, error);
    }
    return entries.filter((name) => KEY_NAME.test(name)).sort();
  }

  async delete(key: string): Promise<void> {
    const path = this.#path(key);
    await fsCall('remove file', path, () => fs.rm(path, { force: true }));
    await syncPath(dirname(path));
  }

  async openPartial(key: string): Promise<PartialObject> {
    const path = this.#path(key);
    await this.#makeDirectory(dirname(path));
    const partialPath = `${path}.partial`;
    // Not 'a' mode: its writes all go to the end, and a restart rewrites the partial from its start.
    const handle = await fsCall('open file', partialPath,
      () => fs.open(partialPath, fsConstants.O_RDWR | fsConstants.O_CREAT, FILE_MODE));
    const { size } = await handle.stat();
    return new LocalPartialObject(handle, partialPath, path, size);
  }

  directoryFor(prefix: string): string {
    return this.#path(prefix);
  }

  async moveTree(from: string, to: string): Promise<void> {
    const fromPath = this.#path(from);
    const toPath = this.#path(to);
    await this.#makeDirectory(dirname(toPath));
    // rename(2) replaces an empty directory silently; a unique key per tree is the caller's rule, checked here.
    const isTaken = await fs.stat(toPath).then(() => true, () => false);
    invariant(!isTaken, `repository tree "${to}" already exists`);
    await fsCall('rename directory', fromPath, () => fs.rename(fromPath, toPath));
    await syncPath(dirname(toPath));
    await syncPath(dirname(fromPath));
  }

  async deleteTree(prefix: string): Promise<void> {
    const path = this.#path(prefix);
    await fsCall('remove directory', path, () => fs.rm(path, { recursive: true, force: true }));
    await syncPath(dirname(path)).catch(() => undefined);
  }

  /** mkdir -p with the repository's mode; new directories are fsynced into their parents. */
  async #makeDirectory(directory: string): Promise<void> {
    if (this.#madeDirectories.has(directory)) return;
    const parent = dirname(directory);
    if (parent !== directory && directory !== this.location) await this.#makeDirectory(parent);
    try {
      await fs.mkdir(directory, { mode: DIRECTORY_MODE });
      await syncPath(parent);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw fsError('create directory', directory, error);
    }
    this.#madeDirectories.add(directory);
  }
}

class LocalPartialObject implements PartialObject {
  readonly initialBytes: number;
  readonly #handle: FileHandle;
  readonly #path: string;
  readonly #finalPath: string;

  constructor(handle: FileHandle, path: string, finalPath: string, initialBytes: number) {
    this.#handle = handle;
    this.#path = path;
    this.#finalPath = finalPath;
    this.initialBytes = initialBytes;
  }

  async write(offset: number, data: Buffer): Promise<void> {
    let done = 0;
    while (done < data.length) {
      const { bytesWritten } = await fsCall('write to file', this.#path,
        () => this.#handle.write(data, done, data.length - done, offset + done));
      done += bytesWritten;
    }
  }

  async sync(): Promise<void> {
    await fsCall('fsync', this.#path, () => this.#handle.sync());
  }

  async publish(): Promise<void> {
    try {
      await this.sync();
    } finally {
      await this.close();
    }
    if (!(await linkExclusive(this.#path, this.#finalPath))) {
      // Published before (a restart re-received it): identical bytes are the same object, different ones a conflict.
      const [ours, theirs] = await Promise.all([fs.readFile(this.#path), fs.readFile(this.#finalPath)]);
      if (!ours.equals(theirs)) {
        throw new ConvoyError('WAL_CONFLICT', `"${this.#finalPath}" already exists with different contents`, {
          hint: 'The repository holds WAL of another history for this segment; the received copy is kept as the .partial file.',
        });
      }
    }
    await removeFile(this.#path);
    await syncPath(dirname(this.#finalPath));
  }

  async close(): Promise<void> {
    await fsCall('close file', this.#path, () => this.#handle.close());
  }
}

function temporaryPath(path: string): string {
  return join(dirname(path), `.${path.slice(dirname(path).length + 1)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
}

async function writeDurably(path: string, data: Buffer): Promise<void> {
  const handle = await fsCall('create file', path, () => fs.open(path, 'wx', FILE_MODE));
  try {
    await fsCall('write to file', path, () => handle.writeFile(data));
    await fsCall('fsync', path, () => handle.sync());
  } finally {
    await handle.close();
  }
}

/** link(2): false when `to` exists. */
async function linkExclusive(from: string, to: string): Promise<boolean> {
  try {
    await fs.link(from, to);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw fsError('link file', to, error);
  }
}

async function removeFile(path: string): Promise<void> {
  await fsCall('remove file', path, () => fs.rm(path, { force: true }));
}
