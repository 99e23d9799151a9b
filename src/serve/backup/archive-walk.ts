/**
 * One archive's tree (the data directory, or a tablespace's version directory) as a lazy sequence of entries in a
 * fixed order: depth first, each directory's names sorted by bytes. The order is what lets several backups share
 * one read (convoy.ts): every entry has a `key` (its path components joined by NUL), and keys compare as plain
 * strings in exactly walk order, so "everything after the entry being read when I joined" is a key comparison,
 * lap after lap, even as files come and go.
 *
 * Applies PostgreSQL's exclusion rules (exclusions.ts) as its walker does: skipped names, directories sent empty,
 * pg_wal sent as an empty directory plus its synthetic `./pg_wal/archive_status` (and 17+ `./pg_wal/summaries`),
 * symlinks honoured only directly in pg_tblspc, unlogged and temporary relations left out, global/pg_control
 * left for the end of each backup. A file that vanishes between readdir and lstat is skipped, as PostgreSQL does.
 *
 * Does not read file contents, and knows nothing of backups: per-backup choices (TABLESPACE_MAP) are flags on
 * the entries (`inTablespaceDir`) for the consumer to apply.
 */
import { lstatSync, type Stats } from 'node:fs';
import { readdir, readlink } from 'node:fs/promises';
import { fsError } from '../../errors/index.ts';
import { displayPath, fsPath } from '../../manifest/byte-path.ts';
import type { PgVersionRules } from '../../util/pg-versions.ts';
import {
  hasExcludedContents, isChecksummedByPath, isDatabaseDirName, isExcludedFileName, looksLikeTempRelName,
  parseRelationFileName,
} from './exclusions.ts';

export interface EntryStat {
  readonly mode: number;
  readonly uid: number;
  readonly gid: number;
  readonly size: number;
  readonly mtimeSec: number;
}

export interface ArchiveEntry {
  /** Path components joined by NUL: string order is walk order. */
  readonly key: string;
  /** The tar member name (a byte string), relative to the archive root. */
  readonly name: string;
  /** Absolute path to read (a byte string). */
  readonly path: string;
  /** The path as PostgreSQL names the file in messages (`./base/5/1259`, or below the tablespace location), a byte string. */
  readonly pgPath: string;
  readonly kind: 'file' | 'directory' | 'symlink' | 'special';
  readonly stat: EntryStat;
  readonly linkTarget: string | null;
  /** Directory entries from the root down to this entry's parent, for a backup that joins in the middle. */
  readonly ancestors: readonly ArchiveEntry[];
  /** Below ./pg_tblspc: left out by backups that send a tablespace_map instead. */
  readonly inTablespaceDir: boolean;
  /** Segment number to mix into page checksums when the file's pages are verified; null when they are not. */
  readonly checksumSegno: number | null;
}

export interface ArchiveLayout {
  readonly kind: 'main' | 'tablespace';
  /** The data directory, or the tablespace location (the symlink target). */
  readonly root: string;
  /** Tablespace archives hold only this directory of the location (`PG_15_202209061`). */
  readonly versionDir: string | null;
  /** Main archive: relative paths of directories that are tablespaces with an archive of their own. */
  readonly skipDirs: ReadonlySet<string>;
  readonly rules: PgVersionRules;
  /** Mode for directory entries made from symlinks (pg_dir_create_mode: 0700, or 0750 with group access). */
  readonly dirCreateMode: number;
}

const SEP = '\u0000';

/** Walks the archive; with `afterKey`, yields only entries whose key is greater (subtrees before it are not read). */
export async function* walkArchive(layout: ArchiveLayout, afterKey: string | null = null): AsyncGenerator<ArchiveEntry> {
  if (layout.kind === 'tablespace') {
    const versionDir = layout.versionDir as string;
    const path = `${layout.root}/${versionDir}`;
    const stat = statOrNull(path);
    if (stat === null || !stat.isDirectory()) return; // dropped meanwhile: an empty archive, as PostgreSQL sends
    const entry = makeEntry(layout, { key: versionDir, name: versionDir, path, kind: 'directory', stat, ancestors: [] });
    if (isAfter(entry.key, afterKey)) yield entry;
    if (mayHaveKeysAfter(entry.key, afterKey)) yield* walkDir(layout, entry, [entry], afterKey);
    return;
  }
  yield* walkDir(layout, null, [], afterKey);
}

interface DirContext {
  readonly parent: ArchiveEntry | null;
  /** The parent is a database directory (temporary relations are skipped there). */
  readonly isDatabaseDir: boolean;
  /** Relation files may live here (unlogged forks are skipped there). */
  readonly isRelationDir: boolean;
}

async function* walkDir(layout: ArchiveLayout, dir: ArchiveEntry | null, ancestors: readonly ArchiveEntry[],
  afterKey: string | null): AsyncGenerator<ArchiveEntry> {
  const dirPath = dir === null ? layout.root : dir.path;
  let names: string[];
  try {
    names = await readdir(fsPath(dirPath), { encoding: 'latin1' });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw fsError('open directory', displayPath(displayOf(layout, dir?.name ?? '')), error);
  }
  names.sort();
  const context = dirContext(layout, dir);
  const nameSet = new Set(names);
  for (const name of names) {
    if (isExcludedFileName(name)) continue;
    const relation = context.isRelationDir ? parseRelationFileName(name) : null;
    if (relation !== null && relation.fork !== 'init' && nameSet.has(`${relation.relNumber}_init`)) continue; // unlogged
    if (context.isDatabaseDir && looksLikeTempRelName(name)) continue;
    const relName = dir === null ? name : `${dir.name}/${name}`;
    if (relName === 'global/pg_control') continue; // sent last, by each backup for itself
    const key = dir === null ? name : `${dir.key}${SEP}${name}`;
    if (!mayHaveKeysAfter(key, afterKey)) continue;
    const path = `${dirPath}/${name}`;
    const stat = statOrNull(path);
    if (stat === null) continue; // vanished since readdir
    const base = { key, name: relName, path, ancestors };
    if (hasExcludedContents(name) || (layout.kind === 'main' && relName === 'pg_wal')) {
      const asDir = makeEntry(layout, { ...base, kind: 'directory', stat, modeOverride: stat.isSymbolicLink() ? layout.dirCreateMode : null });
      if (isAfter(key, afterKey)) yield asDir;
      if (relName === 'pg_wal') yield* walSubdirs(layout, asDir, ancestors, afterKey);
      continue;
    }
    if (stat.isSymbolicLink()) {
      if (dir?.name === 'pg_tblspc' && layout.kind === 'main') {
        const target = await readlink(fsPath(path), { encoding: 'latin1' });
        if (isAfter(key, afterKey)) yield makeEntry(layout, { ...base, kind: 'symlink', stat, linkTarget: target });
      } else if (isAfter(key, afterKey)) {
        yield makeEntry(layout, { ...base, kind: 'special', stat });
      }
    } else if (stat.isDirectory()) {
      const entry = makeEntry(layout, { ...base, kind: 'directory', stat });
      if (isAfter(key, afterKey)) yield entry;
      if (!(layout.kind === 'main' && layout.skipDirs.has(relName))) yield* walkDir(layout, entry, [...ancestors, entry], afterKey);
    } else if (stat.isFile()) {
      if (isAfter(key, afterKey)) yield makeEntry(layout, { ...base, kind: 'file', stat, checksumSegno: checksumSegno(layout, relName, name, relation) });
    } else if (isAfter(key, afterKey)) {
      yield makeEntry(layout, { ...base, kind: 'special', stat });
    }
  }
}

/** `./pg_wal/archive_status` (and 17+ `./pg_wal/summaries`) reuse pg_wal's own stat, as PostgreSQL does. */
function* walSubdirs(layout: ArchiveLayout, walDir: ArchiveEntry, ancestors: readonly ArchiveEntry[],
  afterKey: string | null): Generator<ArchiveEntry> {
  const names = layout.rules.walSummariesDir ? ['archive_status', 'summaries'] : ['archive_status'];
  for (const name of names) {
    const key = `${walDir.key}${SEP}${name}`;
    if (isAfter(key, afterKey)) {
      yield { ...walDir, key, name: `./pg_wal/${name}`, path: `${walDir.path}/${name}`, pgPath: `./pg_wal/${name}`, ancestors: [...ancestors, walDir] };
    }
  }
}

function dirContext(layout: ArchiveLayout, dir: ArchiveEntry | null): DirContext {
  if (dir === null) return { parent: null, isDatabaseDir: false, isRelationDir: false };
  const parts = dir.name.split('/');
  const last = parts[parts.length - 1] as string;
  const parentName = parts.length >= 2 ? parts[parts.length - 2] : null;
  const dbParent = layout.kind === 'main' ? 'base' : layout.versionDir;
  const isDatabaseDir = parts.length === 2 && parentName === dbParent && isDatabaseDirName(last);
  const isGlobal = layout.kind === 'main' && dir.name === 'global' && layout.rules.globalIsRelationDir;
  return { parent: dir, isDatabaseDir, isRelationDir: isDatabaseDir || isGlobal };
}

function checksumSegno(layout: ArchiveLayout, relName: string, name: string,
  relation: ReturnType<typeof parseRelationFileName>): number | null {
  if (layout.rules.checksumEligibility === 'relation-name') return relation === null ? null : relation.segno;
  const topDir = layout.kind === 'main' && relName.includes('/') ? relName.slice(0, relName.indexOf('/')) : null;
  if (!isChecksummedByPath(name, topDir, layout.kind === 'tablespace')) return null;
  const dot = name.indexOf('.');
  if (dot < 0) return 0;
  const segno = Number.parseInt(name.slice(dot + 1), 10);
  return Number.isInteger(segno) && segno > 0 ? segno : null; // PostgreSQL would refuse the file; we just do not verify it
}

interface EntryInput {
  readonly key: string;
  readonly name: string;
  readonly path: string;
  readonly kind: ArchiveEntry['kind'];
  readonly stat: import('node:fs').Stats;
  readonly ancestors: readonly ArchiveEntry[];
  readonly linkTarget?: string;
  readonly checksumSegno?: number | null;
  readonly modeOverride?: number | null;
}

function makeEntry(layout: ArchiveLayout, input: EntryInput): ArchiveEntry {
  const mode = input.modeOverride ?? null;
  return {
    key: input.key,
    name: input.name,
    path: input.path,
    pgPath: displayOf(layout, input.name),
    kind: input.kind,
    stat: {
      mode: mode === null ? input.stat.mode & 0o7777 : mode,
      uid: input.stat.uid,
      gid: input.stat.gid,
      size: input.kind === 'file' ? input.stat.size : 0,
      mtimeSec: Math.floor(input.stat.mtimeMs / 1000),
    },
    linkTarget: input.linkTarget ?? null,
    ancestors: input.ancestors,
    inTablespaceDir: layout.kind === 'main' && input.name.startsWith('pg_tblspc/'),
    checksumSegno: input.checksumSegno ?? null,
  };
}

function displayOf(layout: ArchiveLayout, name: string): string {
  return layout.kind === 'main' ? `./${name}` : `${layout.root}/${name}`;
}

function isAfter(key: string, afterKey: string | null): boolean {
  return afterKey === null || key > afterKey;
}

/** A subtree rooted at `key` holds keys after `afterKey` unless it sorts wholly before it. */
function mayHaveKeysAfter(key: string, afterKey: string | null): boolean {
  return afterKey === null || key >= afterKey || afterKey.startsWith(`${key}${SEP}`);
}

/**
 * Synchronous: an lstat is answered from the kernel's inode cache in microseconds, while a round trip through the
 * thread pool cost serve tens of them per file (measured), for a thousand files per lap of a small cluster.
 */
function statOrNull(path: string): Stats | null {
  try {
    return lstatSync(fsPath(path));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw fsError('stat file or directory', displayPath(path), error);
  }
}
