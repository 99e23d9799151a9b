/**
 * Restore of a tar-format backup by feeding its archive files, as ArchiveSink calls, to the same plain-format
 * destination that `backup -Fp` extracts into (createDestination: decompression of .gz/.lz4/.zst, safe
 * extraction, tablespace mapping, exact modes). Nothing here parses tar members except the head of base.tar.
 *
 * Layout: base.tar into the data directory, <oid>.tar into its tablespace's new location, pg_wal.tar into
 * pg_wal (as the archive location "pg_wal", which the destination treats as a directory below the data dir).
 *
 * tablespace_map: a tar backup has no pg_tblspc links; PostgreSQL would create them from tablespace_map at
 * startup (only while backup_label exists) and rename the map to tablespace_map.old. We create the links
 * ourselves, pointing at the new locations, and remove the map: the result is the layout `pg_basebackup -Fp`
 * produces, complete before the server ever starts, with nothing left for startup to rewrite. The map is read
 * before extraction, from the head of base.tar (the server sends backup_label and tablespace_map first),
 * because the new locations must be checked and prepared before any byte is written.
 */
import { createReadStream, readdirSync, promises as fs } from 'node:fs';
import { join } from 'node:path';
import { AbortError, VerifyError, fsError } from '../errors/index.ts';
import { createDestination } from '../pipeline/index.ts';
import { fsCall } from '../pipeline/destination/fs-helpers.ts';
import { createDecompressor } from '../pipeline/compression/create-filter.ts';
import { compressionOfName } from '../pipeline/compression/filter.ts';
import { TarReader } from '../tar/index.ts';
import type { Lsn } from '../util/lsn.ts';
import type { TablespacePlacement } from './plain-copy.ts';
import { removeFile } from './target-dirs.ts';

export interface TarArchiveFile {
  readonly name: string;
  readonly path: string;
  readonly kind: 'base' | 'tablespace' | 'wal';
  readonly oid: string | null;
}

export interface BaseHead {
  readonly backupLabel: string | null;
  readonly tablespaceMap: string | null;
  /** Mode of the first member (backup_label is created with the server's file mode). */
  readonly fileMode: number | null;
}

const ARCHIVE_NAME = /^(base|pg_wal|[0-9]+)\.tar(\.gz|\.lz4|\.zst)?$/;
const HEAD_MEMBERS = new Set(['backup_label', 'tablespace_map']);
const HEAD_MEMBER_MAX_BYTES = 1 << 20;
const READ_BYTES = 1 << 20;
const DEFAULT_SEGMENT_BYTES = 16 << 20;

/** base first, tablespaces by OID, pg_wal last; two files for one archive (base.tar and base.tar.gz) is an error. */
export function listTarArchives(backupDir: string): TarArchiveFile[] {
  const archives: TarArchiveFile[] = [];
  const seen = new Map<string, string>();
  for (const name of readdirSync(backupDir)) {
    const match = ARCHIVE_NAME.exec(name);
    if (match === null) continue;
    const id = match[1] as string;
    const other = seen.get(id);
    if (other !== undefined) {
      throw new VerifyError('BACKUP_INCOMPLETE', `backup "${backupDir}" holds two archives for "${id}": "${other}" and "${name}"`);
    }
    seen.set(id, name);
    const kind = id === 'base' ? 'base' : id === 'pg_wal' ? 'wal' : 'tablespace';
    archives.push({ name, path: join(backupDir, name), kind, oid: kind === 'tablespace' ? id : null });
  }
  const rank = (archive: TarArchiveFile): number => (archive.kind === 'base' ? -1 : archive.kind === 'wal' ? Infinity : Number(archive.oid));
  return archives.sort((left, right) => rank(left) - rank(right));
}

/** backup_label and tablespace_map from the start of base.tar; stops reading at the first other member. */
export async function readBaseHead(archive: TarArchiveFile): Promise<BaseHead> {
  const method = compressionOfName(archive.name);
  const filter = method === null ? null : createDecompressor(method);
  const reader = new TarReader();
  const found: { backupLabel: string | null; tablespaceMap: string | null; fileMode: number | null } = { backupLabel: null, tablespaceMap: null, fileMode: null };
  let current: { name: string; chunks: Buffer[] } | null = null;
  let isDone = false;
  const take = async (chunk: Buffer): Promise<void> => {
    for (const event of isDone ? [] : reader.push(chunk)) {
      if (event.type === 'member') {
        found.fileMode ??= event.header.mode;
        const { name, size } = event.header;
        if (!HEAD_MEMBERS.has(name) || size > HEAD_MEMBER_MAX_BYTES) {
          isDone = true;
          return;
        }
        current = { name, chunks: [] };
      } else if (event.type === 'data') {
        current?.chunks.push(Buffer.from(event.chunk));
      } else if (event.type === 'member-end' && current !== null) {
        const text = Buffer.concat(current.chunks).toString('utf8');
        if (current.name === 'backup_label') found.backupLabel = text;
        else found.tablespaceMap = text;
        current = null;
      } else if (event.type === 'archive-end') {
        isDone = true;
      }
    }
  };
  const stream = createReadStream(archive.path, { highWaterMark: READ_BYTES });
  try {
    for await (const chunk of stream) {
      if (filter === null) await take(chunk as Buffer);
      else await filter.write(chunk as Buffer, take);
      if (isDone) break;
    }
  } catch (error) {
    throw fsError('read file', archive.path, error);
  } finally {
    stream.destroy();
    filter?.destroy();
  }
  return found;
}

export interface TarExtraction {
  readonly targetDir: string;
  readonly archives: readonly TarArchiveFile[];
  readonly placements: readonly TablespacePlacement[];
  readonly dirMode: 0o700 | 0o750;
  readonly startLsn: Lsn;
  readonly startTli: number;
  readonly signal?: AbortSignal;
}

/** Returns the number of archive bytes read (as stored, i.e. compressed). */
export async function extractTarBackup(job: TarExtraction): Promise<number> {
  const byOid = new Map(job.placements.map((placement) => [placement.oid, placement]));
  for (const archive of job.archives) {
    if (archive.kind === 'tablespace' && !byOid.has(archive.oid as string)) {
      throw new VerifyError('BACKUP_INCOMPLETE', `tablespace archive "${archive.name}" has no entry in "tablespace_map"`,
        { hint: 'A tar-format backup needs base.tar\'s tablespace_map to know where its tablespaces belong.' });
    }
  }
  const destination = createDestination({
    dir: job.targetDir, format: 'plain', clientCompression: null, serverCompression: null,
    tablespaceMapping: new Map(job.placements.map((placement) => [placement.from, placement.to])),
    recoveryConf: null, walMethod: 'none', manifest: false, dataDirectoryMode: job.dirMode, sync: false, noClean: false,
  });
  const sink = destination.archive;
  let bytesRead = 0;
  let failure: unknown;
  try {
    await sink.beginBackup({
      startLsn: job.startLsn, startTli: job.startTli, serverVersionNum: 0, systemId: '', walSegmentBytes: DEFAULT_SEGMENT_BYTES,
      tablespaces: [
        ...job.placements.map((placement) => ({ oid: Number(placement.oid), location: placement.from, sizeKb: null })),
        { oid: null, location: null, sizeKb: null },
      ],
    });
    for (const archive of job.archives) {
      const location = archive.kind === 'base' ? '' : archive.kind === 'wal' ? 'pg_wal' : (byOid.get(archive.oid as string) as TablespacePlacement).from;
      await sink.beginArchive(archive.name, location);
      const stream = createReadStream(archive.path, { highWaterMark: READ_BYTES });
      try {
        for await (const chunk of stream) {
          if (job.signal?.aborted === true) throw new AbortError('ABORTED', 'restore aborted');
          bytesRead += (chunk as Buffer).length;
          await sink.archiveContents(chunk as Buffer);
        }
      } finally {
        stream.destroy();
      }
      await sink.endArchive();
    }
    await sink.endBackup({ endLsn: 0n, endTli: job.startTli });
  } catch (error) {
    failure = error;
    throw error;
  } finally {
    await sink.cleanup(failure);
  }
  return bytesRead;
}

/** pg_tblspc/<oid> -> new location for every tablespace, then tablespace_map goes (see the module comment). */
export async function linkTablespaces(targetDir: string, placements: readonly TablespacePlacement[]): Promise<void> {
  const tblspc = join(targetDir, 'pg_tblspc');
  await fsCall('create directory', tblspc, () => fs.mkdir(tblspc, { recursive: true }));
  for (const placement of placements) {
    const link = join(tblspc, placement.oid);
    const existing = await fs.lstat(link).catch(() => null);
    if (existing?.isSymbolicLink() === true) continue; // the archive carried its (already mapped) link
    if (existing !== null) await fsCall('remove directory', link, () => fs.rmdir(link));
    await fsCall('create symbolic link', link, () => fs.symlink(placement.to, link));
  }
  await removeFile(join(targetDir, 'tablespace_map'));
}
