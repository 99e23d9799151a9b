/**
 * What one destination's archive chain and WAL sink share: the directories it claimed (so cleanup touches only
 * those), the backup_manifest file, and the rule that makes a finished backup recognisable.
 *
 * Directories are claimed atomically (claim.ts): the -D directory (and the --waldir directory, with the pg_wal
 * symlink to it) by claim(), before the server starts the backup, each tablespace target at beginBackup once the
 * server named them. A directory another run holds, or one that is not empty, is refused; what this destination
 * did not claim it never removes or empties.
 *
 * That rule: backup_manifest.tmp is written as the manifest arrives; only when BOTH the archive chain reached
 * endBackup AND the WAL sink finished (when WAL is streamed) are the claim files removed, everything fsynced and the
 * file renamed to backup_manifest, the last thing to appear. Whichever of the two calls comes second does it, so the
 * lead may call them in either order. A destination without backup_manifest is therefore incomplete.
 *
 * Cleanup after a failure removes directories this destination created and empties the pre-existing empty ones it
 * wrote into, nothing else; with noClean it leaves files but deletes backup_manifest(.tmp) and the claim files.
 */
import { promises as fs } from 'node:fs';
import { isAbsolute, join, resolve } from 'node:path';
import { InternalError, UsageError } from '../../errors/index.ts';
import type { BackupStartInfo } from '../archive-sink.ts';
import { FileOutput, type WriteMode } from './file-output.ts';
import { claimDirectory, releaseClaim, type Claim } from './claim.ts';
import { emptyDirectory, fsCall, makeDirectory, removeIfExists, syncPath, syncTree } from './fs-helpers.ts';
import { STDOUT_DIR, type DestinationOptions } from './options.ts';

const MANIFEST_NAME = 'backup_manifest';
const MANIFEST_TEMP_NAME = 'backup_manifest.tmp';
/** pg_wal/summaries exists from PostgreSQL 17 (WAL summarization). */
const SUMMARIES_VERSION_NUM = 170000;

export class DestinationState {
  readonly options: DestinationOptions;
  readonly dirMode: number;
  readonly fileMode: number;
  readonly toStdout: boolean;
  #start: BackupStartInfo | null = null;
  #roots: Claim[] = [];
  #isClaimed = false;
  #mapping: Map<string, string>;
  #manifest: FileOutput | null = null;
  #hasManifest = false;
  #isArchiveDone = false;
  #isWalDone: boolean;
  #isComplete = false;
  #failure: unknown = null;
  #cleanup: Promise<void> | null = null;
  /** How this destination's files are written: 'overlapped' once it shares one stream with others (fan-out). */
  writeMode: WriteMode = 'sync';

  constructor(options: DestinationOptions) {
    this.options = options;
    this.dirMode = options.dataDirectoryMode;
    this.fileMode = options.dataDirectoryMode & 0o666;
    this.toStdout = options.dir === STDOUT_DIR;
    this.#isWalDone = options.walMethod !== 'stream';
    this.#mapping = new Map([...options.tablespaceMapping].map(([from, to]) => [resolve(from), resolve(to)]));
  }

  get dir(): string {
    return this.options.dir;
  }

  /** Backup start information; WAL sinks need it (segment size), so they may only run after beginBackup. */
  get start(): BackupStartInfo {
    if (this.#start === null) throw new InternalError('STAGE_ORDER_VIOLATION', 'destination used before beginBackup');
    return this.#start;
  }

  /** Throws the error this destination already failed with, so a late WAL write does not resurrect it. */
  assertUsable(): void {
    if (this.#failure !== null) throw this.#failure;
  }

  /**
   * Claims the target directory, and the WAL directory with its pg_wal symlink (pg_basebackup's
   * verify_dir_is_empty_or_create, made atomic). Idempotent; after a failure, cleanup() releases what was claimed.
   */
  async claim(): Promise<void> {
    if (this.toStdout || this.#isClaimed) return;
    this.#isClaimed = true;
    await this.#claimRoot(this.dir);
    const walDir = this.options.walDir ?? null;
    if (walDir !== null) {
      await this.#claimRoot(walDir);
      const link = join(this.dir, 'pg_wal');
      await fsCall('create symbolic link', link, () => fs.symlink(walDir, link));
    }
  }

  /** Claims the remaining target directories (tablespaces) and creates the WAL directories. */
  async prepare(start: BackupStartInfo): Promise<void> {
    this.#start = start;
    if (this.toStdout) {
      const count = start.tablespaces.length;
      if (count > 1) throw new UsageError('OPTION_CONFLICT', `can only write single tablespace to stdout, database has ${count}`);
      return;
    }
    await this.claim();
    if (this.options.format !== 'plain') return;
    for (const tablespace of start.tablespaces) {
      if (tablespace.oid === null || tablespace.location === null || !isAbsolute(tablespace.location)) continue;
      await this.#claimRoot(this.tablespaceTarget(tablespace.location));
    }
    if (this.options.walMethod === 'stream') {
      // WAL may arrive before base.tar's own pg_wal entries; extraction tolerates the existing directories.
      await makeDirectory(join(this.dir, 'pg_wal'), this.dirMode);
      await makeDirectory(join(this.dir, 'pg_wal', 'archive_status'), this.dirMode);
      if (start.serverVersionNum >= SUMMARIES_VERSION_NUM) await makeDirectory(join(this.dir, 'pg_wal', 'summaries'), this.dirMode);
    }
  }

  /** Where a tablespace's files go: its -T mapping, its own absolute location, or (in-place) below the data dir. */
  tablespaceTarget(location: string): string {
    if (!isAbsolute(location)) return join(this.dir, location);
    const absolute = resolve(location);
    return this.#mapping.get(absolute) ?? absolute;
  }

  /** A new file of this destination, with its file mode and write mode. */
  createFile(path: string | Buffer): Promise<FileOutput> {
    return FileOutput.create(path, this.fileMode, this.writeMode);
  }

  async beginManifest(): Promise<void> {
    this.#manifest = await this.createFile(join(this.dir, MANIFEST_TEMP_NAME));
    this.#hasManifest = true;
  }

  /** Exactly the received bytes: the manifest checksum covers them, so they are never re-serialised. */
  async manifestContents(chunk: Buffer): Promise<void> {
    await this.#manifest?.write(chunk);
  }

  async endManifest(): Promise<void> {
    await this.#manifest?.close();
    this.#manifest = null;
  }

  async archiveDone(): Promise<void> {
    this.#isArchiveDone = true;
    await this.#completeWhenReady();
  }

  async walDone(): Promise<void> {
    this.#isWalDone = true;
    await this.#completeWhenReady();
  }

  /**
   * Idempotent; `error` undefined means success (nothing to undo). Never throws: a failure to remove files must not
   * hide the error that made the backup fail.
   */
  async cleanup(error: unknown): Promise<void> {
    if (error === undefined) return;
    this.#failure ??= error;
    this.#cleanup ??= this.#undo().catch(() => undefined);
    await this.#cleanup;
  }

  async #completeWhenReady(): Promise<void> {
    if (!this.#isArchiveDone || !this.#isWalDone || this.#isComplete) return;
    this.assertUsable();
    this.#isComplete = true;
    if (this.toStdout) return;
    for (const root of this.#roots) await releaseClaim(root.path);
    if (this.options.sync) {
      await syncTree(this.dir);
      for (const root of this.#roots) if (root.path !== this.dir) await syncTree(root.path);
    }
    if (this.#hasManifest) {
      const from = join(this.dir, MANIFEST_TEMP_NAME);
      await fsCall('rename file', from, () => fs.rename(from, join(this.dir, MANIFEST_NAME)));
      if (this.options.sync) await syncPath(this.dir);
    }
  }

  async #claimRoot(path: string): Promise<void> {
    const claim = await claimDirectory(path, this.dirMode, () => this.options.onClaim?.({ type: 'creating', dir: resolve(path) }));
    this.#roots.push(claim);
    this.options.onClaim?.({ type: 'claimed', dir: resolve(claim.path), wasCreated: claim.wasCreated, backupDir: resolve(this.dir) });
  }

  async #undo(): Promise<void> {
    await this.#manifest?.abandon();
    this.#manifest = null;
    if (this.toStdout) return;
    if (this.options.noClean) {
      await removeIfExists(join(this.dir, MANIFEST_NAME));
      await removeIfExists(join(this.dir, MANIFEST_TEMP_NAME));
      for (const root of this.#roots) await releaseClaim(root.path);
      return;
    }
    for (const root of [...this.#roots].reverse()) {
      if (root.wasCreated) await fsCall('remove directory', root.path, () => fs.rm(root.path, { recursive: true, force: true }));
      else await emptyDirectory(root.path);
    }
    this.#roots = [];
  }
}
