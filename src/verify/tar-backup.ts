/**
 * Stages 1-3 of a tar-format backup, without extracting anything: each archive (base.tar, <oid>.tar, each
 * possibly .gz/.lz4/.zst) streams from disk through its decompressor and the tar reader; every regular member
 * is matched against the manifest (tablespace members as pg_tblspc/<oid>/<member>) and checksummed as its
 * data goes by. WAL members (base.tar's pg_wal/<segment> from -X fetch, pg_wal.tar's <segment> from
 * -X stream) go to the TarWalCollector instead. The first bytes of backup_label, global/pg_control and every
 * WAL segment go to the WalIdentity. Directories and symlinks are not checked, as in pg_verifybackup.
 *
 * A damaged archive (bad compression, truncated tar) is one problem; its files not seen by then are then
 * reported missing by the matcher.
 */
import { createReadStream, readdirSync, statSync } from 'node:fs';
import { ConvoyError } from '../errors/index.ts';
import { bytesToBytePath, displayPath, fsPath, toBytePath } from '../manifest/byte-path.ts';
import { createDigester, type Digester } from '../manifest/checksum.ts';
import type { BackupManifest, ManifestFile } from '../manifest/reader.ts';
import type { CompressionMethod } from '../pipeline/compression/filter.ts';
import { TarReader, type TarEvent, type TarHeader } from '../tar/index.ts';
import { LONG_PAGE_HEADER_BYTES } from '../wal/wal-format.ts';
import type { FileMatcher } from './file-matcher.ts';
import type { IgnoreList } from './ignore.ts';
import { errorReason, type ProblemList } from './report.ts';
import { checkControlSystemId } from './system-id.ts';
import type { TarWalCollector } from './tar-wal.ts';
import { MAX_LABEL_BYTES, type WalIdentity } from './wal-identity.ts';
import { WAL_FILE_NAME } from './wal-stage.ts';

export interface TarArchive {
  readonly file: string;
  readonly kind: 'base' | 'tablespace' | 'wal';
  readonly oid: string | null;
  readonly compression: CompressionMethod | null;
  readonly bytes: number;
}

export interface TarScanContext {
  readonly root: string;
  readonly manifest: BackupManifest;
  readonly matcher: FileMatcher;
  readonly ignore: IgnoreList;
  readonly problems: ProblemList;
  readonly wantChecksums: boolean;
  readonly wal: TarWalCollector | null;
  /** Null when the WAL is not checked. */
  readonly identity: WalIdentity | null;
  readonly onArchiveBytes: (bytes: number) => void;
  readonly onHashedBytes: (bytes: number) => void;
  /** Throws when the run was cancelled; called for every chunk read. */
  readonly checkAbort: () => void;
}

const ARCHIVE_NAME = /^(base|pg_wal|[0-9]+)(\.tar|\.tgz|\.tar\.gz|\.tar\.lz4|\.tar\.zst)$/;
const COMPRESSION_OF: Record<string, CompressionMethod | null> = {
  '.tar': null, '.tgz': 'gzip', '.tar.gz': 'gzip', '.tar.lz4': 'lz4', '.tar.zst': 'zstd',
};
const READ_BYTES = 1 << 20;

/** pg_verifybackup 18's rule: a plain backup has PG_VERSION at the top; a tar backup has base.tar[.*]. */
export function isTarBackup(root: string): boolean {
  const names = readdirSync(root);
  return !names.includes('PG_VERSION') && names.some((name) => ARCHIVE_NAME.exec(name)?.[1] === 'base');
}

/** The archives of a tar backup, base first, the WAL archive last; anything unexpected is a problem. */
export function findTarArchives(root: string, ignore: IgnoreList, problems: ProblemList): TarArchive[] {
  const archives: TarArchive[] = [];
  for (const raw of readdirSync(fsPath(toBytePath(root)), { encoding: 'buffer' }).sort(Buffer.compare)) {
    const name = bytesToBytePath(raw);
    if (ignore.matches(name)) continue;
    const shown = displayPath(name);
    const stats = statSync(fsPath(`${toBytePath(root)}/${name}`));
    if (!stats.isFile()) {
      problems.add({ code: 'FILE_NOT_REGULAR', path: shown, message: `file "${shown}" is not a regular file` });
      continue;
    }
    const match = ARCHIVE_NAME.exec(name);
    const oid = match?.[1] ?? '';
    if (match === null || (/^[0-9]+$/.test(oid) && (Number(oid) === 0 || Number(oid) > 0xffffffff))) {
      problems.add({ code: 'ARCHIVE_UNEXPECTED', path: shown, message: `file "${shown}" is not expected in a tar format backup` });
      continue;
    }
    const kind = oid === 'base' ? 'base' : oid === 'pg_wal' ? 'wal' : 'tablespace';
    archives.push({
      file: name, kind, oid: kind === 'tablespace' ? oid : null,
      compression: COMPRESSION_OF[match[2] as string] ?? null, bytes: stats.size,
    });
  }
  const rank = { base: 0, tablespace: 1, wal: 2 } as const;
  return archives.sort((a, b) => rank[a.kind] - rank[b.kind]);
}

/** What is being done with the current member's data. */
interface MemberState {
  readonly path: string;
  readonly entry: ManifestFile | null;
  readonly digester: Digester | null;
  readonly walName: string | null;
  readonly walBytes: Buffer | null;
  /** The member's first bytes, when something wants them (the system identifier, backup_label, a WAL header). */
  readonly head: Buffer | null;
  filled: number;
}

export async function scanTarArchive(archive: TarArchive, context: TarScanContext): Promise<void> {
  const full = `${toBytePath(context.root)}/${archive.file}`;
  const tar = new TarReader();
  // Loaded on demand: the zstd and lz4 bindings cost tens of ms at startup that plain backups never need.
  const decompressor = archive.compression === null ? null
    : (await import('../pipeline/compression/create-filter.ts')).createDecompressor(archive.compression);
  let member: MemberState | null = null;
  const onTarBytes = async (chunk: Buffer): Promise<void> => {
    for (const event of tar.push(chunk)) {
      if (event.type === 'member') member = startMember(archive, event.header, context);
      else if (event.type === 'data') consume(member, event);
      else if (event.type === 'member-end' && member !== null) {
        await endMember(member, context);
        member = null;
      }
    }
  };
  try {
    for await (const chunk of createReadStream(fsPath(full), { highWaterMark: READ_BYTES })) {
      context.checkAbort();
      context.onArchiveBytes((chunk as Buffer).length);
      if (decompressor === null) await onTarBytes(chunk as Buffer);
      else await decompressor.write(chunk as Buffer, onTarBytes);
    }
    if (decompressor !== null) await decompressor.end(onTarBytes);
    tar.end();
  } catch (error) {
    decompressor?.destroy();
    context.checkAbort();
    if (!(error instanceof ConvoyError) && (error as NodeJS.ErrnoException).code === undefined) throw error;
    const shown = displayPath(archive.file);
    context.problems.add({ code: 'ARCHIVE_INVALID', path: shown, message: `could not read archive "${shown}": ${errorReason(error)}` });
  }
}

function startMember(archive: TarArchive, header: TarHeader, context: TarScanContext): MemberState | null {
  if (header.type !== 'file') return null;
  const name = header.nameBytes === undefined ? toBytePath(header.name) : bytesToBytePath(header.nameBytes);
  const walName = walSegmentName(archive, name);
  if (walName !== null && context.wal !== null) {
    context.wal.segmentSeen(header.size);
    const walBytes = context.wal.wants(walName) ? Buffer.allocUnsafe(header.size) : null;
    const head = walBytes === null ? Buffer.alloc(Math.min(LONG_PAGE_HEADER_BYTES, header.size)) : null;
    return { path: name, entry: null, digester: null, walName, walBytes, head, filled: 0 };
  }
  if (archive.kind === 'wal') return null;
  const path = archive.kind === 'tablespace' ? `pg_tblspc/${archive.oid}/${name}` : name;
  if (context.ignore.matches(path)) return null;
  const entry = context.matcher.match(path, header.size);
  const wantsControl = path === 'global/pg_control'
    && (context.identity !== null || (context.manifest.version === 2 && context.manifest.systemId !== null));
  const wantsLabel = path === 'backup_label' && context.identity !== null && header.size <= MAX_LABEL_BYTES;
  const headBytes = wantsControl ? Math.min(16, header.size) : wantsLabel ? header.size : 0;
  return {
    path, entry, digester: entry !== null && context.wantChecksums ? createDigester(entry.algorithm) : null,
    walName: null, walBytes: null, head: headBytes > 0 ? Buffer.alloc(headBytes) : null, filled: 0,
  };
}

function consume(member: MemberState | null, event: Extract<TarEvent, { type: 'data' }>): void {
  if (member === null) return;
  const chunk = event.chunk;
  member.digester?.update(chunk);
  const target = member.walBytes ?? member.head;
  if (target !== null && member.filled < target.length) chunk.copy(target, member.filled);
  member.filled += chunk.length;
}

async function endMember(member: MemberState, context: TarScanContext): Promise<void> {
  if (member.digester !== null && member.entry !== null) {
    context.matcher.checkDigest(member.path, member.entry, member.digester.finish());
    context.onHashedBytes(member.filled);
  }
  const head = member.head;
  if (member.path === 'global/pg_control' && head !== null) {
    if (context.manifest.version === 2 && context.manifest.systemId !== null) {
      checkControlSystemId(head, context.manifest.systemId, context.problems);
    }
    context.identity?.control(head);
  }
  if (member.path === 'backup_label' && head !== null) context.identity?.label(head.toString('utf8'));
  if (member.walName !== null) {
    const bytes = member.walBytes ?? head;
    if (bytes !== null) context.identity?.segment(member.walName, bytes);
    if (member.walBytes !== null && context.wal !== null) await context.wal.offer(member.walName, member.walBytes);
  }
}

/** `pg_wal/<segment>` in base.tar (fetch mode) or `<segment>` in pg_wal.tar (stream mode). */
function walSegmentName(archive: TarArchive, name: string): string | null {
  const candidate = archive.kind === 'wal' ? name : archive.kind === 'base' && name.startsWith('pg_wal/') ? name.slice(7) : null;
  return candidate !== null && WAL_FILE_NAME.test(candidate) ? candidate : null;
}
