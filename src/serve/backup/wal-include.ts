/**
 * The WAL option (pg_basebackup -X fetch): after pg_backup_stop, the segments from the start segment to the one
 * holding the last byte before the end LSN go into the still-open base archive, each followed by an empty
 * `archive_status/<name>.done`, then every timeline history file with its own `.done`, as the walsender sends
 * them. Segments are not in the manifest; the `.done` and history files are.
 *
 * The backup's temporary slot has held these segments since before its start, so they cannot have been recycled.
 * Each backup reads its WAL itself (not through the convoy): it is a few segments per backup.
 */
import { lstat, readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ConvoyError, fsError } from '../../errors/index.ts';
import { createDigester, type ChecksumAlgorithm } from '../../manifest/checksum.ts';
import { parseLsn, segmentOf, walFileName, type Lsn } from '../../util/lsn.ts';
import type { ManifestWalRange } from '../../manifest/reader.ts';
import type { ArchiveEntry } from './archive-walk.ts';
import { FileRead, type FileReadOptions } from './file-read.ts';
import { addToManifest, tarHeaderOf, type ArchiveTarget } from './receive-archive.ts';
import { tarPadding } from '../../tar/writer.ts';

const SEGMENT_NAME = /^[0-9A-F]{24}$/;
const HISTORY_NAME = /^[0-9A-F]{8}\.history$/;

export interface WalRange {
  readonly startLsn: Lsn;
  readonly startTli: number;
  readonly endLsn: Lsn;
  readonly endTli: number;
}

export interface InjectedFileOwner {
  readonly uid: number;
  readonly gid: number;
  /** pg_file_create_mode: 0600, or 0640 with group access. */
  readonly mode: number;
}

export async function includeWal(dataDir: string, segmentBytes: number, range: WalRange, target: ArchiveTarget,
  algorithm: ChecksumAlgorithm, owner: InjectedFileOwner, options: FileReadOptions): Promise<void> {
  const walDir = join(dataDir, 'pg_wal');
  let names: string[];
  try {
    names = await readdir(walDir);
  } catch (error) {
    throw fsError('open directory', 'pg_wal', error);
  }
  const startSegno = segmentOf(range.startLsn, segmentBytes);
  const endSegno = segmentOf(range.endLsn - 1n, segmentBytes);
  const first = walFileName(range.startTli, startSegno, segmentBytes);
  const last = walFileName(range.endTli, endSegno, segmentBytes);
  const segments = names
    .filter((name) => SEGMENT_NAME.test(name) && name.slice(8) >= first.slice(8) && name.slice(8) <= last.slice(8))
    .sort((a, b) => (a.slice(8) < b.slice(8) ? -1 : a.slice(8) > b.slice(8) ? 1 : 0));
  checkContiguous(segments, first, last, segmentBytes);
  for (const name of segments) {
    const entry = await walEntry(walDir, name, segmentBytes);
    await sendFile(entry, target, options, null);
    await sendEmpty(`pg_wal/archive_status/${name}.done`, target, algorithm, owner);
  }
  for (const name of names.filter((n) => HISTORY_NAME.test(n)).sort()) {
    const entry = await walEntry(walDir, name, null);
    await sendFile(entry, target, options, algorithm);
    await sendEmpty(`pg_wal/archive_status/${name}.done`, target, algorithm, owner);
  }
}

function checkContiguous(segments: readonly string[], first: string, last: string, segmentBytes: number): void {
  if (segments.length === 0) throw walError('could not find any WAL files');
  if ((segments[0] as string).slice(8) !== first.slice(8)) throw walError(`could not find WAL file "${first}"`);
  for (let index = 1; index < segments.length; index++) {
    const previous = segmentNumber(segments[index - 1] as string, segmentBytes);
    const current = segmentNumber(segments[index] as string, segmentBytes);
    if (current !== previous && current !== previous + 1n) {
      throw walError(`could not find WAL file "${walFileName(Number.parseInt((segments[index] as string).slice(0, 8), 16), previous + 1n, segmentBytes)}"`);
    }
  }
  if ((segments[segments.length - 1] as string).slice(8) !== last.slice(8)) throw walError(`could not find WAL file "${last}"`);
}

function segmentNumber(name: string, segmentBytes: number): bigint {
  const perId = 0x100000000n / BigInt(segmentBytes);
  return BigInt(`0x${name.slice(8, 16)}`) * perId + BigInt(`0x${name.slice(16)}`);
}

async function walEntry(walDir: string, name: string, segmentBytes: number | null): Promise<ArchiveEntry> {
  const path = join(walDir, name);
  const stat = await lstat(path).catch((error: unknown) => { throw fsError('stat file', `pg_wal/${name}`, error); });
  if (segmentBytes !== null && stat.size !== segmentBytes) throw walError(`unexpected WAL file size "${name}"`);
  return {
    key: '', name: `pg_wal/${name}`, path, pgPath: `pg_wal/${name}`, kind: 'file',
    stat: { mode: stat.mode & 0o7777, uid: stat.uid, gid: stat.gid, size: stat.size, mtimeSec: Math.floor(stat.mtimeMs / 1000) },
    linkTarget: null, ancestors: [], inTablespaceDir: false, checksumSegno: null,
  };
}

/** A file read alone into the archive; listed in the manifest when `algorithm` is given (history files). */
async function sendFile(entry: ArchiveEntry, target: ArchiveTarget, options: FileReadOptions, algorithm: ChecksumAlgorithm | null): Promise<void> {
  const read = await FileRead.start(entry, algorithm === null ? [] : [algorithm], false, options);
  if (read === null) throw walError(`could not find WAL file "${entry.name.slice('pg_wal/'.length)}"`);
  try {
    await target.copyOut.write(tarHeaderOf(entry));
    for (let chunk = await read.next(); chunk !== null; chunk = await read.next()) await target.copyOut.write(chunk);
    await target.copyOut.write(tarPadding(entry.stat.size));
    if (algorithm !== null) {
      addToManifest(target, entry.name, entry.stat.size, entry.stat.mtimeSec, read.finish().digests.get(algorithm) ?? '', { checksumAlgorithm: algorithm });
    }
  } finally {
    await read.close();
  }
}

/** An injected file held in memory (backup_label, tablespace_map, `.done` markers): header, content, padding, manifest entry. */
export async function sendInjected(name: string, content: Buffer, target: ArchiveTarget, algorithm: ChecksumAlgorithm,
  owner: InjectedFileOwner): Promise<void> {
  const mtimeSec = Math.floor(Date.now() / 1000);
  const entry: ArchiveEntry = {
    key: '', name, path: '', pgPath: name, kind: 'file',
    stat: { mode: owner.mode, uid: owner.uid, gid: owner.gid, size: content.length, mtimeSec },
    linkTarget: null, ancestors: [], inTablespaceDir: false, checksumSegno: null,
  };
  await target.copyOut.write(tarHeaderOf(entry));
  await target.copyOut.write(content);
  await target.copyOut.write(tarPadding(content.length));
  const digester = createDigester(algorithm);
  digester.update(content);
  addToManifest(target, name, content.length, mtimeSec, digester.finish(), { checksumAlgorithm: algorithm });
}

function sendEmpty(name: string, target: ArchiveTarget, algorithm: ChecksumAlgorithm, owner: InjectedFileOwner): Promise<void> {
  return sendInjected(name, Buffer.alloc(0), target, algorithm, owner);
}

function walError(message: string): ConvoyError {
  return new ConvoyError('WAL_MISSING', message);
}

/**
 * The manifest's WAL-Ranges, newest timeline first: one range when the backup stayed on one timeline; otherwise
 * one per timeline from the end timeline's history file (a standby promoted, or following a promotion).
 */
export async function manifestWalRanges(dataDir: string, range: WalRange): Promise<ManifestWalRange[]> {
  if (range.startTli === range.endTli) return [{ tli: range.endTli, startLsn: range.startLsn, endLsn: range.endLsn }];
  const historyName = `${range.endTli.toString(16).toUpperCase().padStart(8, '0')}.history`;
  let text: string;
  try {
    text = await readFile(join(dataDir, 'pg_wal', historyName), 'utf8');
  } catch (error) {
    throw fsError('read file', `pg_wal/${historyName}`, error);
  }
  const switches = text.split('\n')
    .map((line) => /^\s*(\d+)\s+([0-9A-Fa-f]+\/[0-9A-Fa-f]+)/.exec(line))
    .filter((match) => match !== null)
    .map((match) => ({ tli: Number(match[1]), endLsn: parseLsn(match[2] as string) }));
  const ranges: ManifestWalRange[] = [];
  let endLsn = range.endLsn;
  let tli = range.endTli;
  for (let index = switches.length - 1; index >= -1 && tli >= range.startTli; index--) {
    const previous = switches[index];
    const beginLsn = previous === undefined || previous.tli < range.startTli ? range.startLsn : previous.endLsn;
    ranges.push({ tli, startLsn: beginLsn < range.startLsn ? range.startLsn : beginLsn, endLsn });
    if (previous === undefined || previous.tli < range.startTli) break;
    endLsn = previous.endLsn;
    tli = previous.tli;
  }
  return ranges;
}
