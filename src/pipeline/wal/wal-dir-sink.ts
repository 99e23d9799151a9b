/**
 * WalDirSink: streamed WAL of a plain-format destination, written as pg_basebackup does into <dir>/pg_wal: each
 * segment full-size under its normal name (pre-sized, so the last, partial one is zero-padded), archive_status/
 * <seg>.done once a segment is complete, timeline history files with their .done marker too.
 *
 * pg_wal/archive_status was created by the destination's beginBackup, which must therefore come first (the segment
 * size is known from it as well). Writes within a segment are positional and batched by FileOutput.
 *
 * With sync on, a completed segment is fsynced, then pg_wal (its directory entry), before flushedLsn moves to its
 * end: the server may release WAL up to the flush position we report, so it must never name WAL a crash could lose.
 */
import { join } from 'node:path';
import { InternalError } from '../../errors/index.ts';
import { walFileName, type Lsn } from '../../util/lsn.ts';
import { syncPath } from '../destination/fs-helpers.ts';
import type { WalSink } from '../wal-sink.ts';
import type { DestinationState } from '../destination/destination-state.ts';
import type { FileOutput } from '../destination/file-output.ts';
import { checkHistoryFileName, doneMarkerName, segmentPieces } from './wal-file-names.ts';

interface OpenSegment {
  readonly tli: number;
  readonly segno: bigint;
  readonly name: string;
  readonly file: FileOutput;
}

export class WalDirSink implements WalSink {
  readonly #state: DestinationState;
  #segment: OpenSegment | null = null;
  #isFinished = false;
  #flushedLsn: Lsn = 0n;

  constructor(state: DestinationState) {
    this.#state = state;
  }

  get flushedLsn(): Lsn {
    return this.#flushedLsn;
  }

  get #walDir(): string {
    return join(this.#state.dir, 'pg_wal');
  }

  async writeWal(tli: number, dataStart: Lsn, data: Buffer): Promise<void> {
    this.#state.assertUsable();
    const segmentBytes = this.#state.start.walSegmentBytes;
    for (const piece of segmentPieces(dataStart, data, segmentBytes)) {
      let segment = this.#segment;
      if (segment === null || segment.tli !== tli || segment.segno !== piece.segno) {
        await this.#closeSegment(false);
        segment = await this.#openSegment(tli, piece.segno, segmentBytes);
      }
      await segment.file.seek(piece.offset);
      await segment.file.write(piece.bytes);
      if (piece.isSegmentEnd) await this.#closeSegment(true);
    }
  }

  async writeHistory(filename: string, content: Buffer): Promise<void> {
    this.#state.assertUsable();
    checkHistoryFileName(filename);
    const file = await this.#state.createFile(join(this.#walDir, filename));
    await file.write(content);
    await file.close();
    await this.#markDone(filename);
  }

  async finish(): Promise<void> {
    this.#state.assertUsable();
    await this.#closeSegment(false);
    this.#isFinished = true;
    await this.#state.walDone();
  }

  async cleanup(error?: unknown): Promise<void> {
    await this.#segment?.file.abandon();
    this.#segment = null;
    const failure = error ?? (this.#isFinished ? undefined : new InternalError('STAGE_ORDER_VIOLATION', 'WAL streaming did not finish'));
    await this.#state.cleanup(failure);
  }

  async #openSegment(tli: number, segno: bigint, segmentBytes: number): Promise<OpenSegment> {
    const name = walFileName(tli, segno, segmentBytes);
    const file = await this.#state.createFile(join(this.#walDir, name));
    await file.truncate(segmentBytes);
    this.#segment = { tli, segno, name, file };
    return this.#segment;
  }

  async #closeSegment(isComplete: boolean): Promise<void> {
    const segment = this.#segment;
    if (segment === null) return;
    const isDurable = isComplete && this.#state.options.sync;
    if (isDurable) await segment.file.sync(); // if this fails the segment is still ours, for cleanup() to close
    this.#segment = null;
    await segment.file.close();
    if (isComplete) await this.#markDone(segment.name);
    if (isDurable) {
      await syncPath(this.#walDir);
      this.#flushedLsn = (segment.segno + 1n) * BigInt(this.#state.start.walSegmentBytes);
    }
  }

  async #markDone(name: string): Promise<void> {
    const marker = await this.#state.createFile(join(this.#walDir, doneMarkerName(name)));
    await marker.close();
  }
}
