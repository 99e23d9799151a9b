/**
 * `verify`: checks a stored base backup against its backup_manifest as pg_verifybackup does, for plain and
 * tar backups (compressed or not), and checks its WAL with src/wal instead of pg_waldump.
 *
 * Stages, in pg_verifybackup's order: (1) read the manifest (its own checksum, its syntax; fatal);
 * (2) match what the backup holds against it (extra, missing, wrong size); (3) checksum every file that
 * passed (2); (4) the WAL of every WAL-Range, then the WAL's identity (wal-identity.ts: every segment from
 * this cluster, the start segment on backup_label's timeline). In a plain backup (3) runs on this thread plus
 * worker threads and (4) runs alongside it; in a tar backup (2)-(4) happen in one pass over the archives,
 * nothing extracted. Problems are listed in stage order.
 *
 * Only an unreadable backup directory (or cancellation) throws; everything wrong with the backup itself is a
 * problem in the report, so `ok` is the verdict.
 */
import { join } from 'node:path';
import { ConvoyError, fsError } from '../errors/index.ts';
import { displayPath, toBytePath } from '../manifest/byte-path.ts';
import { readManifestFile, type BackupManifest } from '../manifest/reader.ts';
import { walDirectorySource } from '../wal/index.ts';
import { hashFiles } from './checksum-pool.ts';
import type { HashJob, HashOutcome } from './file-hasher.ts';
import { FileMatcher, digestProblem } from './file-matcher.ts';
import { IgnoreList } from './ignore.ts';
import { walkPlainBackup } from './plain-walk.ts';
import { ProblemList, StopVerification, messages, type VerifyProblem, type VerifyReport, type VerifyWalRangeResult } from './report.ts';
import { findTarArchives, isTarBackup, scanTarArchive } from './tar-backup.ts';
import { TarWalCollector } from './tar-wal.ts';
import { addPlainSegments, plainIdentity, WalIdentity } from './wal-identity.ts';
import { DEFAULT_SEGMENT_BYTES, describe, plainSegmentBytes, verifyWal } from './wal-stage.ts';

export interface VerifyOptions {
  readonly skipChecksums?: boolean;
  readonly skipWal?: boolean;
  readonly exitOnError?: boolean;
  /** Relative paths to skip (a directory skips its subtree), on top of pg_verifybackup's fixed list. */
  readonly ignore?: string[];
  readonly manifestPath?: string;
  readonly onProgress?: (bytesDone: number, bytesTotal: number) => void;
  /** Checksum worker threads besides the calling one, for plain backups; default: one per further CPU. */
  readonly workers?: number;
  /** Cancels the run: verifyBackup rejects with the signal's reason. */
  readonly signal?: AbortSignal;
}

interface Run {
  readonly root: string;
  readonly options: VerifyOptions;
  readonly manifest: BackupManifest;
  readonly ignore: IgnoreList;
  readonly matcher: FileMatcher;
  /** Stage 2, stage 3 and stage 4 problems, kept apart so the report lists them in stage order. */
  readonly stages: readonly [ProblemList, ProblemList, ProblemList];
  readonly checkAbort: () => void;
  bytesChecked: number;
  walRanges: VerifyWalRangeResult[];
}

export async function verifyBackup(dir: string, options: VerifyOptions = {}): Promise<VerifyReport> {
  const started = performance.now();
  let format: VerifyReport['format'];
  try {
    format = isTarBackup(dir) ? 'tar' : 'plain';
  } catch (error) {
    throw fsError('open directory', dir, error);
  }
  const exitOnError = options.exitOnError ?? false;
  const report = (problems: VerifyProblem[], run: Run | null): VerifyReport => ({
    ok: problems.length === 0, format, problems, filesChecked: run?.matcher.matchedCount ?? 0,
    bytesChecked: run?.bytesChecked ?? 0, walRanges: run?.walRanges ?? [],
    seconds: Math.round(performance.now() - started) / 1000,
  });

  let manifest: BackupManifest;
  const manifestPath = options.manifestPath ?? join(dir, 'backup_manifest');
  try {
    manifest = await readManifestFile(manifestPath);
  } catch (error) {
    if (!(error instanceof ConvoyError)) throw error;
    return report([{ code: 'MANIFEST_INVALID', path: manifestPath, message: error.message }], null);
  }
  const stages = [new ProblemList(exitOnError), new ProblemList(exitOnError), new ProblemList(exitOnError)] as const;
  const ignore = new IgnoreList(options.ignore);
  const run: Run = {
    root: dir, options, manifest, ignore, matcher: new FileMatcher(manifest, ignore, stages[0]), stages,
    checkAbort: () => options.signal?.throwIfAborted(), bytesChecked: 0, walRanges: [],
  };
  try {
    await (format === 'plain' ? verifyPlain(run) : verifyTar(run));
  } catch (error) {
    if (!(error instanceof StopVerification)) throw error;
  }
  return report(stages.flatMap((stage) => stage.items), run);
}

async function verifyPlain(run: Run): Promise<void> {
  const { root, options, manifest, stages } = run;
  const jobs = await walkPlainBackup(toBytePath(root), {
    manifest, matcher: run.matcher, ignore: run.ignore, problems: stages[0], wantChecksums: options.skipChecksums !== true,
    checkAbort: run.checkAbort,
  });
  run.matcher.reportMissing();

  const walDir = join(root, 'pg_wal');
  const segmentBytes = plainSegmentBytes(walDir);
  run.walRanges = manifest.walRanges.map((range) => describe(range, segmentBytes));
  const identity = options.skipWal === true ? null : plainIdentity(root);
  const wal = identity === null ? null
    : verifyWal(manifest.walRanges, walDirectorySource(walDir), segmentBytes, identity.systemId ?? manifest.systemId, stages[2]);
  wal?.catch(() => undefined); // awaited below; an early StopVerification from stage 3 must not leave it unhandled

  const total = jobs.reduce((sum, job) => sum + job.size, 0);
  let done = 0;
  const prefix = toBytePath(root).length + 1;
  const late: [number, VerifyProblem][] = [];
  const byIndex = new Map(jobs.map((job) => [job.index, job]));
  await hashFiles(jobs, {
    ...(options.workers === undefined ? {} : { workers: options.workers }),
    onOutcome: (outcome) => {
      run.bytesChecked += outcome.bytesRead;
      const job = byIndex.get(outcome.index) as HashJob;
      const problem = checksumProblem(job.path.slice(prefix), outcome, run);
      if (problem === null) return;
      if (options.exitOnError === true) stages[1].add(problem);
      late.push([outcome.index, problem]);
    },
    onBytes: (bytes) => {
      run.checkAbort();
      done += bytes;
      options.onProgress?.(done, total);
    },
  });
  for (const [, problem] of late.sort((a, b) => a[0] - b[0])) stages[1].add(problem);
  if (wal === null || identity === null) return;
  run.walRanges = await wal;
  addPlainSegments(identity, walDir);
  identity.check(stages[2]);
}

/** Stage 3's verdict on one file, or null when its checksum matches. */
function checksumProblem(path: string, outcome: HashOutcome, run: Run): VerifyProblem | null {
  const shown = displayPath(path);
  if (outcome.error !== null) {
    return { code: 'FILE_UNREADABLE', path: shown, message: `could not ${outcome.error.action} file "${shown}": ${outcome.error.reason}` };
  }
  const entry = run.manifest.files.get(path);
  if (entry === undefined || outcome.checksum === null) return null;
  if (outcome.bytesRead !== entry.size) {
    return {
      code: 'FILE_SIZE_MISMATCH', path: shown, message: messages.shortRead(shown, entry.size, outcome.bytesRead),
      expected: entry.size, actual: outcome.bytesRead,
    };
  }
  return digestProblem(shown, entry, outcome.checksum);
}

async function verifyTar(run: Run): Promise<void> {
  const { root, options, manifest, stages } = run;
  const archives = findTarArchives(root, run.ignore, stages[0]);
  const identity = options.skipWal === true ? null : new WalIdentity();
  const wal = identity === null ? null
    : new TarWalCollector(manifest.walRanges, () => identity.systemId ?? manifest.systemId, stages[2]);
  run.walRanges = manifest.walRanges.map((range) => describe(range, DEFAULT_SEGMENT_BYTES));
  const scanned = archives.filter((archive) => archive.kind !== 'wal' || wal !== null);
  const total = scanned.reduce((sum, archive) => sum + archive.bytes, 0);
  let done = 0;
  try {
    for (const archive of scanned) {
      await scanTarArchive(archive, {
        root, manifest, matcher: run.matcher, ignore: run.ignore, problems: stages[0],
        wantChecksums: options.skipChecksums !== true, wal, identity,
        onArchiveBytes: (bytes) => {
          done += bytes;
          options.onProgress?.(done, total);
        },
        onHashedBytes: (bytes) => {
          run.bytesChecked += bytes;
        },
        checkAbort: run.checkAbort,
      });
    }
    run.matcher.reportMissing();
    if (wal !== null) run.walRanges = await wal.finish();
    identity?.check(stages[2]);
  } finally {
    wal?.abandon();
  }
}
