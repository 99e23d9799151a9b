/**
 * Stage 2 of a plain backup: walk the directory, match every regular file against the manifest (extra, size,
 * not a regular file) and collect the checksum jobs for stage 3. Like pg_verifybackup it follows symlinks
 * (pg_tblspc/<oid> links to the tablespace copy), skips the ignore list, and after an unreadable directory
 * stops reporting anything below it.
 *
 * Synchronous stat calls are the fast way to walk a hot directory tree in Node (the async ones queue on the
 * 4-thread pool); the walk yields to the event loop now and then so signals and progress stay live.
 */
import { closeSync, openSync, readSync, readdirSync, statSync, type Dirent } from 'node:fs';
import { bytesToBytePath, displayPath, fsPath } from '../manifest/byte-path.ts';
import type { BackupManifest } from '../manifest/reader.ts';
import type { HashJob } from './file-hasher.ts';
import type { FileMatcher } from './file-matcher.ts';
import type { IgnoreList } from './ignore.ts';
import { errorReason, messages, type ProblemList } from './report.ts';
import { checkControlSystemId } from './system-id.ts';

const YIELD_EVERY = 2000;

export interface WalkContext {
  readonly manifest: BackupManifest;
  readonly matcher: FileMatcher;
  readonly ignore: IgnoreList;
  readonly problems: ProblemList;
  readonly wantChecksums: boolean;
  /** Throws when the run was cancelled; called whenever the walk yields. */
  readonly checkAbort: () => void;
}

/** `root` is a byte string (byte-path.ts). */
export async function walkPlainBackup(root: string, context: WalkContext): Promise<HashJob[]> {
  const { manifest, matcher, ignore, problems, wantChecksums } = context;
  const jobs: HashJob[] = [];
  const pending: (string | null)[] = [null];
  let sinceYield = 0;
  while (pending.length > 0) {
    const relDir = pending.pop() as string | null;
    const dirPath = relDir === null ? root : `${root}/${relDir}`;
    let entries: Dirent<Buffer>[];
    try {
      entries = readdirSync(fsPath(dirPath), { withFileTypes: true, encoding: 'buffer' });
    } catch (error) {
      const shown = displayPath(relDir ?? '.');
      problems.add({ code: 'FILE_UNREADABLE', path: shown, message: `could not open directory "${shown}": ${errorReason(error)}` });
      if (relDir !== null) ignore.add(relDir);
      continue;
    }
    for (const entry of entries) {
      const name = bytesToBytePath(entry.name);
      const rel = relDir === null ? name : `${relDir}/${name}`;
      if (ignore.matches(rel)) continue;
      if (++sinceYield >= YIELD_EVERY) {
        sinceYield = 0;
        await new Promise((resolve) => setImmediate(resolve));
        context.checkAbort();
      }
      if (entry.isDirectory()) {
        pending.push(rel);
        continue;
      }
      const full = `${root}/${rel}`;
      let size: number;
      try {
        const stats = statSync(fsPath(full));
        if (stats.isDirectory()) {
          pending.push(rel);
          continue;
        }
        if (!stats.isFile()) {
          problems.add({ code: 'FILE_NOT_REGULAR', path: displayPath(rel), message: messages.notRegular(displayPath(rel)) });
          continue;
        }
        size = stats.size;
      } catch (error) {
        const shown = displayPath(rel);
        problems.add({ code: 'FILE_UNREADABLE', path: shown, message: `could not stat file or directory "${shown}": ${errorReason(error)}` });
        ignore.add(rel);
        continue;
      }
      const entryToHash = matcher.match(rel, size);
      if (manifest.version === 2 && rel === 'global/pg_control' && manifest.systemId !== null) {
        checkControlSystemId(readHead(full), manifest.systemId, problems);
      }
      if (entryToHash !== null && wantChecksums) {
        jobs.push({ index: entryToHash.index, path: full, size, algorithm: entryToHash.algorithm });
      }
    }
  }
  return jobs;
}

/** The first bytes of a file, or nothing if it cannot be read (the checksum stage reports that). */
function readHead(full: string): Buffer {
  const head = Buffer.alloc(16);
  try {
    const fd = openSync(fsPath(full), 'r');
    try {
      return head.subarray(0, readSync(fd, head, 0, head.length, 0));
    } finally {
      closeSync(fd);
    }
  } catch {
    return Buffer.alloc(0);
  }
}
