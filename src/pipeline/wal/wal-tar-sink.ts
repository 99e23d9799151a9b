/**
 * WalTarSink: streamed WAL of a tar-format destination, as pg_basebackup writes it: <dir>/pg_wal.tar (pg_wal.tar.gz
 * only with client gzip; lz4/zstd client compression leave it uncompressed), members '<seg>' of full segment size
 * (a partial last segment zero-padded), 'archive_status/<seg>.done' after each completed segment, history files with
 * their .done markers. Members: mode from the data directory mode, uid/gid 0, mtime now.
 *
 * A tar is sequential, so WAL within a segment must only move forward (gaps are zero-filled). A history file that
 * arrives while a segment member is open is queued until that member is closed.
 *
 * With sync on, once a segment's member (and its .done marker) is written, gzip is sync-flushed so the file holds all
 * of it, the file is fsynced (and the directory once, for its entry), and only then does flushedLsn reach the
 * segment's end: the server may release WAL up to the flush position we report.
 */
import { join } from 'node:path';
import { InternalError } from '../../errors/index.ts';
import { encodeTarHeader, type TarHeader } from '../../tar/header.ts';
import { encodeTarMember, tarEndOfArchive } from '../../tar/writer.ts';
import { walFileName, type Lsn } from '../../util/lsn.ts';
import type { WalSink } from '../wal-sink.ts';
import type { FlushableFilter } from '../compression/filter.ts';
import { createGzipFilter } from '../compression/zlib-filter.ts';
import type { DestinationState } from '../destination/destination-state.ts';
import type { FileOutput } from '../destination/file-output.ts';
import { syncPath } from '../destination/fs-helpers.ts';
import { checkHistoryFileName, doneMarkerName, segmentPieces } from './wal-file-names.ts';

const ZEROS = Buffer.alloc(1024 * 1024); // only ever read: written to files and fed to gzip

interface OpenMember {
  readonly tli: number;
  readonly segno: bigint;
  readonly name: string;
  written: number;
}

export class WalTarSink implements WalSink {
  readonly #state: DestinationState;
  readonly #gzipLevel: number | undefined | null;
  #file: FileOutput | null = null;
  #filter: FlushableFilter | null = null;
  #member: OpenMember | null = null;
  #queued: Buffer[] = [];
  #isFinished = false;
  #flushedLsn: Lsn = 0n;
  #isFileEntryDurable = false;
  readonly #toFile = async (chunk: Buffer): Promise<void> => {
    await this.#file?.write(chunk);
  };

  /** `gzipLevel`: null for an uncompressed pg_wal.tar, undefined for gzip's default level. */
  constructor(state: DestinationState, gzipLevel: number | undefined | null) {
    this.#state = state;
    this.#gzipLevel = gzipLevel;
  }

  get flushedLsn(): Lsn {
    return this.#flushedLsn;
  }

  async writeWal(tli: number, dataStart: Lsn, data: Buffer): Promise<void> {
    this.#state.assertUsable();
    const segmentBytes = this.#state.start.walSegmentBytes;
    for (const piece of segmentPieces(dataStart, data, segmentBytes)) {
      let member = this.#member;
      if (member === null || member.tli !== tli || member.segno !== piece.segno) {
        await this.#closeMember(segmentBytes);
        member = await this.#openMember(tli, piece.segno, segmentBytes);
      }
      if (piece.offset < member.written) throw new InternalError('INTERNAL_ASSERTION', `WAL for segment "${member.name}" went backwards`);
      await this.#zeros(piece.offset - member.written);
      await this.#emit(piece.bytes);
      member.written = piece.offset + piece.bytes.length;
      if (piece.isSegmentEnd) await this.#closeMember(segmentBytes);
    }
  }

  async writeHistory(filename: string, content: Buffer): Promise<void> {
    this.#state.assertUsable();
    checkHistoryFileName(filename);
    const members = Buffer.concat([encodeTarMember(this.#header(filename, 0), content), encodeTarMember(this.#header(doneMarkerName(filename), 0))]);
    if (this.#member !== null) this.#queued.push(members);
    else await this.#emit(members);
  }

  async finish(): Promise<void> {
    this.#state.assertUsable();
    await this.#closeMember(this.#state.start.walSegmentBytes);
    await this.#emit(tarEndOfArchive());
    await this.#filter?.end(this.#toFile);
    this.#filter = null;
    await this.#file?.close();
    this.#file = null;
    this.#isFinished = true;
    await this.#state.walDone();
  }

  async cleanup(error?: unknown): Promise<void> {
    this.#filter?.destroy();
    this.#filter = null;
    await this.#file?.abandon();
    this.#file = null;
    const failure = error ?? (this.#isFinished ? undefined : new InternalError('STAGE_ORDER_VIOLATION', 'WAL streaming did not finish'));
    await this.#state.cleanup(failure);
  }

  async #openMember(tli: number, segno: bigint, segmentBytes: number): Promise<OpenMember> {
    const name = walFileName(tli, segno, segmentBytes);
    await this.#emit(encodeTarHeader(this.#header(name, segmentBytes)));
    this.#member = { tli, segno, name, written: 0 };
    return this.#member;
  }

  async #closeMember(segmentBytes: number): Promise<void> {
    const member = this.#member;
    if (member === null) return;
    const isComplete = member.written === segmentBytes;
    await this.#zeros(segmentBytes - member.written); // segment sizes are multiples of 512: no tar padding
    this.#member = null;
    if (isComplete) await this.#emit(encodeTarMember(this.#header(doneMarkerName(member.name), 0)));
    const queued = this.#queued;
    this.#queued = [];
    for (const members of queued) await this.#emit(members);
    if (isComplete && this.#state.options.sync) await this.#makeDurable((member.segno + 1n) * BigInt(segmentBytes));
  }

  /** Everything emitted so far onto disk; WAL before `endLsn` is then durable. */
  async #makeDurable(endLsn: Lsn): Promise<void> {
    await this.#filter?.flush(this.#toFile);
    await this.#file?.sync();
    if (!this.#isFileEntryDurable) {
      await syncPath(this.#state.dir);
      this.#isFileEntryDurable = true;
    }
    this.#flushedLsn = endLsn;
  }

  async #zeros(count: number): Promise<void> {
    for (let left = count; left > 0; left -= ZEROS.length) await this.#emit(ZEROS.subarray(0, Math.min(left, ZEROS.length)));
  }

  async #emit(bytes: Buffer): Promise<void> {
    if (this.#file === null) {
      const name = this.#gzipLevel === null ? 'pg_wal.tar' : 'pg_wal.tar.gz';
      this.#file = await this.#state.createFile(join(this.#state.dir, name));
      if (this.#gzipLevel !== null) this.#filter = createGzipFilter(this.#gzipLevel);
    }
    if (this.#filter !== null) await this.#filter.write(bytes, this.#toFile);
    else await this.#file.write(bytes);
  }

  #header(name: string, size: number): TarHeader {
    return { name, mode: this.#state.fileMode, uid: 0, gid: 0, size, mtime: Math.floor(Date.now() / 1000), type: 'file', linkname: '' };
  }
}
