/**
 * The WAL stage of a tar backup: segments are collected from the archives while they stream past (fetch
 * mode: base.tar's pg_wal/; stream mode: pg_wal.tar) and checked concurrently, through a WalSegmentChannel,
 * so nothing is extracted and at most a couple of segments are in memory.
 *
 * Verification starts when the segment size is known: at the first segment member (its size), or when the
 * archives are done without any (then every needed segment is missing, named with the 16 MiB default). The
 * system identifier the walk expects is asked for at that moment: by then base.tar has shown global/pg_control.
 */
import type { ManifestWalRange } from '../manifest/reader.ts';
import type { ProblemList, VerifyWalRangeResult } from './report.ts';
import { WalSegmentChannel } from './wal-channel.ts';
import { DEFAULT_SEGMENT_BYTES, isSegmentSize, neededSegments, verifyWal } from './wal-stage.ts';

export class TarWalCollector {
  readonly #ranges: readonly ManifestWalRange[];
  readonly #systemId: () => string | null;
  readonly #problems: ProblemList;
  #channel: WalSegmentChannel | null = null;
  #run: Promise<VerifyWalRangeResult[]> | null = null;

  constructor(ranges: readonly ManifestWalRange[], systemId: () => string | null, problems: ProblemList) {
    this.#ranges = ranges;
    this.#systemId = systemId;
    this.#problems = problems;
  }

  /** A segment member of `bytes` bytes was met; the first one fixes the segment size. */
  segmentSeen(bytes: number): void {
    if (this.#channel === null) this.#start(isSegmentSize(bytes) ? bytes : DEFAULT_SEGMENT_BYTES);
  }

  wants(name: string): boolean {
    return this.#channel?.wants(name) ?? false;
  }

  offer(name: string, bytes: Buffer): Promise<void> {
    return this.#channel?.offer(name, bytes) ?? Promise.resolve();
  }

  /** Call after the last archive: whatever was not offered is missing. */
  async finish(): Promise<VerifyWalRangeResult[]> {
    if (this.#channel === null) this.#start(DEFAULT_SEGMENT_BYTES);
    (this.#channel as WalSegmentChannel).close();
    return this.#run as Promise<VerifyWalRangeResult[]>;
  }

  /** Stop early (exit on error, archive failure): unblock everything. */
  abandon(): void {
    this.#channel?.finish();
  }

  #start(segmentBytes: number): void {
    const channel = new WalSegmentChannel(neededSegments(this.#ranges, segmentBytes));
    this.#channel = channel;
    this.#run = verifyWal(this.#ranges, channel, segmentBytes, this.#systemId(), this.#problems)
      .finally(() => channel.finish());
    // Rejections are observed by finish(); keep an early one from being reported as unhandled meanwhile.
    this.#run.catch(() => undefined);
  }
}
