/**
 * One `pgconvoy backup` run: the only place that orders what happens on the server and on disk.
 *
 *   1. main session: SHOW data_directory_mode, SHOW wal_segment_size, IDENTIFY_SYSTEM
 *   2. targets opened before the server starts anything: each directory claimed atomically (another run that has it,
 *      or anything in it, refuses this run), and the guardian told of every claim at once
 *   3. WAL protection: a RESERVE_WAL slot before BASE_BACKUP (on the streaming session for -X stream, on the
 *      main session for -X fetch), so concurrent backups on a busy cluster never lose their WAL
 *   4. BASE_BACKUP events -> ArchiveSink calls; WAL stream -> WalSink in parallel
 *   5. end LSN -> wait for streamed WAL to reach it -> sessions closed (slots go with them) -> endBackup, which
 *      makes backup_manifest appear last. endBackup is the commit point: a signal after it changes nothing.
 *
 * Failure and abort: any error, a signal, or a lost connection tears the sessions down: the socket is dropped
 * AND a CancelRequest is sent, because a walsender waiting for a (spread) start checkpoint does not look at its
 * socket for minutes, while a cancel ends its backup at once. The server aborts the backup and drops the
 * temporary slots when the session ends. Every target is cleaned, so nothing half-written looks like a backup.
 * The run returns only after the cancels were sent, so a CLI that exits right after still delivered them.
 *
 * A killed process does none of that, so before the targets are claimed a guardian (guardian.ts) is started that
 * holds every session's cancel key and every claimed directory; it is told `done` when the run ends either way
 * (after cleanup), and otherwise cancels and cleans up in our place.
 */
import { AbortError, ConvoyError, ProtocolError } from '../errors/index.ts';
import type { BaseBackupEvent, ConnectionParams, NoticeMessage, ReplicationSession, TablespaceInfo } from '../client/types.ts';
import type { ArchiveSink } from '../pipeline/archive-sink.ts';
import type { ClaimEvent } from '../pipeline/index.ts';
import type { WalSink } from '../pipeline/wal-sink.ts';
import { parseWalSegmentSize, type Lsn } from '../util/lsn.ts';
import { spawnGuardian, type Guardian, type GuardianInit } from './guardian.ts';
import { baseBackupOptions, type BackupPlan } from './plan.ts';
import { WalStreamer, explainSlotError, type SlotChoice } from './wal-streamer.ts';

export interface ServerFacts {
  readonly serverVersionNum: number;
  readonly systemId: string;
  readonly timeline: number;
  readonly walSegmentBytes: number;
  readonly dataDirectoryMode: number;
}

/** Where the bytes go: one destination or a fan-out over several. */
export interface BackupTargets {
  readonly archive: ArchiveSink;
  readonly wal: WalSink | null;
  outcomes(): Array<{ dir: string; error?: unknown }>;
}

/** Where a run is; the CLI says it when a run is interrupted. */
export type BackupPhase = 'connecting' | 'checkpoint' | 'copying' | 'finishing';

export interface BackupObserver {
  onPhase?(phase: BackupPhase): void;
  onStart?(info: { startLsn: Lsn; startTli: number; tablespaces: readonly TablespaceInfo[]; totalBytes: bigint | null }): void;
  onArchive?(name: string): void;
  onProgress?(bytesDone: bigint): void;
  onNotice?(notice: NoticeMessage): void;
  /** Something the run could do without, e.g. the cleanup guardian did not start. */
  onWarning?(message: string): void;
}

export interface BackupDeps {
  connect(params: ConnectionParams, options: { signal: AbortSignal }): Promise<ReplicationSession>;
  /** Opens (claims) the targets; `onClaim` is told of each directory as it is created and as it is claimed. */
  openTargets(facts: ServerFacts, onClaim: (event: ClaimEvent) => void): Promise<BackupTargets>;
  readonly signal: AbortSignal;
  readonly observer?: BackupObserver;
  /** Starts the guardian that cleans up after a killed run; spawnGuardian unless a test replaces it. */
  readonly startGuardian?: (init: GuardianInit, onWarning: (message: string) => void) => Guardian | null;
}

export interface BackupOutcome {
  readonly startLsn: Lsn;
  readonly endLsn: Lsn;
  readonly timeline: number;
  readonly bytes: bigint;
  readonly seconds: number;
  readonly destinations: Array<{ dir: string; error?: unknown }>;
}

const MIN_SERVER_VERSION = 100000; // temporary slots and pg_wal

/** The run's server sessions, and how they are ended when the run fails. */
class SessionSet {
  readonly #sessions: ReplicationSession[] = [];
  readonly #cancels: Array<Promise<void>> = [];
  #isTornDown = false;
  #guardian: Guardian | null = null;

  add(session: ReplicationSession): void {
    this.#sessions.push(session);
    this.#guardian?.addSession(session.cancelKey);
    if (this.#isTornDown) this.tearDown();
  }

  /** From now on the guardian knows the cancel key of every session, present and future. */
  guardBy(guardian: Guardian | null): void {
    this.#guardian = guardian;
    for (const session of this.#sessions) guardian?.addSession(session.cancelKey);
  }

  /** Drops every socket now and sends a CancelRequest for each session; idempotent, never throws. */
  tearDown(): void {
    this.#isTornDown = true;
    for (const session of this.#sessions.splice(0)) {
      session.destroy();
      this.#cancels.push(session.cancel().catch(() => {}));
    }
  }

  /** After success: Terminate each session; the server drops their temporary slots. */
  async closeAll(): Promise<void> {
    for (const session of this.#sessions.splice(0)) await session.close();
  }

  /** Resolves once every CancelRequest was sent (or failed; each is bounded by the client's timeout). */
  async settled(): Promise<void> {
    await Promise.all(this.#cancels);
  }
}

export async function runBackup(plan: BackupPlan, deps: BackupDeps): Promise<BackupOutcome> {
  const startedAt = performance.now();
  const sessions = new SessionSet();
  const tearDown = (): void => sessions.tearDown();
  deps.signal.addEventListener('abort', tearDown, { once: true });
  let targets: BackupTargets | null = null;
  let streamer: WalStreamer | null = null;
  let guardian: Guardian | null = null;
  try {
    deps.observer?.onPhase?.('connecting');
    const main = await openSession(plan.connection, deps, sessions);
    const facts = await readServerFacts(main);
    guardian = startGuardian(plan, deps);
    sessions.guardBy(guardian);
    const guarded = guardian;
    targets = await deps.openTargets(facts, (event) => {
      if (event.type === 'creating') guarded?.addCreating(event.dir);
      else guarded?.addDestination(event);
    });
    streamer = plan.walMethod === 'stream' ? await prepareStreamer(plan, facts, targets, deps, sessions) : null;
    if (plan.walMethod === 'fetch' && plan.useTemporarySlot) {
      // Held by this session until it ends: WAL from before the start checkpoint stays until the server has
      // appended it to base.tar, however much WAL other backups and the workload write meanwhile.
      await main.createPhysicalSlot(`pgconvoy_fetch_${main.backendPid}`, { temporary: true, reserveWal: true })
        .catch((error: unknown) => { throw explainSlotError(error, undefined); });
    }
    deps.observer?.onPhase?.('checkpoint');
    const result = await streamBaseBackup(main, plan, facts, targets.archive, streamer, deps, tearDown);
    deps.observer?.onPhase?.('finishing');
    // The server's part is over and every byte of WAL is with the destinations: release walsenders and slots
    // before the (possibly long) fsync, and abort only up to here.
    throwIfAborted(deps.signal);
    await sessions.closeAll();
    throwIfAborted(deps.signal);
    await targets.archive.endBackup({ endLsn: result.endLsn, endTli: result.endTli });
    await targets.archive.cleanup();
    await targets.wal?.cleanup();
    return {
      startLsn: result.startLsn,
      endLsn: result.endLsn,
      timeline: result.startTli,
      bytes: result.bytes,
      seconds: (performance.now() - startedAt) / 1000,
      destinations: targets.outcomes(),
    };
  } catch (caught) {
    const error = deps.signal.aborted ? abortReason(deps.signal) : (streamer?.failure ?? caught);
    tearDown();
    if (targets !== null) {
      await targets.archive.cleanup(error).catch(() => {});
      await targets.wal?.cleanup(error).catch(() => {});
    }
    await sessions.settled();
    throw error;
  } finally {
    deps.signal.removeEventListener('abort', tearDown);
    await guardian?.done(); // after success, or after our own cleanup: the guardian has nothing left to do
  }
}

/** Before the targets are claimed, so that it learns of every directory the run may leave behind. */
function startGuardian(plan: BackupPlan, deps: BackupDeps): Guardian | null {
  const warn = (message: string): void => deps.observer?.onWarning?.(message);
  const init: GuardianInit = { host: plan.connection.host, port: plan.connection.port, noClean: plan.noClean };
  return (deps.startGuardian ?? spawnGuardian)(init, warn);
}

async function openSession(params: ConnectionParams, deps: BackupDeps, sessions: SessionSet): Promise<ReplicationSession> {
  throwIfAborted(deps.signal);
  const session = await deps.connect({ ...params, replication: 'true' }, { signal: deps.signal });
  sessions.add(session);
  if (deps.observer?.onNotice !== undefined) session.onNotice(deps.observer.onNotice);
  if (session.serverVersionNum < MIN_SERVER_VERSION) {
    throw new ProtocolError('SERVER_VERSION_UNSUPPORTED',
      `incompatible server version ${session.serverVersion}`, { hint: 'pgconvoy supports PostgreSQL 10 and later.' });
  }
  return session;
}

async function readServerFacts(main: ReplicationSession): Promise<ServerFacts> {
  const mode = main.serverVersionNum >= 110000 ? await main.show('data_directory_mode') : '0700';
  const segment = await main.show('wal_segment_size');
  const identity = await main.identifySystem();
  return {
    serverVersionNum: main.serverVersionNum,
    systemId: identity.systemId,
    timeline: identity.timeline,
    walSegmentBytes: parseWalSegmentSize(segment),
    dataDirectoryMode: Number.parseInt(mode, 8),
  };
}

async function prepareStreamer(plan: BackupPlan, facts: ServerFacts, targets: BackupTargets, deps: BackupDeps,
  sessions: SessionSet): Promise<WalStreamer> {
  if (targets.wal === null) throw new ConvoyError('INTERNAL_ASSERTION', 'stream mode without a WAL sink');
  const session = await openSession(plan.connection, deps, sessions);
  const identity = await session.identifySystem();
  if (identity.systemId !== facts.systemId) {
    throw new ConvoyError('SERVER_ERROR', 'system identifier does not match between base backup and streaming connection');
  }
  const slot: SlotChoice = !plan.useTemporarySlot && plan.slot === undefined
    ? { create: false, permanent: false }
    : { name: plan.slot ?? `pgconvoy_${session.backendPid}`, create: plan.slot === undefined || plan.createSlot, permanent: plan.createSlot };
  const streamer = new WalStreamer(session, targets.wal, { slot, segmentBytes: facts.walSegmentBytes, statusIntervalMs: plan.statusIntervalMs });
  await streamer.reserve();
  return streamer;
}

interface StreamResult {
  startLsn: Lsn;
  startTli: number;
  endLsn: Lsn;
  endTli: number;
  bytes: bigint;
}

/** Feeds BASE_BACKUP's events to the sink in order; the sink checks the order too. */
async function streamBaseBackup(main: ReplicationSession, plan: BackupPlan, facts: ServerFacts, sink: ArchiveSink,
  streamer: WalStreamer | null, deps: BackupDeps, tearDown: () => void): Promise<StreamResult> {
  let start: { startLsn: Lsn; startTli: number } | null = null;
  let end: { endLsn: Lsn; endTli: number } | null = null;
  let place: 'none' | 'archive' | 'manifest' = 'none';
  let bytes = 0n;
  const events: AsyncIterable<BaseBackupEvent> = main.baseBackup(baseBackupOptions(plan, facts.serverVersionNum));
  try {
    for await (const event of events) {
      switch (event.type) {
        case 'start':
          start = { startLsn: event.startLsn, startTli: event.startTli };
          break;
        case 'tablespaces': {
          if (start === null) throw new ProtocolError('UNEXPECTED_MESSAGE', 'tablespace list before the start position');
          const totalKb = event.tablespaces.every((t) => t.sizeKb !== null)
            ? event.tablespaces.reduce((sum, t) => sum + (t.sizeKb ?? 0n), 0n) : null;
          await sink.beginBackup({ ...start, tablespaces: event.tablespaces, serverVersionNum: facts.serverVersionNum,
            systemId: facts.systemId, walSegmentBytes: facts.walSegmentBytes });
          streamer?.start(start.startLsn, start.startTli, tearDown);
          deps.observer?.onPhase?.('copying');
          deps.observer?.onStart?.({ ...start, tablespaces: event.tablespaces, totalBytes: totalKb === null ? null : totalKb * 1024n });
          break;
        }
        case 'archive':
          if (place === 'archive') await sink.endArchive();
          place = 'archive';
          deps.observer?.onArchive?.(event.name);
          await sink.beginArchive(event.name, event.location);
          break;
        case 'data':
          bytes += BigInt(event.chunk.length);
          if (place === 'archive') await sink.archiveContents(event.chunk);
          else if (place === 'manifest') await sink.manifestContents(event.chunk);
          else throw new ProtocolError('UNEXPECTED_MESSAGE', 'backup data outside of an archive');
          break;
        case 'progress':
          deps.observer?.onProgress?.(event.bytesDone);
          break;
        case 'manifest':
          if (place === 'archive') await sink.endArchive();
          place = 'manifest';
          await sink.beginManifest();
          break;
        case 'end':
          end = { endLsn: event.endLsn, endTli: event.endTli };
          break;
      }
    }
  } catch (error) {
    throw explainSlotError(error, plan.slot);
  }
  if (place === 'archive') await sink.endArchive();
  if (place === 'manifest') await sink.endManifest();
  if (start === null || end === null) throw new ProtocolError('UNEXPECTED_MESSAGE', 'base backup ended without an end position');
  if (streamer !== null) {
    await streamer.finish(end.endLsn).catch((error: unknown) => {
      throw explainSlotError(error, plan.slot);
    });
  }
  return { ...start, ...end, bytes };
}

function throwIfAborted(signal: AbortSignal): void {
  if (signal.aborted) throw abortReason(signal);
}

function abortReason(signal: AbortSignal): ConvoyError {
  const reason: unknown = signal.reason;
  if (reason instanceof ConvoyError) return reason;
  return new AbortError('ABORTED', 'backup aborted');
}
