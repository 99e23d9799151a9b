/**
 * What `pgconvoy info` reports about a repository: whose it is, and the WAL archive's range, timelines, segment in
 * progress and gaps. Read-only and built from names alone (wal-catalog.ts), so it is cheap on any repository size
 * and safe while `archive` writes: every name it sees is either a whole published segment or a partial.
 */
import { ConvoyError } from '../errors/index.ts';
import { formatLsn } from '../util/lsn.ts';
import { IDENTITY_KEY, readIdentity } from './repository.ts';
import type { RepositoryStorage } from './storage.ts';
import { readWalListing, WAL_PREFIX, walRange, type WalGap } from './wal-catalog.ts';

export interface RepositoryInfo {
  readonly repository: string;
  readonly systemId: string;
  readonly walSegmentBytes: number;
  readonly wal: {
    readonly segments: number;
    /** First and last completed segment; null for an archive without one. */
    readonly firstSegment: string | null;
    readonly lastSegment: string | null;
    /** From the first completed segment's start to the last one's end (gaps inside are listed). */
    readonly startLsn: string | null;
    readonly endLsn: string | null;
    readonly timelines: readonly number[];
    readonly inProgress: string | null;
    readonly gaps: readonly WalGap[];
  };
}

export async function repositoryInfo(storage: RepositoryStorage): Promise<RepositoryInfo> {
  const identity = await readIdentity(storage);
  if (identity === null) {
    throw new ConvoyError('REPOSITORY_INVALID', `"${storage.location}" is not a pgconvoy repository: it has no "${IDENTITY_KEY}"`, {
      hint: 'A repository is created by the first "pgconvoy archive --repo" into it.',
    });
  }
  const segmentBytes = BigInt(identity.walSegmentBytes);
  const listing = readWalListing(await storage.list(WAL_PREFIX), identity.walSegmentBytes);
  const range = walRange(listing, identity.walSegmentBytes);
  return {
    repository: storage.location,
    systemId: identity.systemId,
    walSegmentBytes: identity.walSegmentBytes,
    wal: {
      segments: listing.segments.length,
      firstSegment: range.first?.name ?? null,
      lastSegment: range.last?.name ?? null,
      startLsn: range.first === null ? null : formatLsn(range.first.segno * segmentBytes),
      endLsn: range.last === null ? null : formatLsn((range.last.segno + 1n) * segmentBytes),
      timelines: range.timelines,
      inProgress: range.inProgress === null ? null : `${range.inProgress.name}.partial`,
      gaps: range.gaps,
    },
  };
}
