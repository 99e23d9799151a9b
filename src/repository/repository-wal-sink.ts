/**
 * The WalSink of `pgconvoy archive`: streamed WAL into the repository's `wal/`, as a continuous archive keeps it.
 * The segment being received is `<segment>.partial`; once its last byte is written it is fsynced and published
 * under its name (storage.ts: link, so never over a different segment), or compressed if asked (wal-objects.ts).
 * History files are stored whole, and one that contradicts a stored one is refused rather than replaced.
 *
 * Durability, which is what the server is told (`flushedLsn`): without `synchronous` a segment becomes durable as
 * it completes, so the flush position advances a segment at a time, as pg_receivewal's does. With `synchronous`
 * every write is fsynced before the next message is read, and the flush position follows each write: the server
 * may count a commit as safe at that position (synchronous_standby_names), so it must be on disk here.
 *
 * A restart receives the partial segment again from its start (wal-catalog.ts) and writes over the same bytes.
 */
import { ConvoyError } from '../errors/index.ts';
import { checkHistoryFileName, segmentPieces } from '../pipeline/wal/wal-file-names.ts';
import type { WalSink } from '../pipeline/wal-sink.ts';
import { walFileName, type Lsn } from '../util/lsn.ts';
import type { PartialObject, RepositoryStorage } from './storage.ts';
import { WAL_PREFIX } from './wal-catalog.ts';
import { publishCompressed, type WalCompression } from './wal-objects.ts';

interface OpenSegment {
  readonly tli: number;
  readonly segno: bigint;
  readonly object: PartialObject;
  /** LSN after the last byte written to it. */
  endLsn: Lsn;
}

export interface RepositoryWalSinkOptions {
  readonly segmentBytes: number;
  readonly synchronous: boolean;
  /** WAL before this is already in the repository (where streaming resumes). */
  readonly durableLsn: Lsn;
  /** Completed segments are stored compressed (wal-objects.ts); without it, as they are. */
  readonly compression?: WalCompression;
  /** Told of each segment published, for the log. */
  readonly onSegment?: (name: string) => void;
}

export class RepositoryWalSink implements WalSink {
  readonly #storage: RepositoryStorage;
  readonly #options: RepositoryWalSinkOptions;
  #segment: OpenSegment | null = null;
  #flushedLsn: Lsn;

  constructor(storage: RepositoryStorage, options: RepositoryWalSinkOptions) {
    this.#storage = storage;
    this.#options = options;
    this.#flushedLsn = options.durableLsn;
  }

  get flushedLsn(): Lsn {
    return this.#flushedLsn;
  }

  async writeWal(tli: number, dataStart: Lsn, data: Buffer): Promise<void> {
    const { segmentBytes } = this.#options;
    for (const piece of segmentPieces(dataStart, data, segmentBytes)) {
      let segment = this.#segment;
      if (segment === null || segment.tli !== tli || segment.segno !== piece.segno) {
        await this.#closeSegment();
        const name = walFileName(tli, piece.segno, segmentBytes);
        segment = { tli, segno: piece.segno, object: await this.#storage.openPartial(`${WAL_PREFIX}/${name}`), endLsn: 0n };
        this.#segment = segment;
      }
      await segment.object.write(piece.offset, piece.bytes);
      segment.endLsn = piece.segno * BigInt(segmentBytes) + BigInt(piece.offset + piece.bytes.length);
      if (piece.isSegmentEnd) {
        this.#segment = null;
        if (this.#options.compression === undefined) {
          await segment.object.publish();
        } else {
          await segment.object.sync();
          await segment.object.close();
          await publishCompressed(this.#storage, walFileName(tli, piece.segno, segmentBytes), this.#options.compression);
        }
        this.#advance(segment.endLsn);
        this.#options.onSegment?.(walFileName(tli, piece.segno, segmentBytes));
      }
    }
    if (this.#options.synchronous && this.#segment !== null) {
      await this.#segment.object.sync();
      this.#advance(this.#segment.endLsn);
    }
  }

  async writeHistory(filename: string, content: Buffer): Promise<void> {
    checkHistoryFileName(filename);
    const key = `${WAL_PREFIX}/${filename}`;
    const stored = await this.#storage.get(key);
    if (stored === null) {
      await this.#storage.put(key, content);
    } else if (!stored.equals(content)) {
      throw new ConvoyError('WAL_CONFLICT', `timeline history file "${filename}" from the server differs from the one in repository "${this.#storage.location}"`, {
        hint: 'The repository holds WAL of another history of this cluster (a restored or promoted copy?); archive it into a repository of its own.',
      });
    }
  }

  /** Stopping: the segment in progress is made durable and left as the partial it is. */
  async finish(): Promise<void> {
    await this.#closeSegment();
  }

  async cleanup(): Promise<void> {
    const segment = this.#segment;
    this.#segment = null;
    // Whatever was written stays as the partial: a restart receives that segment again from its start.
    await segment?.object.close();
  }

  async #closeSegment(): Promise<void> {
    const segment = this.#segment;
    if (segment === null) return;
    this.#segment = null;
    try {
      await segment.object.sync();
      this.#advance(segment.endLsn);
    } finally {
      await segment.object.close();
    }
  }

  /** A segment cut short by a timeline switch ends below the new timeline's position: the flush LSN never goes back. */
  #advance(lsn: Lsn): void {
    if (lsn > this.#flushedLsn) this.#flushedLsn = lsn;
  }
}
