/**
 * A backup's consumer side of one archive: takes the events the convoy queued for it (member-queue.ts) and turns
 * them into tar bytes on its COPY stream, manifest entries and PostgreSQL's warnings. Everything here is per
 * backup: the tar framing, which page checksum failures count (only pages older than this backup's start LSN),
 * and the shared/alone tally of its bytes.
 */
import type { ServerErrorFields } from '../../errors/index.ts';
import { displayPath } from '../../manifest/byte-path.ts';
import type { ManifestWriter } from '../../manifest/writer.ts';
import { encodeTarHeader, type TarHeader } from '../../tar/header.ts';
import { tarPadding } from '../../tar/writer.ts';
import type { Lsn } from '../../util/lsn.ts';
import type { PgVersionRules } from '../../util/pg-versions.ts';
import type { ArchiveEntry } from './archive-walk.ts';
import type { ConvoyMember } from './convoy.ts';
import type { CopyOutStream } from './copy-out.ts';
import type { PageFailure } from './member-queue.ts';

const REPORTED_FAILURES_PER_FILE = 5;
const RELSEG_BLOCKS = 131_072;

export interface BackupTally {
  sharedBytes: number;
  aloneBytes: number;
  checksumFailures: number;
  files: number;
}

export interface ArchiveTarget {
  readonly copyOut: CopyOutStream;
  /** Null when the backup has no manifest. */
  readonly manifest: { readonly writer: ManifestWriter; readonly parts: Buffer[] } | null;
  readonly notice: (fields: ServerErrorFields) => Promise<void>;
  readonly rules: PgVersionRules;
  readonly startLsn: Lsn;
  readonly verifyChecksums: boolean;
  /** Manifest paths of a tablespace archive are `pg_tblspc/<oid>/<name>`. */
  readonly manifestPrefix: string;
}

export async function receiveArchive(member: ConvoyMember, target: ArchiveTarget, tally: BackupTally): Promise<void> {
  for (;;) {
    const event = await member.queue.next();
    switch (event.type) {
      case 'archive-end': return;
      case 'entry':
        if (event.entry.kind === 'special') await warn(target, `skipping special file "${displayPath(event.entry.pgPath)}"`);
        else await target.copyOut.write(tarHeaderOf(event.entry));
        break;
      case 'data':
        if (event.shared) tally.sharedBytes += event.chunk.length;
        else tally.aloneBytes += event.chunk.length;
        await target.copyOut.write(event.chunk);
        break;
      case 'file-end': {
        const { entry } = event;
        await target.copyOut.write(tarPadding(entry.stat.size));
        tally.files += 1;
        addToManifest(target, `${target.manifestPrefix}${entry.name}`, entry.stat.size, entry.stat.mtimeSec, event.digests.get(member.checksumAlgorithm) ?? '', member);
        if (target.verifyChecksums) {
          if (event.unverifiable !== null) await warn(target, event.unverifiable);
          tally.checksumFailures += await reportPageFailures(target, entry, event.pageFailures);
        }
        break;
      }
    }
  }
}

export function tarHeaderOf(entry: ArchiveEntry): Buffer {
  const header: TarHeader = {
    name: entry.name, nameBytes: Buffer.from(entry.name, 'latin1'), mode: entry.stat.mode, uid: entry.stat.uid,
    gid: entry.stat.gid, size: entry.stat.size, mtime: entry.stat.mtimeSec,
    type: entry.kind === 'directory' ? 'directory' : entry.kind === 'symlink' ? 'symlink' : 'file',
    linkname: entry.linkTarget === null ? '' : Buffer.from(entry.linkTarget, 'latin1').toString('utf8'),
  };
  return encodeTarHeader(header);
}

export function addToManifest(target: ArchiveTarget, path: string, size: number, mtimeSec: number, checksum: string,
  member: { readonly checksumAlgorithm: ConvoyMember['checksumAlgorithm'] }): void {
  if (target.manifest === null) return;
  target.manifest.parts.push(target.manifest.writer.file({
    path, size, lastModified: new Date(mtimeSec * 1000), algorithm: member.checksumAlgorithm, checksum,
  }));
}

/** PostgreSQL's warnings for one file; returns how many failures count for this backup. */
async function reportPageFailures(target: ArchiveTarget, entry: ArchiveEntry, failures: readonly PageFailure[]): Promise<number> {
  const counted = failures.filter((failure) => failure.lsn < target.startLsn);
  const file = displayPath(entry.pgPath);
  for (const [index, failure] of counted.entries()) {
    if (index >= REPORTED_FAILURES_PER_FILE) break;
    const block = target.rules.checksumWarningBlock === 'in-file' ? failure.block : failure.block + (entry.checksumSegno ?? 0) * RELSEG_BLOCKS;
    await warn(target, `checksum verification failed in file "${file}", block ${block}: calculated ` +
      `${hex(failure.calculated)} but expected ${hex(failure.expected)}`);
    if (index + 1 === REPORTED_FAILURES_PER_FILE) await warn(target, `further checksum verification failures in file "${file}" will not be reported`);
  }
  if (counted.length > 1) await warn(target, `file "${file}" has a total of ${counted.length} checksum verification failures`);
  return counted.length;
}

function hex(value: number): string {
  return value.toString(16).toUpperCase();
}

async function warn(target: ArchiveTarget, message: string): Promise<void> {
  await target.notice({ severity: 'WARNING', code: '01000', message });
}
