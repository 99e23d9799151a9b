/**
 * ArchiveSink: the contract of every stage that handles a base backup's archive stream (our analogue of
 * PostgreSQL's bbsink). A chain is built once by a builder that alone knows the order; each stage forwards
 * to `next` by default and overrides only the hooks it needs.
 *
 * Call order, checked here so stages need not re-check it:
 *   beginBackup (beginArchive archiveContents* endArchive)* [beginManifest manifestContents* endManifest]
 *   endBackup, and finally cleanup(error?) exactly once, whatever happened (also after a failed call).
 *
 * Byte ownership: a chunk passed to archiveContents/manifestContents is owned by the receiver (the client
 * never reuses memory it handed out), but a stage that transforms bytes must not modify its input in place,
 * because a fan-out stage hands the same chunk to several destinations.
 *
 * Backpressure: every hook is async; the producer awaits it before reading more from the socket.
 */
import { InternalError } from '../errors/index.ts';
import type { TablespaceInfo } from '../client/types.ts';
import type { Lsn } from '../util/lsn.ts';

export interface BackupStartInfo {
  readonly startLsn: Lsn;
  readonly startTli: number;
  readonly tablespaces: readonly TablespaceInfo[];
  readonly serverVersionNum: number;
  readonly systemId: string;
  readonly walSegmentBytes: number;
}

export interface BackupEndInfo {
  readonly endLsn: Lsn;
  readonly endTli: number;
}

type Phase = 'new' | 'backup' | 'archive' | 'manifest' | 'manifest-done' | 'ended' | 'cleaned';

export abstract class ArchiveSink {
  #phase: Phase = 'new';
  protected readonly next: ArchiveSink | null;

  constructor(next: ArchiveSink | null) {
    this.next = next;
  }

  async beginBackup(info: BackupStartInfo): Promise<void> {
    this.#move(['new'], 'backup', 'beginBackup');
    await this.onBeginBackup(info);
  }

  async beginArchive(name: string, location: string): Promise<void> {
    this.#move(['backup'], 'archive', 'beginArchive');
    await this.onBeginArchive(name, location);
  }

  async archiveContents(chunk: Buffer): Promise<void> {
    this.#expect(['archive'], 'archiveContents');
    if (chunk.length > 0) await this.onArchiveContents(chunk);
  }

  async endArchive(): Promise<void> {
    this.#move(['archive'], 'backup', 'endArchive');
    await this.onEndArchive();
  }

  async beginManifest(): Promise<void> {
    this.#move(['backup'], 'manifest', 'beginManifest');
    await this.onBeginManifest();
  }

  async manifestContents(chunk: Buffer): Promise<void> {
    this.#expect(['manifest'], 'manifestContents');
    if (chunk.length > 0) await this.onManifestContents(chunk);
  }

  async endManifest(): Promise<void> {
    this.#move(['manifest'], 'manifest-done', 'endManifest');
    await this.onEndManifest();
  }

  async endBackup(info: BackupEndInfo): Promise<void> {
    this.#move(['backup', 'manifest-done'], 'ended', 'endBackup');
    await this.onEndBackup(info);
  }

  /**
   * Always called last. With an error the stage removes or marks what it wrote so that nothing partial can
   * be mistaken for a backup; without one it only releases resources. Must not throw for cleanup problems
   * of its own that would hide `error`; it forwards to next even if its own work failed.
   */
  async cleanup(error?: unknown): Promise<void> {
    if (this.#phase === 'cleaned') return;
    const failed = error !== undefined || this.#phase !== 'ended';
    this.#phase = 'cleaned';
    try {
      await this.onCleanup(failed ? (error ?? new InternalError('STAGE_ORDER_VIOLATION', 'backup did not end')) : undefined);
    } finally {
      await this.next?.cleanup(error);
    }
  }

  protected async onBeginBackup(info: BackupStartInfo): Promise<void> { await this.next?.beginBackup(info); }
  protected async onBeginArchive(name: string, location: string): Promise<void> { await this.next?.beginArchive(name, location); }
  protected async onArchiveContents(chunk: Buffer): Promise<void> { await this.next?.archiveContents(chunk); }
  protected async onEndArchive(): Promise<void> { await this.next?.endArchive(); }
  protected async onBeginManifest(): Promise<void> { await this.next?.beginManifest(); }
  protected async onManifestContents(chunk: Buffer): Promise<void> { await this.next?.manifestContents(chunk); }
  protected async onEndManifest(): Promise<void> { await this.next?.endManifest(); }
  protected async onEndBackup(info: BackupEndInfo): Promise<void> { await this.next?.endBackup(info); }
  /** `error` is set when the backup failed or did not reach endBackup. */
  protected async onCleanup(_error: unknown): Promise<void> {}

  #expect(allowed: readonly Phase[], call: string): void {
    if (!allowed.includes(this.#phase)) {
      throw new InternalError('STAGE_ORDER_VIOLATION', `${call} called in phase "${this.#phase}" of ${this.constructor.name}`);
    }
  }

  #move(allowed: readonly Phase[], to: Phase, call: string): void {
    this.#expect(allowed, call);
    this.#phase = to;
  }
}
