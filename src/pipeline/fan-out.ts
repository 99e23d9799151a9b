/**
 * fanOut: one backup read once, written to several destinations. Every call is forwarded to all live destinations
 * concurrently and awaited with Promise.allSettled, so the slowest destination sets the pace and nothing queues
 * per destination (memory stays bounded). The same chunk goes to every destination; stages never modify chunks.
 *
 * A destination whose call fails is cleaned up with its own error (archive chain and WAL sink) and dropped; the
 * others go on. Only when every destination has failed does a call throw, with the first error. outcomes() reports
 * each destination's fate. Archive and WAL calls share the set of live destinations: failing in one drops both.
 * With more than one destination their file writes are switched to 'overlapped' (thread pool), so they proceed in
 * parallel rather than one destination after another. WAL is durable (flushedLsn) only as far as in all live ones.
 */
import { ArchiveSink, type BackupEndInfo, type BackupStartInfo } from './archive-sink.ts';
import type { WalSink } from './wal-sink.ts';
import type { Destination } from './build-destination.ts';
import type { Lsn } from '../util/lsn.ts';
import { InternalError } from '../errors/index.ts';

interface Member {
  readonly destination: Destination;
  error?: unknown;
  isAlive: boolean;
}

export interface FanOutDestination extends Destination {
  outcomes(): { dir: string; error?: unknown }[];
}

class FanOutGroup {
  readonly members: Member[];
  #firstError: unknown = undefined;

  constructor(destinations: readonly Destination[]) {
    this.members = destinations.map((destination) => ({ destination, isAlive: true }));
  }

  /** Runs `call` on every live member that `call` applies to; drops members that fail. */
  async run(call: (destination: Destination) => Promise<void> | null): Promise<void> {
    const live = this.members.filter((member) => member.isAlive);
    if (live.length === 0) throw this.#firstError ?? new InternalError('INTERNAL_ASSERTION', 'no destination left');
    const results = await Promise.allSettled(live.map((member) => call(member.destination) ?? Promise.resolve()));
    for (const [index, result] of results.entries()) {
      const member = live[index] as Member;
      if (result.status === 'rejected' && member.isAlive) await this.drop(member, result.reason);
    }
    if (!this.members.some((member) => member.isAlive)) throw this.#firstError;
  }

  async drop(member: Member, error: unknown): Promise<void> {
    member.isAlive = false;
    member.error = error;
    if (this.#firstError === undefined) this.#firstError = error;
    const { archive, wal } = member.destination;
    await Promise.allSettled([archive.cleanup(error), wal?.cleanup(error)]);
  }
}

class FanOutArchiveSink extends ArchiveSink {
  readonly #group: FanOutGroup;

  constructor(group: FanOutGroup) {
    super(null);
    this.#group = group;
  }

  protected override onBeginBackup(info: BackupStartInfo): Promise<void> { return this.#group.run((d) => d.archive.beginBackup(info)); }
  protected override onBeginArchive(name: string, location: string): Promise<void> { return this.#group.run((d) => d.archive.beginArchive(name, location)); }
  protected override onArchiveContents(chunk: Buffer): Promise<void> { return this.#group.run((d) => d.archive.archiveContents(chunk)); }
  protected override onEndArchive(): Promise<void> { return this.#group.run((d) => d.archive.endArchive()); }
  protected override onBeginManifest(): Promise<void> { return this.#group.run((d) => d.archive.beginManifest()); }
  protected override onManifestContents(chunk: Buffer): Promise<void> { return this.#group.run((d) => d.archive.manifestContents(chunk)); }
  protected override onEndManifest(): Promise<void> { return this.#group.run((d) => d.archive.endManifest()); }
  protected override onEndBackup(info: BackupEndInfo): Promise<void> { return this.#group.run((d) => d.archive.endBackup(info)); }

  protected override async onCleanup(error: unknown): Promise<void> {
    const live = this.#group.members.filter((member) => member.isAlive);
    await Promise.allSettled(live.map((member) => member.destination.archive.cleanup(error)));
  }
}

class FanOutWalSink implements WalSink {
  readonly #group: FanOutGroup;

  constructor(group: FanOutGroup) {
    this.#group = group;
  }

  /** Durable only once every destination still in the run has it: the least of theirs. */
  get flushedLsn(): Lsn {
    const flushed = this.#group.members.filter((member) => member.isAlive).map((member) => member.destination.wal?.flushedLsn ?? 0n);
    return flushed.reduce((least, lsn) => (lsn < least ? lsn : least), flushed[0] ?? 0n);
  }

  writeWal(tli: number, dataStart: Lsn, data: Buffer): Promise<void> { return this.#group.run((d) => d.wal?.writeWal(tli, dataStart, data) ?? null); }
  writeHistory(filename: string, content: Buffer): Promise<void> { return this.#group.run((d) => d.wal?.writeHistory(filename, content) ?? null); }
  finish(): Promise<void> { return this.#group.run((d) => d.wal?.finish() ?? null); }

  async cleanup(error?: unknown): Promise<void> {
    const live = this.#group.members.filter((member) => member.isAlive);
    await Promise.allSettled(live.map((member) => member.destination.wal?.cleanup(error)));
  }
}

export function fanOut(destinations: readonly Destination[]): FanOutDestination {
  if (destinations.length === 0) throw new InternalError('INTERNAL_ASSERTION', 'fan-out needs at least one destination');
  if (destinations.length > 1) for (const destination of destinations) destination.useOverlappedWrites?.();
  const group = new FanOutGroup(destinations);
  const hasWal = destinations.some((destination) => destination.wal !== null);
  return {
    dir: destinations.map((destination) => destination.dir).join(', '),
    archive: new FanOutArchiveSink(group),
    wal: hasWal ? new FanOutWalSink(group) : null,
    claim: async () => {
      for (const destination of destinations) await destination.claim?.();
    },
    describe: () => ['fan-out', ...destinations.flatMap((destination) => destination.describe().map((stage) => `${destination.dir}: ${stage}`))],
    outcomes: () => group.members.map((member) => (member.error === undefined ? { dir: member.destination.dir } : { dir: member.destination.dir, error: member.error })),
  };
}
