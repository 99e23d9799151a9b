/**
 * One run of `pgconvoy archive`: continuous WAL receiving into a repository through a permanent physical slot,
 * until stopped. It checks that the repository is this cluster's (repository.ts), resumes where the repository's
 * WAL ends (wal-catalog.ts) and streams with the backup's own WAL streamer (src/backup/wal-streamer.ts: history
 * files, timeline switches, flush = what the sink fsynced) into the repository's WalSink.
 *
 * Stopping (the signal): the write in progress completes, the stream is ended with CopyDone, the partial segment is
 * fsynced, the session closes, and the run resolves. If the stream does not end within STOP_GRACE_MS (the server is
 * gone, or the stream was still being set up) the session is dropped instead; what was written is fsynced the same.
 * Before streaming starts, the signal just drops the session: nothing has been written yet.
 *
 * Not here: reconnecting after the server went away. The run fails with the reason; run it under a supervisor
 * (systemd, a container restart policy), and the restart resumes without a gap, because the slot kept the WAL.
 */
import type { ReplicationSession } from '../client/types.ts';
import { ConvoyError, ServerError } from '../errors/index.ts';
import { WalStreamer } from '../backup/wal-streamer.ts';
import { quoteIdentifier } from '../protocol/replication-command.ts';
import { parseLsn, parseWalSegmentSize, segmentStart, type Lsn } from '../util/lsn.ts';
import { claimRepository } from './repository.ts';
import { RepositoryWalSink } from './repository-wal-sink.ts';
import type { RepositoryStorage } from './storage.ts';
import { readWalListing, resumePoint, WAL_PREFIX } from './wal-catalog.ts';
import type { WalCompression } from './wal-objects.ts';

const STOP_GRACE_MS = 10_000;
const READ_REPLICATION_SLOT_VERSION = 150_000;

export interface ArchivePlan {
  readonly storage: RepositoryStorage;
  readonly slot: string;
  readonly createSlot: boolean;
  readonly synchronous: boolean;
  readonly statusIntervalMs: number;
  readonly compression?: WalCompression;
}

export interface ArchiveObserver {
  onStart?(info: { readonly systemId: string; readonly startLsn: Lsn; readonly tli: number; readonly isResumed: boolean }): void;
  onSegment?(name: string): void;
}

export interface ArchiveOutcome {
  readonly startLsn: Lsn;
  /** End of the WAL received and made durable in the repository. */
  readonly flushedLsn: Lsn;
}

export async function runArchive(
  plan: ArchivePlan,
  deps: { readonly connect: () => Promise<ReplicationSession>; readonly signal: AbortSignal; readonly observer?: ArchiveObserver },
): Promise<ArchiveOutcome> {
  const session = await deps.connect();
  const dropOnStop = (): void => session.destroy();
  deps.signal.addEventListener('abort', dropOnStop, { once: true });
  try {
    if (deps.signal.aborted) session.destroy();
    const system = await session.identifySystem();
    const segmentBytes = parseWalSegmentSize(await session.show('wal_segment_size'));
    await claimRepository(plan.storage, { systemId: system.systemId, walSegmentBytes: segmentBytes });
    if (plan.createSlot) await createSlot(session, plan.slot);
    const listing = readWalListing(await plan.storage.list(WAL_PREFIX), segmentBytes);
    for (const stale of listing.stalePartials) await plan.storage.delete(`${WAL_PREFIX}/${stale}`);
    const resumed = resumePoint(listing, segmentBytes);
    const start = resumed ?? await slotStart(session, plan.slot, segmentBytes) ??
      { tli: system.timeline, startLsn: segmentStart(system.xlogPos, segmentBytes) };
    const sink = new RepositoryWalSink(plan.storage, {
      segmentBytes, synchronous: plan.synchronous, durableLsn: start.startLsn, compression: plan.compression,
      ...(deps.observer?.onSegment === undefined ? {} : { onSegment: deps.observer.onSegment }),
    });
    const streamer = new WalStreamer(session, sink, {
      slot: { name: plan.slot, create: false, permanent: true }, segmentBytes, statusIntervalMs: plan.statusIntervalMs,
    });
    deps.signal.removeEventListener('abort', dropOnStop);
    deps.observer?.onStart?.({ systemId: system.systemId, startLsn: start.startLsn, tli: start.tli, isResumed: resumed !== null });
    await streamUntilStopped(session, streamer, sink, start, deps.signal, plan.slot);
    await session.close();
    return { startLsn: start.startLsn, flushedLsn: sink.flushedLsn };
  } catch (error) {
    session.destroy();
    throw error;
  } finally {
    deps.signal.removeEventListener('abort', dropOnStop);
  }
}

async function streamUntilStopped(
  session: ReplicationSession, streamer: WalStreamer, sink: RepositoryWalSink, start: { tli: number; startLsn: Lsn },
  signal: AbortSignal, slot: string,
): Promise<void> {
  const failed = new Promise<unknown>((resolve) => streamer.start(start.startLsn, start.tli, () => resolve(streamer.failure)));
  const stopped = new Promise<void>((resolve) => {
    if (signal.aborted) resolve();
    else signal.addEventListener('abort', () => resolve(), { once: true });
  });
  const first = await Promise.race([failed.then((failure) => ({ failure })), stopped.then(() => null)]);
  if (first !== null) {
    await sink.cleanup();
    throw explainStreamError(first.failure, slot);
  }
  // Ending at what was received: the loop stops after the write in progress, or at once when it is idle.
  const finishing = streamer.finish(streamer.receivedLsn);
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<'late'>((resolve) => { timer = setTimeout(() => resolve('late'), STOP_GRACE_MS); });
  try {
    if (await Promise.race([finishing.then(() => 'done' as const), late]) === 'late') {
      session.destroy();
      await finishing.catch(() => undefined);
      await sink.finish();
    }
  } catch (error) {
    await sink.cleanup();
    throw explainStreamError(error, slot);
  } finally {
    clearTimeout(timer);
  }
}

async function createSlot(session: ReplicationSession, slot: string): Promise<void> {
  try {
    await session.createPhysicalSlot(slot, { temporary: false, reserveWal: true });
  } catch (error) {
    // 42710: the slot exists; reusing it is what a restarted `archive --create-slot` must do.
    if (!(error instanceof ServerError && error.sqlstate === '42710')) throw error;
  }
}

/**
 * An empty repository starts where the slot holds WAL from (READ_REPLICATION_SLOT, PostgreSQL 15+), so nothing
 * the slot kept is skipped; null leaves it to the server's current position (older servers, a slot never used).
 */
async function slotStart(session: ReplicationSession, slot: string, segmentBytes: number): Promise<{ tli: number; startLsn: Lsn } | null> {
  if (session.serverVersionNum < READ_REPLICATION_SLOT_VERSION) return null;
  const [row] = await session.query(`READ_REPLICATION_SLOT ${quoteIdentifier(slot)}`);
  const [type, restartLsn, restartTli] = row ?? [];
  if (type === null || type === undefined) throw slotMissing(slot);
  if (restartLsn === null || restartLsn === undefined || restartTli === null || restartTli === undefined) return null;
  return { tli: Number(restartTli), startLsn: segmentStart(parseLsn(restartLsn), segmentBytes) };
}

function slotMissing(slot: string): ConvoyError {
  return new ConvoyError('SERVER_ERROR', `replication slot "${slot}" does not exist`, { hint: 'Create it with --create-slot.' });
}

function explainStreamError(error: unknown, slot: string): unknown {
  if (error instanceof ServerError && error.sqlstate === '42704') return slotMissing(slot);
  // 55006 object_in_use: another walsender streams from this slot, most likely another archive into the same repository.
  if (error instanceof ServerError && error.sqlstate === '55006') {
    return new ConvoyError('SERVER_ERROR', `replication slot "${slot}" is already in use: ${error.message}`, {
      cause: error,
      hint: 'Another "pgconvoy archive" (or another client) streams from this slot; a slot serves one archive at a time.',
    });
  }
  return error;
}
