/**
 * Helpers for pipeline tests: a recording terminal sink, PostgreSQL-shaped archives built in memory, and a driver
 * that plays the lead's part (beginBackup, archives, manifest, endBackup, cleanup).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ArchiveSink, type BackupEndInfo, type BackupStartInfo } from '../../../src/pipeline/archive-sink.ts';
import type { DestinationOptions } from '../../../src/pipeline/destination/options.ts';
import type { TablespaceInfo } from '../../../src/client/types.ts';
import { encodeTarHeader, type TarHeader } from '../../../src/tar/header.ts';
import { encodeTarMember, tarEndOfArchive } from '../../../src/tar/writer.ts';
import { TarReader } from '../../../src/tar/reader.ts';

export type Call = { hook: string; args: unknown[] };

/** Terminal sink that records every hook and the bytes of each archive and of the manifest. */
export class RecordingSink extends ArchiveSink {
  readonly calls: Call[] = [];
  readonly archives: { name: string; location: string; bytes: Buffer[] }[] = [];
  readonly manifest: Buffer[] = [];

  constructor() {
    super(null);
  }

  archiveBytes(index = 0): Buffer {
    return Buffer.concat(this.archives[index]?.bytes ?? []);
  }

  hooks(): string[] {
    return this.calls.map((call) => call.hook);
  }

  protected override async onBeginBackup(info: BackupStartInfo): Promise<void> { this.calls.push({ hook: 'beginBackup', args: [info] }); }
  protected override async onBeginArchive(name: string, location: string): Promise<void> {
    this.calls.push({ hook: 'beginArchive', args: [name, location] });
    this.archives.push({ name, location, bytes: [] });
  }
  protected override async onArchiveContents(chunk: Buffer): Promise<void> {
    this.calls.push({ hook: 'archiveContents', args: [chunk.length] });
    this.archives.at(-1)?.bytes.push(Buffer.from(chunk));
  }
  protected override async onEndArchive(): Promise<void> { this.calls.push({ hook: 'endArchive', args: [] }); }
  protected override async onBeginManifest(): Promise<void> { this.calls.push({ hook: 'beginManifest', args: [] }); }
  protected override async onManifestContents(chunk: Buffer): Promise<void> {
    this.calls.push({ hook: 'manifestContents', args: [chunk.length] });
    this.manifest.push(Buffer.from(chunk));
  }
  protected override async onEndManifest(): Promise<void> { this.calls.push({ hook: 'endManifest', args: [] }); }
  protected override async onEndBackup(info: BackupEndInfo): Promise<void> { this.calls.push({ hook: 'endBackup', args: [info] }); }
  protected override async onCleanup(error: unknown): Promise<void> { this.calls.push({ hook: 'cleanup', args: [error] }); }
}

export const SEGMENT_BYTES = 1024 * 1024;

export function startInfo(tablespaces: TablespaceInfo[] = [{ oid: null, location: null, sizeKb: null }]): BackupStartInfo {
  return { startLsn: 0x3000028n, startTli: 1, tablespaces, serverVersionNum: 170004, systemId: '7300000000000000001', walSegmentBytes: SEGMENT_BYTES };
}

export const END_INFO: BackupEndInfo = { endLsn: 0x3000100n, endTli: 1 };

export interface MemberSpec {
  name: string;
  type?: TarHeader['type'];
  content?: string | Buffer;
  linkname?: string;
  mode?: number;
}

/** An archive shaped like the server's: PostgreSQL-style headers, two zero blocks at the end. */
export function buildTar(members: MemberSpec[], terminate = true): Buffer {
  const parts = members.map((spec) => {
    const type = spec.type ?? 'file';
    const header: TarHeader = {
      name: spec.name, mode: spec.mode ?? (type === 'file' ? 0o600 : type === 'symlink' ? 0o777 : 0o700),
      uid: 101, gid: 104, size: 0, mtime: 1700000000, type, linkname: spec.linkname ?? '',
    };
    if (type !== 'file') return encodeTarHeader(header);
    const content = typeof spec.content === 'string' ? Buffer.from(spec.content) : spec.content ?? Buffer.alloc(0);
    return encodeTarMember(header, content);
  });
  return Buffer.concat([...parts, ...(terminate ? [tarEndOfArchive()] : [])]);
}

export interface ArchiveSpec {
  name: string;
  location: string;
  bytes: Buffer;
}

export function split(bytes: Buffer, size: number): Buffer[] {
  const chunks: Buffer[] = [];
  for (let at = 0; at < bytes.length; at += size) chunks.push(bytes.subarray(at, at + size));
  return chunks;
}

/** Plays a whole BASE_BACKUP into `sink` the way the lead does, without cleanup. */
export async function driveBackup(sink: ArchiveSink, archives: ArchiveSpec[], manifest: Buffer | null, options: { chunkBytes?: number; info?: BackupStartInfo; hasBegun?: boolean } = {}): Promise<void> {
  if (options.hasBegun !== true) await sink.beginBackup(options.info ?? startInfo());
  for (const archive of archives) {
    await sink.beginArchive(archive.name, archive.location);
    for (const chunk of split(archive.bytes, options.chunkBytes ?? 4096)) await sink.archiveContents(chunk);
    await sink.endArchive();
  }
  if (manifest !== null) {
    await sink.beginManifest();
    for (const chunk of split(manifest, 100)) await sink.manifestContents(chunk);
    await sink.endManifest();
  }
  await sink.endBackup(END_INFO);
}

export interface ReadMember { type: string; content: string; linkname: string; mode: number; uid: number }

/** Reads a tar with the project's reader into name -> member, keeping member order in `order`. */
export function readTar(bytes: Buffer): { members: Map<string, ReadMember>; order: string[] } {
  const reader = new TarReader();
  const members = new Map<string, ReadMember>();
  const order: string[] = [];
  let current: { name: string; data: Buffer[]; type: string; linkname: string; mode: number; uid: number } | null = null;
  for (const event of reader.push(bytes)) {
    if (event.type === 'member') current = { name: event.header.name, data: [], type: event.header.type, linkname: event.header.linkname, mode: event.header.mode, uid: event.header.uid };
    else if (event.type === 'data') current?.data.push(event.chunk);
    else if (event.type === 'member-end' && current !== null) {
      members.set(current.name, { type: current.type, content: Buffer.concat(current.data).toString('latin1'), linkname: current.linkname, mode: current.mode, uid: current.uid });
      order.push(current.name);
      current = null;
    }
  }
  reader.end();
  return { members, order };
}

/** A test body that gets a fresh temporary directory, removed afterwards whatever happens. */
export function withTempDir(run: (root: string) => Promise<void>): () => Promise<void> {
  return async () => {
    const root = tempDir();
    try {
      await run(root);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  };
}

export function tempDir(): string {
  return mkdtempSync(join(tmpdir(), 'pgconvoy-pipeline-'));
}

export function destinationOptions(dir: string, overrides: Partial<DestinationOptions> = {}): DestinationOptions {
  return {
    dir, format: 'plain', clientCompression: null, serverCompression: null, tablespaceMapping: new Map(), recoveryConf: null,
    walMethod: 'none', manifest: true, dataDirectoryMode: 0o700, sync: true, noClean: false, ...overrides,
  };
}

/** A small data directory archive in the server's member order. */
export function sampleBaseTar(extra: MemberSpec[] = []): Buffer {
  return buildTar([
    { name: 'backup_label', content: 'START WAL LOCATION: 0/3000028\n' },
    { name: 'PG_VERSION', content: '17\n' },
    { name: 'base', type: 'directory' },
    { name: 'base/5', type: 'directory' },
    { name: 'base/5/16384', content: Buffer.alloc(3 * 8192, 0x11) },
    { name: 'base/5/16388_init' },
    { name: 'postgresql.auto.conf', content: '# Do not edit this file manually!\n' },
    { name: 'pg_wal', type: 'directory' },
    { name: './pg_wal/archive_status/', type: 'directory' },
    { name: './pg_wal/summaries/', type: 'directory' },
    { name: 'pg_tblspc', type: 'directory' },
    ...extra,
    { name: 'global', type: 'directory' },
    { name: 'global/pg_control', content: Buffer.alloc(8192, 0x22) },
  ]);
}
