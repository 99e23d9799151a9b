/**
 * One backup's side of the BASE_BACKUP COPY (15+ form): 'n' starts an archive, its tar bytes travel as 'd'
 * messages (through this backup's own server-side compressor when it asked for COMPRESSION), 'p' reports the
 * uncompressed bytes done so far, 'm' then 'd' carry the manifest, CopyDone ends it.
 *
 * Progress is sent as the walsender does: when at least 64 kB and a second have passed since the last report, and
 * at the end of every archive. MAX_RATE throttles the bytes this backup puts on the wire (after compression),
 * whatever the others do.
 *
 * Byte ownership: archive data is written as a 6-byte frame header plus the caller's buffer, never copied; the
 * buffer may be shared with other backups and is not modified.
 */
import { COMPRESSION_SUFFIX, type ByteFilter } from '../../pipeline/compression/filter.ts';
import { createCompressor } from '../../pipeline/compression/create-filter.ts';
import type { CompressionSpec } from '../../backup/compression-spec.ts';
import { archiveDataFrameHeader, encodeNewArchive, encodeProgress, MANIFEST_MARKER } from '../../protocol/copy-backup.ts';
import { encodeCopyData, encodeCopyDone } from '../../protocol/encode-backend.ts';
import type { Throttle } from './throttle.ts';
import type { ClientChannel } from './client-channel.ts';

const PROGRESS_MIN_BYTES = 64 * 1024;
const PROGRESS_MIN_MS = 1000;

export class CopyOutStream {
  readonly #channel: ClientChannel;
  readonly #rate: Throttle | null;
  readonly #compression: CompressionSpec | null;
  #compressor: ByteFilter | null = null;
  #bytesDone = 0;
  #reportedBytes = 0;
  #reportedAtMs = 0;

  constructor(channel: ClientChannel, rate: Throttle | null, compression: CompressionSpec | null) {
    this.#channel = channel;
    this.#rate = rate;
    this.#compression = compression;
  }

  /** Uncompressed archive bytes sent so far, over all archives (what 'p' reports). */
  get bytesDone(): number {
    return this.#bytesDone;
  }

  /** `name` without compression suffix (`base.tar`, `16384.tar`); location '' for the main data directory. */
  async beginArchive(name: string, location: string): Promise<void> {
    const suffix = this.#compression === null ? '' : COMPRESSION_SUFFIX[this.#compression.method];
    this.#compressor = this.#compression === null ? null : createCompressor(this.#compression.method, this.#compression.level);
    await this.#channel.send(encodeCopyData(encodeNewArchive(`${name}${suffix}`, location)));
  }

  /** Archive bytes (tar headers, file data, padding). */
  async write(bytes: Buffer): Promise<void> {
    if (bytes.length === 0) return;
    this.#bytesDone += bytes.length;
    if (this.#compressor === null) await this.#sendData(bytes);
    else await this.#compressor.write(bytes, (out) => this.#sendData(out));
    const nowMs = performance.now();
    if (this.#bytesDone - this.#reportedBytes >= PROGRESS_MIN_BYTES && nowMs - this.#reportedAtMs >= PROGRESS_MIN_MS) {
      await this.#progress(nowMs);
    }
  }

  async endArchive(): Promise<void> {
    const compressor = this.#compressor;
    this.#compressor = null;
    if (compressor !== null) await compressor.end((out) => this.#sendData(out));
    await this.#progress(performance.now());
  }

  async manifest(bytes: Buffer): Promise<void> {
    await this.#channel.send(encodeCopyData(MANIFEST_MARKER));
    for (let at = 0; at < bytes.length; at += MANIFEST_CHUNK_BYTES) {
      await this.#sendData(bytes.subarray(at, at + MANIFEST_CHUNK_BYTES));
    }
  }

  async end(): Promise<void> {
    await this.#channel.send(encodeCopyDone());
  }

  /** Drops a compressor that will not be finished (the backup failed). */
  destroy(): void {
    this.#compressor?.destroy();
    this.#compressor = null;
  }

  async #sendData(bytes: Buffer): Promise<void> {
    await this.#rate?.take(bytes.length);
    await this.#channel.send(archiveDataFrameHeader(bytes.length), bytes);
  }

  async #progress(nowMs: number): Promise<void> {
    this.#reportedBytes = this.#bytesDone;
    this.#reportedAtMs = nowMs;
    await this.#channel.send(encodeCopyData(encodeProgress(BigInt(this.#bytesDone))));
  }
}

/** The manifest goes out in CopyData of this size (PostgreSQL sends it in pieces of its 32 kB buffer). */
const MANIFEST_CHUNK_BYTES = 256 * 1024;
