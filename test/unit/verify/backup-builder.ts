/**
 * Small synthetic backups for verify's unit tests: a plain directory or tar archives holding given files, a
 * backup_manifest listing them (written by src/manifest/writer.ts, tested byte for byte on its own), and
 * optionally WAL from the WAL module's test builder. Paths are byte strings, so non-UTF-8 names work.
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { after } from 'node:test';
import { checksumHex, type ChecksumAlgorithm } from '../../../src/manifest/checksum.ts';
import { writeManifest, type ManifestFileInput } from '../../../src/manifest/writer.ts';
import type { ManifestWalRange } from '../../../src/manifest/reader.ts';
import { encodeTarMember, tarEndOfArchive } from '../../../src/tar/index.ts';

const made: string[] = [];
after(async () => {
  for (const dir of made) await rm(dir, { recursive: true, force: true });
});

export async function scratchDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'pgconvoy-verify-unit-'));
  made.push(dir);
  return dir;
}

export interface BackupSpec {
  /** Byte-string path -> content. Files under pg_tblspc/<oid>/ go to <oid>.tar in tar format. */
  readonly files: ReadonlyMap<string, Buffer>;
  readonly algorithm?: ChecksumAlgorithm;
  readonly walRanges?: readonly ManifestWalRange[];
  /** WAL segment file name -> bytes: pg_wal/ (plain), pg_wal.tar (tar stream) or base.tar pg_wal/ (tar fetch). */
  readonly wal?: ReadonlyMap<string, Buffer>;
  readonly version?: 1 | 2;
  readonly systemId?: string;
}

export function manifestFor(spec: BackupSpec): Buffer {
  const algorithm = spec.algorithm ?? 'CRC32C';
  const files: ManifestFileInput[] = [...spec.files].map(([path, content]) => ({
    path, size: content.length, lastModified: '2026-01-01 00:00:00 GMT', algorithm, checksum: checksumHex(algorithm, content),
  }));
  return writeManifest(files, spec.walRanges ?? [], {
    version: spec.version ?? 1, ...(spec.systemId === undefined ? {} : { systemId: spec.systemId }),
  });
}

export async function plainBackup(spec: BackupSpec): Promise<string> {
  const root = await scratchDir();
  for (const [path, content] of spec.files) await put(root, path, content);
  await mkdir(join(root, 'pg_wal', 'archive_status'), { recursive: true });
  for (const [name, bytes] of spec.wal ?? []) await writeFile(join(root, 'pg_wal', name), bytes);
  await writeFile(join(root, 'backup_manifest'), manifestFor(spec));
  return root;
}

/** `walFirst` (with walIn base.tar): the WAL members before the files, an order no server writes but a repacked archive may have. */
export async function tarBackup(spec: BackupSpec, opts: { gzip?: boolean; walIn?: 'pg_wal.tar' | 'base.tar'; walFirst?: boolean } = {}): Promise<string> {
  const root = await scratchDir();
  const archives = new Map<string, Buffer[]>([['base', []]]);
  for (const [path, content] of spec.files) {
    const tablespace = /^pg_tblspc\/([0-9]+)\/(.+)$/s.exec(path);
    const archive = tablespace === null ? 'base' : tablespace[1] as string;
    const name = tablespace === null ? path : tablespace[2] as string;
    if (!archives.has(archive)) archives.set(archive, []);
    archives.get(archive)?.push(member(name, content));
  }
  const walIn = opts.walIn ?? 'pg_wal.tar';
  if (spec.wal !== undefined) {
    const target = walIn === 'base.tar' ? 'base' : 'pg_wal';
    if (!archives.has(target)) archives.set(target, []);
    const members = [...spec.wal].map(([name, bytes]) => member(walIn === 'base.tar' ? `pg_wal/${name}` : name, bytes));
    const list = archives.get(target) as Buffer[];
    if (opts.walFirst === true) list.unshift(...members);
    else list.push(...members);
  }
  for (const [archive, members] of archives) {
    const tar = Buffer.concat([...members, tarEndOfArchive()]);
    await writeFile(join(root, `${archive}.tar${opts.gzip === true ? '.gz' : ''}`), opts.gzip === true ? gzipSync(tar) : tar);
  }
  await writeFile(join(root, 'backup_manifest'), manifestFor(spec));
  return root;
}

function member(path: string, content: Buffer): Buffer {
  const nameBytes = Buffer.from(path, 'latin1');
  return encodeTarMember({
    name: nameBytes.toString('utf8'), nameBytes, mode: 0o600, uid: 0, gid: 0, size: content.length, mtime: 0,
    type: 'file', linkname: '',
  }, content);
}

export async function put(root: string, path: string, content: Buffer): Promise<void> {
  const full = `${root}/${path}`;
  await mkdir(Buffer.from(full.slice(0, full.lastIndexOf('/')), 'latin1'), { recursive: true });
  await writeFile(Buffer.from(full, 'latin1'), content);
}

/** The WAL test builder's default system identifier, so sample backups and their WAL belong together. */
export const SAMPLE_SYSTEM_ID = 7312345678901234567n;

/** global/pg_control as far as verify reads it: the system identifier first. */
export function controlFile(systemId: bigint): Buffer {
  const control = Buffer.alloc(8192, 0xcc);
  control.writeBigUInt64LE(systemId, 0);
  return control;
}

/** A typical small data directory: text files and a few 8 kB "relation" files, pg_control naming SAMPLE_SYSTEM_ID. */
export function sampleFiles(): Map<string, Buffer> {
  const files = new Map<string, Buffer>();
  files.set('backup_label', Buffer.from('START WAL LOCATION: 0/2000028 (file 000000010000000000000002)\n'));
  files.set('PG_VERSION', Buffer.from('15\n'));
  for (let n = 0; n < 6; n++) files.set(`base/5/${16384 + n}`, Buffer.alloc(8192, n + 1));
  files.set('global/pg_control', controlFile(SAMPLE_SYSTEM_ID));
  files.set('postgresql.auto.conf', Buffer.from('# auto\n'));
  return files;
}
