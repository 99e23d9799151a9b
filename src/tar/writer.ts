/**
 * The byte pieces a tar producer needs besides headers: data padding and the end-of-archive marker, plus a helper
 * for small in-memory members (injected files such as standby.signal or backup_manifest).
 *
 * Every function returns a fresh buffer: pipeline stages hand chunks on to receivers that own them, so no shared
 * constant buffer may leak out where someone could write into it.
 */
import { TAR_BLOCK_BYTES, encodeTarHeader, type TarHeader } from './header.ts';

export const TAR_END_OF_ARCHIVE_BYTES = 2 * TAR_BLOCK_BYTES;

export function tarPaddingBytes(size: number): number {
  return (TAR_BLOCK_BYTES - (size % TAR_BLOCK_BYTES)) % TAR_BLOCK_BYTES;
}

/** Zeros that complete a member of `size` data bytes to a whole block (empty when already aligned). */
export function tarPadding(size: number): Buffer {
  return Buffer.alloc(tarPaddingBytes(size));
}

/** The two zero blocks that terminate an archive. */
export function tarEndOfArchive(): Buffer {
  return Buffer.alloc(TAR_END_OF_ARCHIVE_BYTES);
}

/** Header + content + padding of a member held in memory; `header.size` is taken from `content`. */
export function encodeTarMember(header: TarHeader, content: Buffer = Buffer.alloc(0)): Buffer {
  const head = encodeTarHeader({ ...header, size: content.length });
  return Buffer.concat([head, content, tarPadding(content.length)]);
}
