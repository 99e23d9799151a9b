/**
 * Checks that a record's payload (the bytes after its 24-byte header) splits into fragments whose lengths add
 * up exactly, as PostgreSQL's decoder requires before any redo routine sees the record: block reference
 * headers, then the main-data header, then block images and data, then main data. Only the leading fragment
 * headers are inspected, so a caller can pass just the first bytes of a large record; the fragment contents
 * (page images, rmgr data) are not interpreted. Runs after the CRC check, like PostgreSQL's.
 *
 * Hot path (once per record): plain index arithmetic, no closures or allocations.
 */
import { DATA_BLOCK_BYTES, type WalVersion } from './wal-format.ts';

/** Fragment headers of any real record fit in far less (33 blocks × 27 bytes + a few ids). */
export const FRAGMENT_HEADER_PREFIX_BYTES = 2048;
/** The verdict when the fragment headers run past the inspected bytes (though not past the payload). */
export const FRAGMENTS_BEYOND_INSPECTED = 'fragment headers are implausibly long';

const XLR_MAX_BLOCK_ID = 32;
const XLR_BLOCK_ID_TOPLEVEL_XID = 252;
const XLR_BLOCK_ID_ORIGIN = 253;
const XLR_BLOCK_ID_DATA_LONG = 254;
const XLR_BLOCK_ID_DATA_SHORT = 255;
const BKPBLOCK_HAS_IMAGE = 0x10;
const BKPBLOCK_HAS_DATA = 0x20;
const BKPBLOCK_SAME_REL = 0x80;
const BKPIMAGE_HAS_HOLE = 0x01;
const REL_LOCATOR_BYTES = 12;
const BLOCK_NUMBER_BYTES = 4;
const IMAGE_HEADER_BYTES = 5;

/** 13/14 had one "compressed" bit (0x02); 15 moved APPLY to 0x02 and gave pglz, lz4 and zstd a bit each. */
function isCompressedImage(bimgInfo: number, version: WalVersion): boolean {
  return version.major >= 15 ? (bimgInfo & 0x1c) !== 0 : (bimgInfo & 0x02) !== 0;
}

/** Why reading up to `end` (relative to the payload) is impossible. */
function overrun(end: number, inspectable: number, payloadBytes: number): string | null {
  if (end <= inspectable) return null;
  return end > payloadBytes ? 'invalid length' : FRAGMENTS_BEYOND_INSPECTED;
}

/**
 * Returns null when the fragments account for exactly `payloadBytes`, else why not (a lower-case phrase without
 * the LSN). The payload starts at `bytes[start]`; the first `inspectable` payload bytes are there.
 */
export function checkRecordStructure(bytes: Buffer, start: number, inspectable: number, payloadBytes: number,
  version: WalVersion): string | null {
  let pos = 0;
  let dataTotal = 0;
  let maxBlockId = -1;
  let haveRel = false;
  let problem: string | null;
  while (payloadBytes - pos > dataTotal) {
    if ((problem = overrun(pos + 1, inspectable, payloadBytes)) !== null) return problem;
    const blockId = bytes[start + pos] as number;
    pos += 1;
    if (blockId === XLR_BLOCK_ID_DATA_SHORT) {
      if ((problem = overrun(pos + 1, inspectable, payloadBytes)) !== null) return problem;
      dataTotal += bytes[start + pos] as number;
      pos += 1;
      break;
    } else if (blockId === XLR_BLOCK_ID_DATA_LONG) {
      if ((problem = overrun(pos + 4, inspectable, payloadBytes)) !== null) return problem;
      dataTotal += bytes.readUInt32LE(start + pos);
      pos += 4;
      break;
    } else if (blockId === XLR_BLOCK_ID_ORIGIN) {
      if ((problem = overrun(pos + 2, inspectable, payloadBytes)) !== null) return problem;
      pos += 2;
    } else if (blockId === XLR_BLOCK_ID_TOPLEVEL_XID && version.major >= 14) {
      if ((problem = overrun(pos + 4, inspectable, payloadBytes)) !== null) return problem;
      pos += 4;
    } else if (blockId <= XLR_MAX_BLOCK_ID) {
      if (blockId <= maxBlockId) return `out-of-order block_id ${blockId}`;
      maxBlockId = blockId;
      if ((problem = overrun(pos + 3, inspectable, payloadBytes)) !== null) return problem;
      const forkFlags = bytes[start + pos] as number;
      const dataLength = bytes.readUInt16LE(start + pos + 1);
      pos += 3;
      const hasData = (forkFlags & BKPBLOCK_HAS_DATA) !== 0;
      if (hasData && dataLength === 0) return 'BKPBLOCK_HAS_DATA set, but no data included';
      if (!hasData && dataLength !== 0) return `BKPBLOCK_HAS_DATA not set, but data length is ${dataLength}`;
      dataTotal += dataLength;
      if ((forkFlags & BKPBLOCK_HAS_IMAGE) !== 0) {
        if ((problem = overrun(pos + IMAGE_HEADER_BYTES, inspectable, payloadBytes)) !== null) return problem;
        const imageBytes = bytes.readUInt16LE(start + pos);
        const holeOffset = bytes.readUInt16LE(start + pos + 2);
        const bimgInfo = bytes[start + pos + 4] as number;
        pos += IMAGE_HEADER_BYTES;
        let holeBytes = DATA_BLOCK_BYTES - imageBytes;
        const compressed = isCompressedImage(bimgInfo, version);
        if (compressed) {
          holeBytes = 0;
          if ((bimgInfo & BKPIMAGE_HAS_HOLE) !== 0) {
            if ((problem = overrun(pos + 2, inspectable, payloadBytes)) !== null) return problem;
            holeBytes = bytes.readUInt16LE(start + pos);
            pos += 2;
          }
        }
        if ((problem = checkImage(imageBytes, holeOffset, holeBytes, bimgInfo, compressed)) !== null) return problem;
        dataTotal += imageBytes;
      }
      if ((forkFlags & BKPBLOCK_SAME_REL) === 0) {
        if ((problem = overrun(pos + REL_LOCATOR_BYTES, inspectable, payloadBytes)) !== null) return problem;
        pos += REL_LOCATOR_BYTES;
        haveRel = true;
      } else if (!haveRel) {
        return 'BKPBLOCK_SAME_REL set but no previous rel';
      }
      if ((problem = overrun(pos + BLOCK_NUMBER_BYTES, inspectable, payloadBytes)) !== null) return problem;
      pos += BLOCK_NUMBER_BYTES;
    } else {
      return `invalid block_id ${blockId}`;
    }
  }
  return payloadBytes - pos === dataTotal ? null : 'invalid length';
}

/** PostgreSQL's cross-checks between the image length, the hole and the flags. */
function checkImage(imageBytes: number, holeOffset: number, holeBytes: number, bimgInfo: number,
  compressed: boolean): string | null {
  const hasHole = (bimgInfo & BKPIMAGE_HAS_HOLE) !== 0;
  if (hasHole && (holeOffset === 0 || holeBytes === 0 || imageBytes === DATA_BLOCK_BYTES)) {
    return `BKPIMAGE_HAS_HOLE set, but hole offset ${holeOffset} length ${holeBytes} block image length ${imageBytes}`;
  }
  if (!hasHole && (holeOffset !== 0 || holeBytes !== 0)) {
    return `BKPIMAGE_HAS_HOLE not set, but hole offset ${holeOffset} length ${holeBytes}`;
  }
  if (compressed && imageBytes === DATA_BLOCK_BYTES) {
    return `BKPIMAGE_COMPRESSED set, but block image length ${imageBytes}`;
  }
  if (!hasHole && !compressed && imageBytes !== DATA_BLOCK_BYTES) {
    return `neither BKPIMAGE_HAS_HOLE nor BKPIMAGE_COMPRESSED set, but block image length is ${imageBytes}`;
  }
  return null;
}
