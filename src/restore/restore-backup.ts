/**
 * `restoreBackup`: a verified base backup (plain, or tar with any compression) becomes a new data directory that
 * PostgreSQL can start, with tablespaces relocated and recovery configured.
 *
 * Order, chosen so that nothing is written for a backup that would be refused: recovery options are checked,
 * the backup is inspected and verified (no backup_manifest, or any verification problem, refuses with
 * BACKUP_INCOMPLETE), every target directory is checked (TARGET_NOT_EMPTY) and created, then the copy, then the
 * recovery files, ownership and fsync. A failure after the first directory was created removes what this run
 * created (and empties what it found empty), as pg_basebackup does.
 *
 * Recovery files: settings are appended to postgresql.auto.conf (read after postgresql.conf, so they win; later
 * lines win over earlier ones, such as a -R backup's primary_conninfo), then the signal file. When the request
 * configures recovery, signal files the backup carried (-R writes standby.signal) are removed first, because
 * standby.signal would silently override recovery.signal.
 *
 * Ownership: files belong to the invoking user unless `owner` (an OS user name) or `serverOwner` (the user
 * src/cluster runs PostgreSQL as; what drill and demo need) asks otherwise.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, promises as fs } from 'node:fs';
import { join, relative, resolve, isAbsolute } from 'node:path';
import { UsageError, VerifyError, fsError } from '../errors/index.ts';
import { canTraverse, serverRunAs } from '../cluster/os-user.ts';
import { renderSettings, type SettingValue } from '../cluster/server-files.ts';
import { fsCall, syncTree } from '../pipeline/destination/fs-helpers.ts';
import { verifyBackup, type VerifyReport } from '../verify/index.ts';
import type { BackupLabel } from './backup-files.ts';
import { inspectBackup, type BackupSource } from './backup-source.ts';
import { copyPlainBackup, type TablespacePlacement } from './plain-copy.ts';
import { planRecovery, requestsRecovery, type RecoveryRequest, type SignalFile } from './recovery-settings.ts';
import { extractTarBackup, linkTablespaces } from './tar-restore.ts';
import { TargetDirs, chownTree, removeFile } from './target-dirs.ts';
import { stageBackupWal, type StagedWal } from './wal-staging.ts';

export interface RestoreOptions {
  readonly targetDir: string;
  /** -T OLDDIR=NEWDIR, by the tablespace's location at backup time. */
  readonly tablespaceMapping?: ReadonlyMap<string, string>;
  /** Where tablespace `oid` goes, ahead of the mapping (drill puts every tablespace in its scratch directory). */
  readonly tablespaceTarget?: (oid: string, location: string) => string | undefined;
  readonly recovery?: RecoveryRequest;
  /** More settings for postgresql.auto.conf, written after the recovery settings. */
  readonly settings?: Readonly<Record<string, SettingValue>>;
  /** Verify against backup_manifest first (default true). */
  readonly verify?: boolean;
  /** With verify: also compare file checksums, not only sizes (default true). */
  readonly verifyChecksums?: boolean;
  readonly owner?: string;
  readonly serverOwner?: boolean;
  /** Remove standby.signal/recovery.signal the backup carries even without a recovery request (drill). */
  readonly dropSignalFiles?: boolean;
  /** fsync everything written (default true). */
  readonly sync?: boolean;
  readonly signal?: AbortSignal;
}

export interface RestoreResult {
  readonly backupDir: string;
  readonly targetDir: string;
  readonly format: 'plain' | 'tar';
  /** From the restored PG_VERSION; null if it has none. */
  readonly major: number | null;
  readonly label: BackupLabel | null;
  readonly verify: VerifyReport | null;
  readonly tablespaces: readonly TablespacePlacement[];
  readonly signalFile: SignalFile | null;
  readonly removedSignalFiles: readonly string[];
  /** Everything appended to postgresql.auto.conf. */
  readonly settings: Readonly<Record<string, SettingValue>>;
  readonly stagedWal: StagedWal | null;
  readonly owner: { readonly name: string; readonly uid: number; readonly gid: number } | null;
  readonly dirMode: number;
  /** Plain: files and bytes copied. Tar: archive bytes read (files null). */
  readonly files: number | null;
  readonly bytes: number;
  readonly seconds: number;
  readonly warnings: readonly string[];
}

const SIGNAL_FILES: readonly SignalFile[] = ['standby.signal', 'recovery.signal'];
const PROBLEMS_IN_DETAIL = 20;

export async function restoreBackup(backupDir: string, options: RestoreOptions): Promise<RestoreResult> {
  const started = performance.now();
  const request = options.recovery ?? {};
  const plan = planRecovery(request);
  const warnings = [...plan.warnings];
  const targetDir = resolve(options.targetDir);
  const source = await inspectBackup(backupDir);
  if (isInside(targetDir, source.dir) || isInside(source.dir, targetDir)) {
    throw new UsageError('OPTION_INVALID', `target directory "${targetDir}" overlaps the backup "${source.dir}"`);
  }
  if (source.label?.isIncremental === true) {
    throw new UsageError('OPTION_INVALID', `backup "${source.dir}" is an incremental backup, not a data directory`,
      { hint: 'Combine it with the backups it depends on first (pg_combinebackup).' });
  }
  const owner = resolveOwner(options);
  if (owner === null && process.getuid?.() === 0) {
    warnings.push('the restored files belong to root, and PostgreSQL refuses to run as root: give them to its OS user with --owner');
  }
  const verify = options.verify === false ? null : await verifyOrRefuse(source, options, request);
  if (verify === null) warnings.push('backup not verified (--no-verify): it may be incomplete or damaged');
  if (source.label === null) warnings.push('the backup has no backup_label: PostgreSQL will run crash recovery, not backup recovery');
  const placements = placeTablespaces(source, options, warnings);

  const targets = new TargetDirs(source.dirMode);
  const fileMode = source.dirMode & 0o666;
  try {
    await targets.prepare(targetDir, 'directory');
    for (const placement of placements) await targets.prepare(placement.to, 'tablespace directory');
    let files: number | null = null;
    let bytes: number;
    if (source.format === 'plain') {
      ({ files, bytes } = await copyPlainBackup(source.dir, targetDir, placements, source.dirMode, options.signal));
    } else {
      bytes = await extractTarBackup({
        targetDir, archives: source.archives, placements, dirMode: source.dirMode,
        startLsn: source.label?.startLsn ?? 0n, startTli: source.label?.startTli ?? 1, ...(options.signal === undefined ? {} : { signal: options.signal }),
      });
      await linkTablespaces(targetDir, placements);
    }
    const removedSignalFiles: string[] = [];
    for (const name of SIGNAL_FILES) {
      if (!existsSync(join(targetDir, name))) continue;
      if (requestsRecovery(request) || options.dropSignalFiles === true) {
        await removeFile(join(targetDir, name));
        removedSignalFiles.push(name);
      } else {
        warnings.push(`the backup carries ${name}: the restored cluster will start ${name === 'standby.signal' ? 'as a standby' : 'in targeted recovery'}`);
      }
    }
    const stagedWal = plan.stageWal ? await stageBackupWal(targetDir, source.dirMode, fileMode) : null;
    if (stagedWal?.files === 0) warnings.push('the backup holds no WAL to replay: recovery will fail unless WAL is added to pg_wal_restore');
    const settings = { ...plan.settings, ...options.settings };
    await appendAutoConf(targetDir, settings, fileMode);
    if (plan.signalFile !== null) {
      const path = join(targetDir, plan.signalFile);
      await fsCall('write file', path, () => fs.writeFile(path, '', { mode: fileMode }));
    }
    const roots = [targetDir, ...placements.map((placement) => placement.to)];
    if (owner !== null) {
      for (const root of roots) await chownTree(root, owner.uid, owner.gid);
      if (!canTraverse(targetDir, owner)) warnings.push(`OS user "${owner.name}" cannot reach "${targetDir}": a parent directory is not searchable for it`);
    }
    if (options.sync ?? true) for (const root of roots) await syncTree(root);
    return {
      backupDir: source.dir, targetDir, format: source.format, major: await readMajor(targetDir), label: source.label, verify,
      tablespaces: placements, signalFile: plan.signalFile, removedSignalFiles, settings, stagedWal, owner, dirMode: source.dirMode,
      files, bytes, seconds: Math.round(performance.now() - started) / 1000, warnings,
    };
  } catch (error) {
    await targets.undo();
    throw error;
  }
}

async function verifyOrRefuse(source: BackupSource, options: RestoreOptions, request: RecoveryRequest): Promise<VerifyReport> {
  if (!existsSync(join(source.dir, 'backup_manifest'))) {
    throw new VerifyError('BACKUP_INCOMPLETE', `backup "${source.dir}" has no backup_manifest`, {
      hint: 'The backup did not finish, or was taken without a manifest; --no-verify restores it without checking.',
    });
  }
  // With a restore command the WAL comes from the archive; the backup's own WAL need not be complete.
  const report = await verifyBackup(source.dir, { skipChecksums: options.verifyChecksums === false, skipWal: request.restoreCommand !== undefined });
  if (report.ok) return report;
  const [first] = report.problems;
  const more = report.problems.length > 1 ? ` (and ${report.problems.length - 1} more problems)` : '';
  throw new VerifyError('BACKUP_INCOMPLETE', `backup "${source.dir}" failed verification: ${first?.message ?? 'unknown problem'}${more}`, {
    details: {
      detail: report.problems.slice(0, PROBLEMS_IN_DETAIL).map((problem) => problem.message).join('\n'),
      problems: report.problems,
    },
  });
}

function placeTablespaces(source: BackupSource, options: RestoreOptions, warnings: string[]): TablespacePlacement[] {
  const mapping = new Map([...(options.tablespaceMapping ?? new Map<string, string>())].map(([from, to]) => [resolve(from), resolve(to)]));
  const placements = source.tablespaces.map(({ oid, from }) => {
    const to = resolve(options.tablespaceTarget?.(oid, from) ?? mapping.get(from) ?? from);
    mapping.delete(from);
    return { oid, from, to };
  });
  for (const unused of mapping.keys()) warnings.push(`tablespace mapping for "${unused}" matches no tablespace of the backup`);
  const seen = new Set<string>();
  for (const { to } of placements) {
    if (seen.has(to)) throw new UsageError('OPTION_CONFLICT', `two tablespaces would be restored into "${to}"`);
    seen.add(to);
  }
  return placements;
}

function resolveOwner(options: RestoreOptions): RestoreResult['owner'] {
  if (options.owner !== undefined) {
    const id = (flag: string): number => {
      try {
        return Number(execFileSync('id', [flag, options.owner as string], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim());
      } catch {
        throw new UsageError('OPTION_INVALID', `OS user "${options.owner}" does not exist`);
      }
    };
    return { name: options.owner, uid: id('-u'), gid: id('-g') };
  }
  if (options.serverOwner !== true) return null;
  const runAs = serverRunAs();
  return runAs === null ? null : { name: 'postgres', ...runAs };
}

async function appendAutoConf(targetDir: string, settings: Readonly<Record<string, SettingValue>>, fileMode: number): Promise<void> {
  if (Object.keys(settings).length === 0) return;
  const path = join(targetDir, 'postgresql.auto.conf');
  let current = '';
  try {
    current = await fs.readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw fsError('read file', path, error);
  }
  const separator = current === '' || current.endsWith('\n') ? '' : '\n';
  const text = `${separator}# written by pgconvoy restore\n${renderSettings(settings)}`;
  await fsCall('write file', path, () => fs.appendFile(path, text, { mode: fileMode }));
}

async function readMajor(targetDir: string): Promise<number | null> {
  try {
    const major = Number.parseInt((await fs.readFile(join(targetDir, 'PG_VERSION'), 'utf8')).trim(), 10);
    return Number.isFinite(major) ? major : null;
  } catch {
    return null;
  }
}

function isInside(path: string, dir: string): boolean {
  const rel = relative(dir, path);
  return rel === '' || (!rel.startsWith('..') && !isAbsolute(rel));
}
