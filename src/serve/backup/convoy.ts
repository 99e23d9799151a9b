/**
 * The convoy: backups that overlap in time share one read of each archive.
 *
 * One ring reader per archive walks it in key order (archive-walk.ts), lap after lap, while any backup is inside.
 * A backup joining an archive attaches at the reader's current position and leaves when the reader has come round
 * to it again, so it receives every entry exactly once: those after its join point in the lap it joined, then those
 * up to its join point in the next lap, all within one archive (a client can never go back to an archive it
 * closed). An entry no attached backup still needs is not read. Each chunk read is checksummed (pages and
 * manifest) once and delivered to every receiver's queue (member-queue.ts).
 *
 * Catching up: a tar member cannot start in the middle, so a backup joining while a file is being read would idle
 * until that file's end and need the whole file again in its next lap; with one large relation segment that is
 * most of the database, read once more for one backup at the end. Instead, if less than half of the file has been
 * read, the shared read pauses while the joiner (with any others that joined meanwhile) reads that first part
 * alone, then it takes the rest with the others and its next lap stops before the file. Catching up costs the part
 * already read, waiting would cost the rest, and all catch-ups on one pass over a file read at most the file's size
 * (what one more pass would cost); otherwise the joiner waits as before.
 *
 * Why this is correct: a file copied at any moment after a backup's pg_backup_start returned is valid for that
 * backup (full-page writes are forced and its WAL from its start LSN repairs it). A backup joins only after its
 * start, so every byte it receives was read after its start.
 *
 * No waiting for the slowest: a receiver whose queue is full while others take data is blamed for the time the
 * reader waits on it (a decaying sum); past BLAME_LIMIT_MS it leaves the shared read in the middle of its file,
 * taking the file's digest state with it, and finishes the archive with a private reader of its own (same
 * semantics, one member), at its own pace. It attaches to the shared reader again at its next archive. Memory is
 * bounded by one queue per member (capacity) whatever the database size or the number of backups.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { ChecksumAlgorithm } from '../../manifest/checksum.ts';
import { walkArchive, type ArchiveEntry, type ArchiveLayout } from './archive-walk.ts';
import { FileRead, JoinedRead, type FileReadOptions, type FileReadState } from './file-read.ts';
import type { MemberQueue } from './member-queue.ts';
import type { ServeLog } from '../serve-log.ts';

/** How long the reader may wait on one laggard (decayed over BLAME_DECAY_MS) before that backup reads alone. */
const BLAME_LIMIT_MS = 1500;
const BLAME_DECAY_MS = 5000;
/** While waiting on laggards, blame is booked in steps this long. */
const BLAME_STEP_MS = 50;

/** What the convoy needs of one backup. */
export interface ConvoyMember {
  readonly id: number;
  readonly queue: MemberQueue;
  readonly checksumAlgorithm: ChecksumAlgorithm;
  readonly verifyChecksums: boolean;
  readonly tablespaceMap: boolean;
  /** Directory entries this backup already has in the current archive (keys): a joiner gets ancestors on demand. */
  readonly sentDirectories: Set<string>;
}

/** The file the reader is in the middle of, for joiners to catch up on. */
interface Reading {
  readonly entry: ArchiveEntry;
  readonly read: FileRead;
  readonly verify: boolean;
  /** Bytes read by catch-ups on this pass. */
  caughtUpBytes: number;
}

interface Attachment {
  readonly member: ConvoyMember;
  /** Joined at a lap's start: leaves at that lap's end. */
  fresh: boolean;
  /** Key of the entry being read when it joined; it needs keys after it, then (phase 2) up to it. */
  joinKey: string;
  phase: 1 | 2;
  /**
   * 'pending': joined during a file and may catch up on it; 'done': it did (or vanished), so its phase 2 stops
   * before the join entry. Decided by the reader at the next chunk, from how far the file's read has come.
   */
  catchUp: 'none' | 'pending' | 'done';
  /** While it takes the rest of a file it caught up on: its own checksum and failures for that file. */
  joined: JoinedRead | null;
  blameMs: number;
  blamedAtMs: number;
}

export interface ConvoyOptions extends FileReadOptions {
  /** The cluster has data checksums: page verification is possible at all. */
  readonly dataChecksums: boolean;
  readonly log: ServeLog['event'];
}

export class Convoy {
  readonly #options: ConvoyOptions;
  readonly #rings = new Map<string, RingReader>();

  constructor(options: ConvoyOptions) {
    this.#options = options;
  }

  /** Streams the archive into the member's queue, ending with 'archive-end'. `ringKey` names the archive. */
  join(ringKey: string, layout: ArchiveLayout, member: ConvoyMember): void {
    member.sentDirectories.clear();
    let ring = this.#rings.get(ringKey);
    if (ring === undefined) {
      ring = new RingReader(layout, this.#options, null, () => this.#rings.delete(ringKey));
      this.#rings.set(ringKey, ring);
    }
    ring.attach(member);
  }
}

class RingReader {
  readonly #layout: ArchiveLayout;
  readonly #options: ConvoyOptions;
  readonly #onIdle: () => void;
  readonly #attached = new Map<ConvoyMember, Attachment>();
  /** A file half-read by the shared reader that a detached backup finishes first (private readers only). */
  #resume: Resume | null;
  #walker: AsyncGenerator<ArchiveEntry> | null = null;
  /** Key of the entry the walk reached in this lap; null at a lap's start. */
  #currentKey: string | null = null;
  #reading: Reading | null = null;
  #isRunning = false;

  constructor(layout: ArchiveLayout, options: ConvoyOptions, resume: Resume | null, onIdle: () => void) {
    this.#layout = layout;
    this.#options = options;
    this.#resume = resume;
    this.#onIdle = onIdle;
  }

  attach(member: ConvoyMember, carried?: Attachment): void {
    const reading = this.#reading;
    // a backup that verifies pages cannot take the rest of a file from a read that does not
    const mayCatchUp = reading !== null && isWanted(member, reading.entry) && (reading.verify || !member.verifyChecksums);
    const attachment: Attachment = carried ?? {
      member, fresh: this.#currentKey === null, joinKey: this.#currentKey ?? '', phase: 1, blameMs: 0, blamedAtMs: 0,
      catchUp: mayCatchUp ? 'pending' : 'none', joined: null,
    };
    this.#attached.set(member, attachment);
    this.#start();
  }

  #start(): void {
    if (this.#isRunning) return;
    this.#isRunning = true;
    void this.#run();
  }

  async #run(): Promise<void> {
    try {
      if (this.#resume !== null) {
        const resume = this.#resume;
        this.#resume = null;
        const { entry } = resume;
        this.#currentKey = entry.key;
        await this.#sendFile(entry, [...this.#attached.values()], resume);
        this.#walker = walkArchive(this.#layout, entry.key);
      }
      while (this.#prune() > 0) {
        this.#walker ??= walkArchive(this.#layout);
        const next = await this.#walker.next();
        if (next.done === true) {
          this.#endLap();
          continue;
        }
        const entry = next.value;
        this.#currentKey = entry.key;
        for (const attachment of this.#attached.values()) {
          if (!attachment.fresh && attachment.phase === 2 && !isBeforeJoinPoint(attachment, entry)) this.#leave(attachment);
        }
        const receivers = [...this.#attached.values()].filter((attachment) => needs(attachment, entry));
        if (receivers.length > 0) await this.#sendEntry(entry, receivers);
      }
    } catch (error) {
      for (const attachment of this.#attached.values()) attachment.member.queue.close(error);
      this.#attached.clear();
    } finally {
      await this.#walker?.return(undefined);
      this.#walker = null;
      this.#currentKey = null;
      this.#isRunning = false;
      if (this.#prune() > 0) this.#start(); // someone joined while we were winding down
      else this.#onIdle();
    }
  }

  /** Forgets members whose backups ended; returns how many remain. */
  #prune(): number {
    for (const [member] of this.#attached) if (member.queue.isClosed) this.#attached.delete(member);
    return this.#attached.size;
  }

  #endLap(): void {
    for (const attachment of [...this.#attached.values()]) {
      if (attachment.fresh || attachment.phase === 2) this.#leave(attachment);
      else attachment.phase = 2;
    }
    this.#walker = null;
    this.#currentKey = null;
  }

  #leave(attachment: Attachment): void {
    this.#attached.delete(attachment.member);
    attachment.member.queue.push({ type: 'archive-end' });
  }

  async #sendEntry(entry: ArchiveEntry, receivers: Attachment[]): Promise<void> {
    for (const { member } of receivers) {
      for (const ancestor of entry.ancestors) pushDirectory(member, ancestor);
    }
    if (entry.kind === 'directory') {
      for (const { member } of receivers) pushDirectory(member, entry);
    } else if (entry.kind === 'file') {
      await this.#sendFile(entry, receivers, null);
    } else {
      for (const { member } of receivers) member.queue.push({ type: 'entry', entry });
    }
  }

  async #sendFile(entry: ArchiveEntry, receivers: Attachment[], resumed: Resume | null): Promise<void> {
    const algorithms = new Set(receivers.map(({ member }) => member.checksumAlgorithm));
    const verify = this.#options.dataChecksums && receivers.some(({ member }) => member.verifyChecksums);
    const read = resumed === null
      ? await FileRead.start(entry, algorithms, verify, this.#options)
      : await FileRead.resume(entry, resumed.state, this.#options);
    if (read === null) return; // vanished since the walk: not part of anyone's backup
    const reading: Reading = { entry, read, verify, caughtUpBytes: 0 };
    this.#reading = reading;
    try {
      let live = receivers;
      if (resumed === null) for (const { member } of receivers) member.queue.push({ type: 'entry', entry });
      else live = await this.#deliver(entry, read, resumed.pending, live);
      for (;;) {
        live = await this.#catchUp(reading, live);
        if (live.length === 0) return;
        const chunk = await read.next();
        if (chunk === null) break;
        for (const { joined } of live) joined?.take(chunk);
        live = await this.#deliver(entry, read, { type: 'data', chunk, shared: live.length > 1 }, live);
      }
      const shared = read.finish();
      for (const attachment of live) {
        const { digests, failures, unverifiable } = attachment.joined?.finish(shared) ?? shared;
        attachment.joined = null;
        attachment.member.queue.push({ type: 'file-end', entry, digests, pageFailures: failures, unverifiable });
      }
    } finally {
      this.#reading = null;
      for (const attachment of this.#attached.values()) if (attachment.catchUp === 'pending') attachment.catchUp = 'none';
      await read.close();
    }
  }

  /**
   * Serves the backups that joined during this file, before the shared read goes on: if catching up is worth it
   * (see the top of this file), they read the part they missed together, alone, then join the receivers. Those
   * that join while that happens are served next, from the same point. Returns the receivers.
   */
  async #catchUp(reading: Reading, receivers: Attachment[]): Promise<Attachment[]> {
    let live = receivers;
    for (;;) {
      const joiners = [...this.#attached.values()].filter(({ member, catchUp }) => catchUp === 'pending' && !member.queue.isClosed);
      if (joiners.length === 0) return live;
      const { entry } = reading;
      const upTo = reading.read.offset;
      const isWorthIt = upTo > 0 && upTo <= entry.stat.size - upTo && reading.caughtUpBytes + upTo <= entry.stat.size;
      for (const joiner of joiners) joiner.catchUp = isWorthIt ? 'done' : 'none';
      if (!isWorthIt) return live;
      reading.caughtUpBytes += upTo;
      for (const { member } of joiners) this.#options.log('convoy-catch-up', { backup: member.id, file: entry.name, bytes: upTo, together: joiners.length });
      const algorithms = new Set(joiners.map(({ member }) => member.checksumAlgorithm));
      const verify = this.#options.dataChecksums && joiners.some(({ member }) => member.verifyChecksums);
      const alone = await FileRead.start(entry, algorithms, verify, this.#options, upTo);
      if (alone === null) continue; // vanished: not part of their backups (and the shared read will see zeros)
      try {
        for (const { member } of joiners) {
          for (const ancestor of entry.ancestors) pushDirectory(member, ancestor);
          member.queue.push({ type: 'entry', entry });
        }
        let group = joiners;
        for (let chunk = await alone.next(); chunk !== null && group.length > 0; chunk = await alone.next()) {
          group = await this.#deliver(entry, alone, { type: 'data', chunk, shared: group.length > 1 }, group);
        }
        for (const joiner of group) joiner.joined = new JoinedRead(alone.snapshot(joiner.member.checksumAlgorithm));
        live = [...live, ...group];
      } finally {
        await alone.close();
      }
    }
  }

  /**
   * Hands one chunk to every receiver; waits while all are full; blames the laggards while others move on, and
   * sends a laggard past its limit off to read alone. Returns the receivers still attached.
   */
  async #deliver(entry: ArchiveEntry, read: FileRead, event: DataEvent, receivers: Attachment[]): Promise<Attachment[]> {
    const isLive = ({ member }: Attachment): boolean => !member.queue.isClosed && this.#attached.has(member);
    let waiting = receivers.filter(isLive);
    for (;;) {
      waiting = waiting.filter((attachment) => {
        if (!isLive(attachment)) return false;
        if (!attachment.member.queue.hasRoom) return true;
        attachment.member.queue.push(event);
        return false;
      });
      if (waiting.length === 0) return receivers.filter(isLive);
      const startedMs = performance.now();
      const step = new AbortController();
      // in steps even when everyone is full: a backup may attach meanwhile, and then the full ones hold it back
      await Promise.race([
        ...waiting.map(({ member }) => member.queue.waitRoom()),
        sleep(BLAME_STEP_MS, undefined, { signal: step.signal }).catch(() => {}),
      ]);
      step.abort();
      // The reader being ahead of everyone is nobody's fault. Anyone else attached with room (a receiver that took
      // this chunk, or a backup waiting for a later entry, perhaps one that joined while we waited) is held back by
      // the full ones; one of those that just got room is not, it only was as slow as the rest.
      const isAnyoneHeldBack = [...this.#attached.values()]
        .some((attachment) => !waiting.includes(attachment) && isLive(attachment) && attachment.member.queue.hasRoom);
      if (!isAnyoneHeldBack) continue;
      const nowMs = performance.now();
      for (const attachment of waiting) {
        if (attachment.member.queue.hasRoom || !isLive(attachment)) continue;
        const decay = Math.exp(-(nowMs - attachment.blamedAtMs) / BLAME_DECAY_MS);
        attachment.blameMs = attachment.blameMs * decay + (nowMs - startedMs);
        attachment.blamedAtMs = nowMs;
        if (attachment.blameMs > BLAME_LIMIT_MS) this.#detach(attachment, entry, read, event);
      }
    }
  }

  /**
   * The laggard finishes this file and the rest of the archive with a reader of its own: first the chunk it has not
   * taken yet (already in the digest state it carries away), then the file from where the shared read stands.
   */
  #detach(attachment: Attachment, entry: ArchiveEntry, read: FileRead, pending: DataEvent): void {
    this.#attached.delete(attachment.member);
    const shared = read.snapshot(attachment.member.checksumAlgorithm);
    const state = attachment.joined?.snapshot(shared) ?? shared;
    this.#options.log('convoy-detach', { backup: attachment.member.id, file: entry.name, offset: state.offset - pending.chunk.length });
    const alone = new RingReader(this.#layout, this.#options, { entry, state, pending }, () => {});
    alone.attach(attachment.member, { ...attachment, blameMs: 0, joined: null });
  }
}

type DataEvent = { readonly type: 'data'; readonly chunk: Buffer; readonly shared: boolean };

interface Resume {
  readonly entry: ArchiveEntry;
  readonly state: FileReadState;
  readonly pending: DataEvent;
}

function needs(attachment: Attachment, entry: ArchiveEntry): boolean {
  if (!isWanted(attachment.member, entry)) return false;
  if (attachment.fresh) return true;
  return attachment.phase === 1 ? entry.key > attachment.joinKey : isBeforeJoinPoint(attachment, entry);
}

/** Whether the entry belongs in this backup at all (with a tablespace map, the tablespace links are not sent). */
function isWanted(member: ConvoyMember, entry: ArchiveEntry): boolean {
  return !(member.tablespaceMap && entry.inTablespaceDir);
}

/** In its second lap a backup needs the entries up to where it joined: the join entry too, unless it caught up on it. */
function isBeforeJoinPoint(attachment: Attachment, entry: ArchiveEntry): boolean {
  return entry.key < attachment.joinKey || (entry.key === attachment.joinKey && attachment.catchUp !== 'done');
}

function pushDirectory(member: ConvoyMember, entry: ArchiveEntry): void {
  if (member.sentDirectories.has(entry.key)) return;
  if (member.tablespaceMap && entry.inTablespaceDir) return;
  member.sentDirectories.add(entry.key);
  member.queue.push({ type: 'entry', entry });
}
