/**
 * A small fake data directory for the walker and convoy tests: the shapes PostgreSQL's exclusion rules care about
 * (unlogged and temporary relations, excluded files and directories, pg_wal, a tablespace symlink), with file
 * contents derived from their names so a test can tell every byte that arrived. Not a cluster: nothing here is
 * started, and relation files are not valid pages (tests that verify pages use real clusters).
 */
import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { pgVersionRules } from '../../../../src/util/pg-versions.ts';
import type { ArchiveLayout } from '../../../../src/serve/backup/archive-walk.ts';

/** Files a base backup must contain (relative names), with their sizes. */
export const SENT_FILES: Readonly<Record<string, number>> = {
  PG_VERSION: 3,
  'postgresql.conf': 100,
  'base/1/1259': 3 * 8192,
  'base/1/1259_fsm': 8192,
  'base/1/16384_init': 0,
  'base/1/pg_filenode.map': 512,
  'base/1/16500.1': 40_000,
  'global/1262': 8192,
  'pg_xact/0000': 8192,
  'pg_stat/pgstat.stat': 77,
};

const NOT_SENT_FILES = [
  'postmaster.pid', 'backup_label', 'base/1/16384', 'base/1/16384_vm', 'base/1/t3_999', 'global/pg_control',
  'global/pg_internal.init', 'pg_wal/000000010000000000000001', 'pg_stat_tmp/global.stat', 'pg_replslot/s/state',
  'base/pgsql_tmp/pgsql_tmp1.0',
];

/** Deterministic content: the name repeated, so a misplaced byte shows. */
export function contentOf(name: string, size: number): Buffer {
  const out = Buffer.alloc(size);
  const pattern = Buffer.from(`${name}|`);
  for (let at = 0; at < size; at += pattern.length) pattern.copy(out, at);
  return out;
}

export function makeFakeDataDir(root: string): { dataDir: string; tablespaceTarget: string } {
  const dataDir = join(root, 'data');
  const tablespaceTarget = join(root, 'ts');
  for (const [name, size] of Object.entries(SENT_FILES)) write(dataDir, name, contentOf(name, size));
  for (const name of NOT_SENT_FILES) write(dataDir, name, contentOf(name, 100));
  mkdirSync(join(dataDir, 'pg_wal', 'archive_status'), { recursive: true });
  mkdirSync(join(dataDir, 'pg_tblspc'), { recursive: true });
  mkdirSync(join(tablespaceTarget, 'PG_15_202209061', '5'), { recursive: true });
  write(tablespaceTarget, 'PG_15_202209061/5/16401', contentOf('ts-16401', 8192));
  write(tablespaceTarget, 'other-version/x', contentOf('x', 10));
  symlinkSync(tablespaceTarget, join(dataDir, 'pg_tblspc', '16400'));
  return { dataDir, tablespaceTarget };
}

export function mainLayout(dataDir: string, major = 15): ArchiveLayout {
  return { kind: 'main', root: dataDir, versionDir: null, skipDirs: new Set(), rules: pgVersionRules(major), dirCreateMode: 0o700 };
}

export function tablespaceLayout(location: string, major = 15): ArchiveLayout {
  return { kind: 'tablespace', root: location, versionDir: 'PG_15_202209061', skipDirs: new Set(), rules: pgVersionRules(major), dirCreateMode: 0o700 };
}

function write(root: string, name: string, content: Buffer): void {
  mkdirSync(dirname(join(root, name)), { recursive: true });
  writeFileSync(join(root, name), content);
}
