/**
 * What the repository's `wal/` holds, read from the names alone: completed segments (`TTTTTTTTXXXXXXXXYYYYYYYY`,
 * or compressed by `archive -Z` with the suffix of their method: `.gz`, `.lz4`, `.zst`), the segment in progress
 * (`<name>.partial`, never compressed), timeline history files (`TTTTTTTT.history`). From that: where a
 * restarted archive resumes, and the archive's range and gaps for `info`. Pure: no I/O, no contents read.
 *
 * Resume rule: from the newest segment (highest number, then highest timeline). A completed one resumes at the
 * next segment on its timeline; a partial one is received again from its start, because its tail may never have
 * been fsynced, and the server still has that segment (the slot's flush position never passes unsynced WAL).
 * A partial whose completed twin exists is stale (a crash between publishing and removing it) and is ignored.
 */
import { compressionOfName, COMPRESSION_SUFFIX, type CompressionMethod } from '../pipeline/compression/filter.ts';
import { walFileName, parseWalFileName, type Lsn } from '../util/lsn.ts';

export const WAL_PREFIX = 'wal';

export interface WalFile {
  readonly tli: number;
  readonly segno: bigint;
  /** The segment's name, without suffix. */
  readonly name: string;
}

/** One name under wal/, as archive writes them; null for a name that is not ours. */
export type ArchivedName =
  | { readonly kind: 'history'; readonly tli: number }
  | (WalFile & { readonly kind: 'segment'; readonly compression: CompressionMethod | null })
  | (WalFile & { readonly kind: 'partial' });

export interface WalListing {
  /** Completed segments, by segment number then timeline. */
  readonly segments: readonly WalFile[];
  /** Segments in progress (one per timeline at most: a timeline's last, cut short by a switch), same order. */
  readonly partials: readonly WalFile[];
  /** Partial files whose completed segment exists. */
  readonly stalePartials: readonly string[];
  readonly historyTlis: readonly number[];
}

const HISTORY_NAME = /^([0-9A-F]{8})\.history$/;
const PARTIAL_SUFFIX = '.partial';

export function parseArchivedName(name: string, segmentBytes: number): ArchivedName | null {
  const history = HISTORY_NAME.exec(name);
  if (history !== null) return { kind: 'history', tli: Number.parseInt(history[1] as string, 16) };
  const isPartial = name.endsWith(PARTIAL_SUFFIX);
  const compression = isPartial ? null : compressionOfName(name);
  const base = name.slice(0, name.length - (isPartial ? PARTIAL_SUFFIX.length : compression === null ? 0 : COMPRESSION_SUFFIX[compression].length));
  const parsed = parseWalFileName(base, segmentBytes);
  // A name parseWalFileName accepts but walFileName would not write (a segment number past its xlogid) is not ours.
  if (parsed === null || walFileName(parsed.tli, parsed.segno, segmentBytes) !== base) return null;
  return isPartial ? { kind: 'partial', ...parsed, name: base } : { kind: 'segment', ...parsed, name: base, compression };
}

export function readWalListing(names: readonly string[], segmentBytes: number): WalListing {
  const segments = new Map<string, WalFile>();
  const partials: WalFile[] = [];
  const historyTlis: number[] = [];
  for (const name of names) {
    const parsed = parseArchivedName(name, segmentBytes);
    if (parsed?.kind === 'history') historyTlis.push(parsed.tli);
    else if (parsed?.kind === 'partial') partials.push({ tli: parsed.tli, segno: parsed.segno, name: parsed.name });
    // One entry per segment, however many copies (plain and compressed) hold it.
    else if (parsed?.kind === 'segment') segments.set(parsed.name, { tli: parsed.tli, segno: parsed.segno, name: parsed.name });
  }
  const stalePartials = partials.filter((partial) => segments.has(partial.name)).map((partial) => `${partial.name}${PARTIAL_SUFFIX}`);
  return {
    segments: [...segments.values()].sort(compareWalFiles),
    partials: partials.filter((partial) => !segments.has(partial.name)).sort(compareWalFiles),
    stalePartials,
    historyTlis: historyTlis.sort((a, b) => a - b),
  };
}

/** By segment number, then timeline. */
export function compareWalFiles(a: WalFile, b: WalFile): number {
  return a.segno === b.segno ? a.tli - b.tli : a.segno < b.segno ? -1 : 1;
}

/** Where streaming starts again, or null for an empty archive. */
export function resumePoint(listing: WalListing, segmentBytes: number): { readonly tli: number; readonly startLsn: Lsn } | null {
  const newestPartial = partialInProgress(listing);
  if (newestPartial !== null) return { tli: newestPartial.tli, startLsn: newestPartial.segno * BigInt(segmentBytes) };
  const newestComplete = listing.segments.at(-1);
  if (newestComplete === undefined) return null;
  return { tli: newestComplete.tli, startLsn: (newestComplete.segno + 1n) * BigInt(segmentBytes) };
}

/** The newest partial if it is newer than every completed segment (else it is a timeline's cut-short end). */
function partialInProgress(listing: WalListing): WalFile | null {
  const partial = listing.partials.at(-1);
  const complete = listing.segments.at(-1);
  if (partial === undefined) return null;
  const isNewer = complete === undefined || partial.segno > complete.segno || (partial.segno === complete.segno && partial.tli > complete.tli);
  return isNewer ? partial : null;
}

export interface WalGap {
  /** First missing segment's number and the timeline it would be on (that of the segment before it). */
  readonly fromName: string;
  readonly toName: string;
  readonly segments: number;
}

export interface WalRange {
  readonly first: WalFile | null;
  readonly last: WalFile | null;
  /** The segment being received (newest partial), if any. */
  readonly inProgress: WalFile | null;
  readonly gaps: readonly WalGap[];
  readonly timelines: readonly number[];
}

/**
 * The completed segments' range and its gaps, by segment number: across a timeline switch the switch segment
 * exists on the new timeline, so a continuous archive has no gap even though the old timeline's copy is partial.
 */
export function walRange(listing: WalListing, segmentBytes: number): WalRange {
  const gaps: WalGap[] = [];
  let previous: WalFile | null = null;
  for (const segment of listing.segments) {
    if (previous !== null && segment.segno > previous.segno + 1n) {
      gaps.push({
        fromName: walFileName(previous.tli, previous.segno + 1n, segmentBytes),
        toName: walFileName(previous.tli, segment.segno - 1n, segmentBytes),
        segments: Number(segment.segno - previous.segno - 1n),
      });
    }
    previous = segment;
  }
  const last = listing.segments.at(-1) ?? null;
  const inProgress = partialInProgress(listing);
  const timelines = [...new Set([...listing.segments, ...listing.partials].map((file) => file.tli))].sort((a, b) => a - b);
  return { first: listing.segments[0] ?? null, last, inProgress, gaps, timelines };
}
