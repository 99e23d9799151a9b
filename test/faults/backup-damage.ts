/**
 * The corruption trials' map of a finished backup and the damage done to it: what a backup holds (manifest files and
 * sizes, tar members, where each WAL segment's bytes lie, which WAL bytes matter: wal-bytes.ts), a seeded choice of
 * one change (a flipped byte, a truncation, a deletion, of a listed file, a WAL segment, a tar archive or header, or
 * backup_manifest) with whether it matters and which names verify may use for it, and applying it so that it can be
 * undone exactly.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { copyFile, open, readdir, readFile, rename, stat, truncate } from 'node:fs/promises';
import { join } from 'node:path';
import type { Dice } from './fault-kit.ts';
import { CHECKSUM_FIELD, TAR_BLOCK_BYTES, tarMembers, type TarMember } from './tar-members.ts';
import { parseLsnText, walFlipMatters, walSignificance, walSignificantEnd, type WalSignificance } from './wal-bytes.ts';

interface Located {
  /** The file on disk holding the bytes, and where in it they start. */
  readonly file: string;
  readonly offset: number;
}

export interface BackupUnderTest {
  readonly name: string;
  readonly dir: string;
  readonly format: 'plain' | 'tar';
  /** Manifest path -> size. */
  readonly files: ReadonlyMap<string, number>;
  readonly wal: WalSignificance;
  /** Where a WAL segment's bytes are. */
  readonly segmentAt: ReadonlyMap<string, Located>;
  /** Tar archives by file name, with their members (tar format only). */
  readonly archives: ReadonlyMap<string, { members: TarMember[]; dataEnd: number }>;
  /** backup_manifest's length, and the byte range its own checksum covers (everything before the checksum line). */
  readonly manifest: { readonly bytes: number; readonly covered: number; readonly checksumValue: { from: number; to: number } };
}

interface ManifestJson {
  readonly Files: Array<{ Path?: string; Size: number }>;
  readonly 'WAL-Ranges': Array<{ Timeline: number; 'Start-LSN': string; 'End-LSN': string }>;
}

export async function studyBackup(name: string, dir: string, format: 'plain' | 'tar'): Promise<BackupUnderTest> {
  const manifestText = await readFile(join(dir, 'backup_manifest'), 'utf8');
  const manifest = JSON.parse(manifestText) as ManifestJson;
  const files = new Map<string, number>();
  for (const file of manifest.Files) if (file.Path !== undefined) files.set(file.Path, file.Size);
  const range = manifest['WAL-Ranges'][0];
  assert.ok(range !== undefined && manifest['WAL-Ranges'].length === 1, `${name}: one WAL range`);
  const checksumKey = manifestText.lastIndexOf('"Manifest-Checksum"');
  const valueFrom = manifestText.indexOf('"', manifestText.indexOf(':', checksumKey)) + 1;
  const manifestInfo = {
    bytes: Buffer.byteLength(manifestText), covered: Buffer.byteLength(manifestText.slice(0, checksumKey)),
    checksumValue: { from: valueFrom, to: manifestText.indexOf('"', valueFrom) },
  };

  const archives = new Map<string, { members: TarMember[]; dataEnd: number }>();
  const segmentAt = new Map<string, Located>();
  if (format === 'tar') {
    for (const archive of ['base.tar', 'pg_wal.tar']) {
      const path = join(dir, archive);
      const listing = await tarMembers(path).catch(() => null);
      if (listing === null) continue;
      archives.set(archive, listing);
      for (const member of listing.members) {
        const segment = /^(?:pg_wal\/)?([0-9A-F]{24})$/.exec(member.name)?.[1];
        if (segment !== undefined && member.type === 'file') segmentAt.set(segment, { file: path, offset: member.dataOffset });
      }
    }
  }
  const walSize = format === 'plain' ? await walSegmentSizeFromDir(dir) : walSegmentSizeFromTar(archives);
  const read = (segment: string): Buffer => {
    if (format === 'plain') return readFileSync(join(dir, 'pg_wal', segment));
    const at = segmentAt.get(segment);
    if (at === undefined) throw new Error(`${name}: no WAL segment ${segment}`);
    const archive = readFileSync(at.file);
    return archive.subarray(at.offset, at.offset + walSize);
  };
  const wal = walSignificance(read, range.Timeline, parseLsnText(range['Start-LSN']), parseLsnText(range['End-LSN']), walSize);
  if (format === 'plain') for (const segment of wal.segments) segmentAt.set(segment, { file: join(dir, 'pg_wal', segment), offset: 0 });
  return { name, dir, format, files, wal, segmentAt, archives, manifest: manifestInfo };
}

async function walSegmentSizeFromDir(dir: string): Promise<number> {
  const first = (await readdir(join(dir, 'pg_wal'))).find((entry) => /^[0-9A-F]{24}$/.test(entry));
  if (first === undefined) throw new Error(`no WAL segment in ${dir}/pg_wal`);
  return (await stat(join(dir, 'pg_wal', first))).size;
}

function walSegmentSizeFromTar(archives: ReadonlyMap<string, { members: TarMember[] }>): number {
  for (const { members } of archives.values()) {
    const segment = members.find((member) => /^(?:pg_wal\/)?[0-9A-F]{24}$/.test(member.name));
    if (segment !== undefined) return segment.size;
  }
  throw new Error('no WAL segment in the archives');
}


export type Damage =
  | { readonly kind: 'flip'; readonly file: string; readonly offset: number; readonly mask: number }
  | { readonly kind: 'truncate'; readonly file: string; readonly length: number }
  | { readonly kind: 'delete'; readonly file: string };

export interface Change {
  readonly damage: Damage;
  readonly text: string;
  readonly matters: boolean;
  /** verify must name one of these (in a problem's path or message). */
  readonly names: readonly string[];
}

const JSON_WHITESPACE = new Set([0x20, 0x09, 0x0a, 0x0d]);

function manifestChange(backup: BackupUnderTest, dice: Dice, kind: Damage['kind']): Change {
  const file = join(backup.dir, 'backup_manifest');
  const names = ['backup_manifest'];
  if (kind === 'delete') return { damage: { kind, file }, text: 'delete backup_manifest', matters: true, names };
  if (kind === 'truncate') {
    const length = dice.int(0, backup.manifest.bytes - 1);
    return { damage: { kind, file, length }, text: `truncate backup_manifest to ${length} of ${backup.manifest.bytes}`, matters: true, names };
  }
  const offset = dice.int(0, backup.manifest.checksumValue.to - 1);
  const mask = dice.int(1, 255);
  const original = readFileSync(file)[offset] as number;
  // past the checksummed part, turning one JSON blank into another changes nothing a reader sees
  const blankToBlank = JSON_WHITESPACE.has(original) && JSON_WHITESPACE.has(original ^ mask);
  const matters = offset < backup.manifest.covered || !blankToBlank;
  return { damage: { kind, file, offset, mask }, text: `flip byte ${offset} of backup_manifest (^0x${mask.toString(16)})`, matters, names };
}

function walChange(backup: BackupUnderTest, dice: Dice, kind: Damage['kind']): Change {
  const segment = dice.pick(backup.wal.segments);
  const at = backup.segmentAt.get(segment) as Located;
  const end = walSignificantEnd(backup.wal, segment);
  if (kind === 'flip') {
    const offset = dice.chance(0.15) ? dice.int(0, 39) : dice.int(0, end - 1);
    const mask = dice.int(1, 255);
    return {
      damage: { kind, file: at.file, offset: at.offset + offset, mask },
      text: `flip byte ${offset} of WAL segment ${segment} (^0x${mask.toString(16)}; WAL matters up to ${end})`,
      matters: walFlipMatters(backup.wal, segment, offset, mask), names: [segment],
    };
  }
  // a plain backup's segment is its own file; in a tar the archive is (tarChange covers that)
  if (kind === 'delete') return { damage: { kind, file: at.file }, text: `delete WAL segment ${segment}`, matters: true, names: [segment] };
  const length = dice.int(0, backup.wal.segmentBytes - 1);
  return {
    damage: { kind, file: at.file, length }, text: `truncate WAL segment ${segment} to ${length} (WAL matters up to ${end})`,
    matters: length < end, names: [segment],
  };
}

function plainDataChange(backup: BackupUnderTest, dice: Dice, kind: Damage['kind']): Change {
  const candidates = [...backup.files].filter(([, size]) => kind === 'delete' || size > 0);
  const [path, size] = dice.pick(candidates);
  const file = join(backup.dir, path);
  if (kind === 'delete') return { damage: { kind, file }, text: `delete ${path}`, matters: true, names: [path] };
  if (kind === 'truncate') {
    const length = dice.int(0, size - 1);
    return { damage: { kind, file, length }, text: `truncate ${path} to ${length} of ${size}`, matters: true, names: [path] };
  }
  const offset = dice.int(0, size - 1);
  const mask = dice.int(1, 255);
  return { damage: { kind, file, offset, mask }, text: `flip byte ${offset} of ${path} (size ${size}, ^0x${mask.toString(16)})`, matters: true, names: [path] };
}

/** Where, in `archive`, cutting stops mattering: past the last byte of a listed file or of WAL that matters. */
function archiveSignificantEnd(backup: BackupUnderTest, archive: { members: TarMember[] }): number {
  let end = 0;
  for (const member of archive.members) {
    const segment = /^(?:pg_wal\/)?([0-9A-F]{24})$/.exec(member.name)?.[1];
    if (backup.files.has(member.name)) end = Math.max(end, member.dataOffset + member.size, member.dataOffset);
    else if (segment !== undefined && backup.wal.segments.includes(segment)) end = Math.max(end, member.dataOffset + walSignificantEnd(backup.wal, segment));
  }
  return end;
}

function memberNamesFrom(archive: { members: TarMember[] }, cut: number): string[] {
  return archive.members.filter((member) => member.dataOffset + member.size > cut || member.headerOffset >= cut).flatMap((member) => {
    const segment = /^(?:pg_wal\/)?([0-9A-F]{24})$/.exec(member.name)?.[1];
    return segment === undefined ? [member.name] : [member.name, segment];
  });
}

function tarChange(backup: BackupUnderTest, dice: Dice, kind: Damage['kind']): Change {
  const [archiveName, archive] = dice.pick([...backup.archives]);
  const file = join(backup.dir, archiveName);
  const everyName = [archiveName, ...memberNamesFrom(archive, 0)];
  if (kind === 'delete') return { damage: { kind, file }, text: `delete ${archiveName}`, matters: true, names: everyName };
  if (kind === 'truncate') {
    const length = dice.int(0, archive.dataEnd - 1);
    return {
      damage: { kind, file, length }, text: `truncate ${archiveName} to ${length} of ${archive.dataEnd}+`,
      matters: length < archiveSignificantEnd(backup, archive), names: [archiveName, ...memberNamesFrom(archive, length)],
    };
  }
  const mask = dice.int(1, 255);
  if (dice.chance(0.3)) {
    const member = dice.pick(archive.members);
    let offset = dice.int(0, TAR_BLOCK_BYTES - 1 - (CHECKSUM_FIELD.to - CHECKSUM_FIELD.from));
    if (offset >= CHECKSUM_FIELD.from) offset += CHECKSUM_FIELD.to - CHECKSUM_FIELD.from;
    return {
      damage: { kind, file, offset: member.headerOffset + offset, mask },
      text: `flip byte ${offset} of the tar header of ${member.name} in ${archiveName} (^0x${mask.toString(16)})`,
      matters: true, names: [archiveName, member.name],
    };
  }
  const listed = archive.members.filter((member) => backup.files.has(member.name) && member.size > 0);
  if (listed.length === 0) return walChange(backup, dice, kind);
  const member = dice.pick(listed);
  const offset = dice.int(0, member.size - 1);
  return {
    damage: { kind, file, offset: member.dataOffset + offset, mask },
    text: `flip byte ${offset} of ${member.name} (size ${member.size}) in ${archiveName} (^0x${mask.toString(16)})`,
    matters: true, names: [member.name],
  };
}

export function chooseChange(backup: BackupUnderTest, dice: Dice): Change {
  const roll = dice.unit();
  const kind: Damage['kind'] = roll < 0.5 ? 'flip' : roll < 0.8 ? 'truncate' : 'delete';
  const target = dice.unit();
  if (target < 0.15) return manifestChange(backup, dice, kind);
  if (backup.format === 'plain') return target < 0.55 ? walChange(backup, dice, kind) : plainDataChange(backup, dice, kind);
  // in a tar, a WAL segment cannot be cut or deleted alone: the archive is
  if (kind === 'flip' && target < 0.5) return walChange(backup, dice, kind);
  return tarChange(backup, dice, kind);
}

/** Applies the damage (keeping what it removes under `stash`); returns how to undo it exactly. */
export async function applyDamage(damage: Damage, stash: string, index: number): Promise<() => Promise<void>> {
  switch (damage.kind) {
    case 'flip': {
      const handle = await open(damage.file, 'r+');
      try {
        const byte = Buffer.alloc(1);
        await handle.read(byte, 0, 1, damage.offset);
        const original = byte[0] as number;
        await handle.write(Buffer.from([original ^ damage.mask]), 0, 1, damage.offset);
        return async () => {
          const again = await open(damage.file, 'r+');
          try {
            await again.write(Buffer.from([original]), 0, 1, damage.offset);
          } finally {
            await again.close();
          }
        };
      } finally {
        await handle.close();
      }
    }
    case 'truncate': {
      const copy = join(stash, `t${index}`);
      await copyFile(damage.file, copy);
      await truncate(damage.file, damage.length);
      return () => rename(copy, damage.file);
    }
    case 'delete': {
      const moved = join(stash, `d${index}`);
      await rename(damage.file, moved);
      return () => rename(moved, damage.file);
    }
  }
}
