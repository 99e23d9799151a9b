/**
 * PostgreSQL's rules for what a base backup leaves out, as pure functions of names (src/backend/backup/basebackup.c
 * and storage/file/reinit.c, 15 to 18). The walker (archive-walk.ts) applies them while it reads directories; this
 * module only answers questions about one name.
 *
 * Names are byte strings (one char per byte, see manifest/byte-path.ts), so non-UTF-8 file names compare exactly.
 */

/** Directories written as empty entries (so their modes survive) whose contents are never sent. Matched at any depth. */
const EXCLUDED_DIR_CONTENTS: ReadonlySet<string> = new Set([
  'pg_stat_tmp', 'pg_replslot', 'pg_dynshmem', 'pg_notify', 'pg_serial', 'pg_snapshots', 'pg_subtrans',
]);

/** Files never sent: rebuilt at start-up, belonging to a running server, or injected by the backup itself. */
const EXCLUDED_FILES: ReadonlySet<string> = new Set([
  'postgresql.auto.conf.tmp', 'current_logfiles.tmp', 'backup_label', 'tablespace_map', 'backup_manifest',
  'postmaster.pid', 'postmaster.opts', '.DS_Store',
]);
const EXCLUDED_FILE_PREFIXES = ['pg_internal.init', 'pgsql_tmp'] as const;

/** Files under global/, base/ or a tablespace whose checksums 15 and 16 do not verify (they are not relation pages). */
const NO_CHECKSUM_FILES: ReadonlySet<string> = new Set(['pg_control', 'pg_filenode.map', 'PG_VERSION']);

export type ForkName = 'main' | 'fsm' | 'vm' | 'init';

export interface RelationFileName {
  /** The relfilenumber as written (digits), for finding the `_init` fork beside it. */
  readonly relNumber: string;
  readonly fork: ForkName;
  /** Segment number: the `.N` suffix, 0 for the first segment. */
  readonly segno: number;
}

export function isExcludedFileName(name: string): boolean {
  return EXCLUDED_FILES.has(name) || EXCLUDED_FILE_PREFIXES.some((prefix) => name.startsWith(prefix));
}

export function hasExcludedContents(name: string): boolean {
  return EXCLUDED_DIR_CONTENTS.has(name);
}

/** A database directory: all digits, directly inside base/ or a tablespace's version directory. */
export function isDatabaseDirName(name: string): boolean {
  return /^[0-9]+$/.test(name);
}

const FORK_SUFFIX = /^(?:_(fsm|vm|init))?(?:\.([0-9]+))?$/;
const MAX_OID_DIGITS = 10;

/**
 * `<relfilenumber>[_fork][.segno]`, the name of a permanent relation's file (PostgreSQL's
 * parse_filename_for_nontemp_relation); null for anything else, temporary relations included.
 */
export function parseRelationFileName(name: string): RelationFileName | null {
  const digits = /^[0-9]+/.exec(name)?.[0];
  if (digits === undefined || digits.length > MAX_OID_DIGITS || digits.startsWith('0')) return null;
  const suffix = FORK_SUFFIX.exec(name.slice(digits.length));
  if (suffix === null) return null;
  const segno = suffix[2] === undefined ? 0 : Number(suffix[2]);
  if (suffix[2] !== undefined && (segno === 0 || suffix[2].startsWith('0'))) return null;
  return { relNumber: digits, fork: (suffix[1] as ForkName | undefined) ?? 'main', segno };
}

/** `t<backend>_<relfilenumber>[_fork][.segno]`: a temporary relation's file, never backed up. */
export function looksLikeTempRelName(name: string): boolean {
  return /^t[0-9]+_[0-9]+(?:_(?:fsm|vm|init))?(?:\.[0-9]+)?$/.test(name);
}

/**
 * Whether 15/16 verify page checksums of a file: it lies under global/ or base/ of the data directory (`inMainDataDir`,
 * `topDir` its first path component) or inside a tablespace, and is not one of the few non-page files.
 */
export function isChecksummedByPath(name: string, topDir: string | null, inTablespace: boolean): boolean {
  if (!inTablespace && topDir !== 'global' && topDir !== 'base') return false;
  return !NO_CHECKSUM_FILES.has(name) && !name.startsWith('pg_internal.init');
}
