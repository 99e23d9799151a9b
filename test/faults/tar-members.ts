/**
 * The members of an uncompressed ustar archive as a backup writes them (no pax, no GNU long names: PostgreSQL's
 * tars have none), with where each header and each member's data lie in the file: the map the corruption trials
 * damage by. Written here, not taken from src/tar, so the reader under test is not its own witness.
 */
import { readFile } from 'node:fs/promises';

export const TAR_BLOCK_BYTES = 512;
/** The header's checksum field: a flip there is a different kind of damage (a mismatch by construction). */
export const CHECKSUM_FIELD = { from: 148, to: 156 } as const;

export interface TarMember {
  /** As in the manifest: no leading './', no trailing '/'. */
  readonly name: string;
  readonly type: 'file' | 'directory' | 'symlink' | 'other';
  readonly headerOffset: number;
  readonly dataOffset: number;
  readonly size: number;
}

export async function tarMembers(path: string): Promise<{ members: TarMember[]; dataEnd: number }> {
  const bytes = await readFile(path);
  const members: TarMember[] = [];
  let at = 0;
  while (at + TAR_BLOCK_BYTES <= bytes.length) {
    const header = bytes.subarray(at, at + TAR_BLOCK_BYTES);
    if (header.every((byte) => byte === 0)) break;
    const name = header.subarray(0, 100).toString('utf8').replace(/\0.*$/s, '').replace(/^\.\//, '').replace(/\/$/, '');
    const size = Number.parseInt(header.subarray(124, 136).toString('latin1').replace(/[\0 ]/g, '') || '0', 8);
    const flag = String.fromCharCode(header[156] as number);
    const type = flag === '0' || flag === '\0' ? 'file' : flag === '5' ? 'directory' : flag === '2' ? 'symlink' : 'other';
    members.push({ name, type, headerOffset: at, dataOffset: at + TAR_BLOCK_BYTES, size });
    at += TAR_BLOCK_BYTES + Math.ceil(size / TAR_BLOCK_BYTES) * TAR_BLOCK_BYTES;
  }
  const last = members.at(-1);
  return { members, dataEnd: last === undefined ? 0 : last.dataOffset + last.size };
}
