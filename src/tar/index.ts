/** The tar codec's public surface: pure functions and an incremental reader, no streams and no file system. */
export { TAR_BLOCK_BYTES, TAR_MAX_NAME_BYTES, encodeTarHeader, decodeTarHeader, isZeroBlock, type TarHeader } from './header.ts';
export { TarReader, type TarEvent } from './reader.ts';
export { TAR_END_OF_ARCHIVE_BYTES, tarPadding, tarPaddingBytes, tarEndOfArchive, encodeTarMember } from './writer.ts';
export { normaliseMemberName } from './safe-path.ts';
