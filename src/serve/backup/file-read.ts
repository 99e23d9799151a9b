/**
 * One read pass over one file of an archive, with everything that is the same for every backup receiving it done
 * once: the read itself (large chunks, the next one already in flight), data-page checksum verification with
 * PostgreSQL's rules (new pages skipped, a failing block re-read once before it counts), and the manifest checksum
 * for each algorithm the receivers asked for. The per-backup part of the page rule (a page newer than that backup's
 * start LSN does not count) is left to the receiver: failures carry the page's LSN.
 *
 * Sizes follow PostgreSQL: exactly the size the walk saw is sent; bytes appended later are not read, and a file that
 * shrank (or vanished) is padded with zeros to that size; WAL replay repairs both.
 *
 * Resumable: `snapshot()` is what a backup that leaves a shared read in the middle of a file takes with it, so it can
 * finish the file alone (`FileRead.resume` with that state) and still get the right manifest checksum. The other way
 * round, a backup that joins in the middle of a file reads the part it missed alone (`start` with an `end`) and takes
 * the rest from the shared read, its checksum going on in a `JoinedRead`.
 *
 * Byte ownership: every chunk returned is a fresh buffer never written again (a re-read block is patched in before
 * the chunk is handed out), or a view of a frozen zero buffer.
 */
import { closeSync, openSync, readSync } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import { fsError } from '../../errors/index.ts';
import { displayPath, fsPath } from '../../manifest/byte-path.ts';
import { createDigester, type ChecksumAlgorithm, type Digester } from '../../manifest/checksum.ts';
import { findChecksumMismatches, PAGE_BYTES } from '../../util/page-checksum.ts';
import type { ArchiveEntry } from './archive-walk.ts';
import type { PageFailure } from './member-queue.ts';
import type { Throttle } from './throttle.ts';

/** Blocks per relation segment file (RELSEG_SIZE): page checksums mix in the block number within the relation. */
const RELSEG_BLOCKS = 131_072;
/** PostgreSQL reads 32 KiB at a time; its "could not verify" warning names that read, so we compute it the same way. */
const PG_READ_BYTES = 32_768;
/** Padding for a file that shrank while read; shared and read-only (never handed to anything that writes). */
const ZEROS = Buffer.alloc(1024 * 1024);
/**
 * Files up to this size are read whole, synchronously, when their pass starts. Most files of a data directory
 * are a few pages; through the thread pool each costs an open, a read and a close of a round trip each, which
 * profiling showed to be most of serve's time on them. Blocking the loop for one small read (as the walsender
 * blocks on every read) is cheaper; large files keep their asynchronous read-ahead.
 */
const SMALL_FILE_BYTES = 256 * 1024;

export interface ReadCounters {
  /** Bytes read from the files of the data directory and tablespaces, by every read pass. */
  dataBytesRead: number;
}

export interface FileReadOptions {
  readonly chunkBytes: number;
  readonly throttle: Throttle;
  readonly counters: ReadCounters;
}

export interface FileReadState {
  readonly offset: number;
  readonly digesters: ReadonlyMap<ChecksumAlgorithm, Digester>;
  readonly failures: readonly PageFailure[];
  readonly verifying: boolean;
  readonly unverifiable: string | null;
}

/** What a pass over a whole file ends with, for one backup's file-end. */
export interface FileReadResult {
  readonly digests: Map<ChecksumAlgorithm, string>;
  readonly failures: readonly PageFailure[];
  readonly unverifiable: string | null;
}

export class FileRead {
  readonly #entry: ArchiveEntry;
  readonly #handle: FileHandle | null;
  readonly #options: FileReadOptions;
  readonly #digesters: Map<ChecksumAlgorithm, Digester>;
  readonly #failures: PageFailure[];
  /** Where this pass stops: the file's size, or the shared read's offset for a backup catching up. */
  readonly #end: number;
  #offset: number;
  #verifying: boolean;
  #unverifiable: string | null;
  #ahead: Promise<Buffer> | null = null;
  #aheadOffset = -1;
  #isEof = false;
  /** A small file's bytes, read when the pass started; handed out by the first read. */
  #whole: Buffer | null;

  private constructor(entry: ArchiveEntry, handle: FileHandle | null, state: FileReadState, options: FileReadOptions,
    whole: Buffer | null = null, end = entry.stat.size) {
    this.#entry = entry;
    this.#end = end;
    this.#handle = handle;
    this.#whole = whole;
    this.#options = options;
    this.#offset = state.offset;
    this.#digesters = new Map(state.digesters);
    this.#failures = [...state.failures];
    this.#verifying = state.verifying;
    this.#unverifiable = state.unverifiable;
    this.#isEof = handle === null && whole === null;
  }

  /**
   * A fresh pass from offset 0 to `end` (the whole file unless given) for these algorithms; null when the file
   * vanished before anything was sent.
   */
  static async start(entry: ArchiveEntry, algorithms: Iterable<ChecksumAlgorithm>, verify: boolean,
    options: FileReadOptions, end = entry.stat.size): Promise<FileRead | null> {
    const digesters = new Map<ChecksumAlgorithm, Digester>();
    for (const algorithm of algorithms) if (algorithm !== 'NONE') digesters.set(algorithm, createDigester(algorithm));
    const state = { offset: 0, digesters, failures: [], verifying: verify && entry.checksumSegno !== null, unverifiable: null };
    if (end === entry.stat.size && entry.stat.size <= SMALL_FILE_BYTES) {
      await options.throttle.take(entry.stat.size);
      const whole = readWholeOrNull(entry);
      if (whole === null) return null;
      options.counters.dataBytesRead += whole.length;
      return new FileRead(entry, null, state, options, whole);
    }
    const handle = await openOrNull(entry);
    if (handle === null) return null;
    return new FileRead(entry, handle, state, options, null, end);
  }

  /** Continues a pass another reader began (the header is already sent, so a vanished file becomes zeros). */
  static async resume(entry: ArchiveEntry, state: FileReadState, options: FileReadOptions): Promise<FileRead> {
    return new FileRead(entry, await openOrNull(entry), state, options);
  }

  get offset(): number {
    return this.#offset;
  }

  /** The state a backup leaving now takes with it: its own digester for its algorithm, cloned. */
  snapshot(algorithm: ChecksumAlgorithm): FileReadState {
    const own = this.#digesters.get(algorithm);
    return {
      offset: this.#offset,
      digesters: own === undefined ? new Map() : new Map([[algorithm, own.clone()]]),
      failures: [...this.#failures],
      verifying: this.#verifying,
      unverifiable: this.#unverifiable,
    };
  }

  /** The next chunk of the file's bytes as sent (verified, digested), or null once the pass reached its end. */
  async next(): Promise<Buffer | null> {
    const end = this.#end;
    if (this.#offset >= end) return null;
    let chunk: Buffer;
    if (this.#isEof) {
      chunk = ZEROS.subarray(0, Math.min(ZEROS.length, end - this.#offset));
    } else {
      chunk = await this.#read();
      if (chunk.length === 0) {
        this.#isEof = true; // shrank under us: the rest is zeros
        return this.next();
      }
      if (this.#verifying) await this.#verify(chunk);
    }
    for (const digester of this.#digesters.values()) digester.update(chunk);
    this.#offset += chunk.length;
    return chunk;
  }

  /** Manifest checksums of the whole file, once `next()` returned null. */
  finish(): FileReadResult {
    return { digests: finishAll(this.#digesters), failures: this.#failures, unverifiable: this.#unverifiable };
  }

  async close(): Promise<void> {
    const ahead = this.#ahead;
    this.#ahead = null;
    await ahead?.catch(() => {});
    await this.#handle?.close().catch(() => {});
  }

  /** Reads at the current offset, keeping one read ahead in flight so the disk never waits for us. */
  async #read(): Promise<Buffer> {
    const whole = this.#whole;
    if (whole !== null) {
      this.#whole = null;
      return whole;
    }
    if (this.#handle === null) return ZEROS.subarray(0, 0); // a small file that was shorter than its size
    const end = this.#end;
    const ahead = this.#ahead;
    let chunk = ahead !== null && this.#aheadOffset === this.#offset ? await ahead : null;
    this.#ahead = null;
    if (chunk === null) {
      await ahead?.catch(() => {}); // a stale read-ahead after a short read: discard it
      chunk = await this.#issue(this.#offset);
    }
    const nextOffset = this.#offset + chunk.length;
    if (chunk.length > 0 && nextOffset < end) {
      this.#aheadOffset = nextOffset;
      this.#ahead = this.#issue(nextOffset);
      this.#ahead.catch(() => {}); // awaited (or discarded) by the next call
    }
    return chunk;
  }

  async #issue(offset: number): Promise<Buffer> {
    const length = Math.min(this.#options.chunkBytes, this.#end - offset);
    await this.#options.throttle.take(length);
    const buffer = Buffer.allocUnsafe(length);
    let filled = 0;
    try {
      while (filled < length) {
        const { bytesRead } = await (this.#handle as FileHandle).read(buffer, filled, length - filled, offset + filled);
        if (bytesRead === 0) break;
        filled += bytesRead;
      }
    } catch (error) {
      throw fsError('read file', displayPath(this.#entry.pgPath), error);
    }
    this.#options.counters.dataBytesRead += filled;
    return filled === length ? buffer : buffer.subarray(0, filled);
  }

  async #verify(chunk: Buffer): Promise<void> {
    if (chunk.length % PAGE_BYTES !== 0) {
      this.#verifying = false;
      this.#unverifiable = unverifiableWarning(this.#entry, this.#offset + chunk.length);
      return;
    }
    const segBase = (this.#entry.checksumSegno as number) * RELSEG_BLOCKS;
    const firstBlock = this.#offset / PAGE_BYTES;
    for (const check of findChecksumMismatches(chunk, 0, chunk.length, segBase + firstBlock)) {
      const at = (check.block - segBase - firstBlock) * PAGE_BYTES;
      const again = await this.#reread(this.#offset + at);
      if (again === null) continue; // truncated meanwhile: WAL replay restores it
      again.copy(chunk, at); // send what the second read saw, as PostgreSQL does
      const [still] = findChecksumMismatches(again, 0, PAGE_BYTES, check.block);
      if (still !== undefined) {
        this.#failures.push({ block: check.block - segBase, lsn: still.lsn, calculated: still.calculated, expected: still.expected });
      }
    }
  }

  async #reread(offset: number): Promise<Buffer | null> {
    const page = Buffer.allocUnsafe(PAGE_BYTES);
    try {
      const bytesRead = this.#handle === null
        ? readPageSync(this.#entry, page, offset)
        : (await this.#handle.read(page, 0, PAGE_BYTES, offset)).bytesRead;
      return bytesRead === PAGE_BYTES ? page : null;
    } catch (error) {
      throw fsError('read file', displayPath(this.#entry.pgPath), error);
    }
  }
}

/**
 * One backup's own account of a file it caught up on: it read the first part alone (the state is that private
 * pass's snapshot at its end) and takes the rest from a shared read. Its manifest checksum goes on over the shared
 * chunks; the shared read's page failures count for it only from where it joined, since before that point it has
 * bytes of its own, read at another moment.
 */
export class JoinedRead {
  readonly #joinedAt: number;
  readonly #digesters: ReadonlyMap<ChecksumAlgorithm, Digester>;
  readonly #failures: readonly PageFailure[];
  readonly #unverifiable: string | null;

  constructor(caughtUp: FileReadState) {
    this.#joinedAt = caughtUp.offset;
    this.#digesters = caughtUp.digesters;
    this.#failures = caughtUp.failures;
    this.#unverifiable = caughtUp.unverifiable;
  }

  /** A chunk of the shared read, taken when the shared read produced it (as its own digests are updated then). */
  take(chunk: Buffer): void {
    for (const digester of this.#digesters.values()) digester.update(chunk);
  }

  /** What this backup takes with it if it leaves the shared read now (`shared`: the shared read's snapshot). */
  snapshot(shared: FileReadState): FileReadState {
    const digesters = new Map<ChecksumAlgorithm, Digester>();
    for (const [algorithm, digester] of this.#digesters) digesters.set(algorithm, digester.clone());
    return { ...shared, digesters, failures: this.#merge(shared.failures), unverifiable: this.#unverifiable ?? shared.unverifiable };
  }

  /** Its checksums and failures for the whole file, once the shared read finished (`shared`: its finish()). */
  finish(shared: Pick<FileReadResult, 'failures' | 'unverifiable'>): FileReadResult {
    return { digests: finishAll(this.#digesters), failures: this.#merge(shared.failures), unverifiable: this.#unverifiable ?? shared.unverifiable };
  }

  #merge(shared: readonly PageFailure[]): PageFailure[] {
    return [...this.#failures, ...shared.filter((failure) => failure.block * PAGE_BYTES >= this.#joinedAt)];
  }
}

function finishAll(digesters: ReadonlyMap<ChecksumAlgorithm, Digester>): Map<ChecksumAlgorithm, string> {
  const digests = new Map<ChecksumAlgorithm, string>();
  for (const [algorithm, digester] of digesters) digests.set(algorithm, digester.finish());
  return digests;
}

/** A small file's bytes (fewer than its size if it shrank), or null when it vanished since the walk. */
function readWholeOrNull(entry: ArchiveEntry): Buffer | null {
  let fd: number;
  try {
    fd = openSync(fsPath(entry.path), 'r');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null; // removed since the walk: not sent
    throw fsError('open file', displayPath(entry.pgPath), error);
  }
  try {
    const buffer = Buffer.allocUnsafe(entry.stat.size);
    let filled = 0;
    while (filled < buffer.length) {
      const bytesRead = readSync(fd, buffer, filled, buffer.length - filled, filled);
      if (bytesRead === 0) break;
      filled += bytesRead;
    }
    return filled === buffer.length ? buffer : buffer.subarray(0, filled);
  } catch (error) {
    throw fsError('read file', displayPath(entry.pgPath), error);
  } finally {
    closeSync(fd);
  }
}

/** One page of a small file read again (its first read failed the checksum); 0 bytes when the file is gone. */
function readPageSync(entry: ArchiveEntry, page: Buffer, offset: number): number {
  let fd: number;
  try {
    fd = openSync(fsPath(entry.path), 'r');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return 0;
    throw error;
  }
  try {
    return readSync(fd, page, 0, PAGE_BYTES, offset);
  } finally {
    closeSync(fd);
  }
}

async function openOrNull(entry: ArchiveEntry): Promise<FileHandle | null> {
  try {
    return await open(fsPath(entry.path), 'r');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null; // removed since the walk: not sent
    throw fsError('open file', displayPath(entry.pgPath), error);
  }
}

/** PostgreSQL's warning for a relation file whose size is not a whole number of pages, naming its last 32 KiB read. */
function unverifiableWarning(entry: ArchiveEntry, endOffset: number): string {
  const lastReadStart = endOffset - (endOffset % PG_READ_BYTES === 0 ? PG_READ_BYTES : endOffset % PG_READ_BYTES);
  const block = Math.floor(lastReadStart / PAGE_BYTES);
  return `could not verify checksum in file "${displayPath(entry.pgPath)}", block ${block}: ` +
    `read buffer size ${endOffset - lastReadStart} and page size ${PAGE_BYTES} differ`;
}
