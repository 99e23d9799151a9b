/**
 * The tablespaces a backup sends as archives of their own, read from pg_tblspc when the backup starts (as
 * do_pg_backup_start lists them): each symlink is a tablespace at its target; a real directory is an in-place
 * tablespace, sent inside base.tar up to 15 and as its own archive (location `pg_tblspc/<oid>`) from 16.
 */
import { lstat, readdir, readlink, realpath } from 'node:fs/promises';
import { join, relative, isAbsolute } from 'node:path';
import { fsError } from '../../errors/index.ts';
import type { PgVersionRules } from '../../util/pg-versions.ts';
import type { TablespaceLink } from './label.ts';

export interface Tablespace {
  readonly oid: number;
  /** What the tablespace result set and tablespace_map name: the symlink target, or `pg_tblspc/<oid>` in place. */
  readonly location: string;
  /** Where to read it (absolute). */
  readonly root: string;
  readonly isInPlace: boolean;
  /** Its path relative to the data directory when it lies inside it (so base.tar must not descend there). */
  readonly insideDataDir: string | null;
}

export async function listTablespaces(dataDir: string, rules: PgVersionRules): Promise<Tablespace[]> {
  const dir = join(dataDir, 'pg_tblspc');
  let names: string[];
  try {
    names = await readdir(dir);
  } catch (error) {
    throw fsError('open directory', dir, error);
  }
  const out: Tablespace[] = [];
  const realDataDir = await realpath(dataDir);
  for (const name of names.filter((n) => /^[0-9]+$/.test(n)).sort((a, b) => Number(a) - Number(b))) {
    const path = join(dir, name);
    const stat = await lstat(path).catch(() => null);
    if (stat === null) continue; // dropped meanwhile
    if (stat.isSymbolicLink()) {
      const location = await readlink(path);
      const real = await realpath(path).catch(() => location);
      const inside = relative(realDataDir, real);
      const insideDataDir = inside !== '' && !inside.startsWith('..') && !isAbsolute(inside) ? inside : null;
      out.push({ oid: Number(name), location, root: location, isInPlace: false, insideDataDir });
    } else if (stat.isDirectory() && rules.inPlaceTablespaceArchive) {
      out.push({ oid: Number(name), location: `pg_tblspc/${name}`, root: path, isInPlace: true, insideDataDir: `pg_tblspc/${name}` });
    }
  }
  return out;
}

/** The entries of tablespace_map: symlinked tablespaces only, never in-place ones. */
export function mapLinks(tablespaces: readonly Tablespace[]): TablespaceLink[] {
  return tablespaces.filter((tablespace) => !tablespace.isInPlace).map(({ oid, location }) => ({ oid, location }));
}
