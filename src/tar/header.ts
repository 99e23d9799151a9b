/**
 * One ustar header block, as PostgreSQL's tarCreateHeader writes it and as pg_basebackup reads it.
 *
 * Owns: the 512-byte layout, numeric fields (octal zero-padded to width-1 then one space; GNU base-256 when the
 * value does not fit), the checksum, type flags and the trailing '/' PostgreSQL puts on directory and symlink names.
 * Does not: buffer, stream or touch files (reader.ts and writer.ts do the framing), nor support pax, GNU long names,
 * hard links or devices — a base backup never contains them, so they are rejected rather than half-understood.
 *
 * Names are bytes on the wire. `name` is the normalised path (no leading './', no trailing '/'), decoded as UTF-8
 * when valid; `nameBytes` keeps the exact bytes so a non-UTF-8 file name (PostgreSQL's TAP test plants one) can
 * still be extracted under its real name.
 */
import { isUtf8 } from 'node:buffer';
import { TarError } from '../errors/index.ts';
import { normaliseMemberName } from './safe-path.ts';

export const TAR_BLOCK_BYTES = 512;
/** Both the name and the link target must leave room for a terminating NUL in their 100-byte fields. */
export const TAR_MAX_NAME_BYTES = 99;

export interface TarHeader {
  name: string;
  mode: number;
  uid: number;
  gid: number;
  size: number;
  mtime: number;
  type: 'file' | 'directory' | 'symlink';
  linkname: string;
  /** Exact name bytes after normalisation; set by the decoder, preferred over `name` by the encoder. */
  nameBytes?: Buffer;
}

const FIELD = {
  name: [0, 100], mode: [100, 8], uid: [108, 8], gid: [116, 8], size: [124, 12], mtime: [136, 12],
  checksum: [148, 8], typeflag: [156, 1], linkname: [157, 100], magic: [257, 6], version: [263, 2],
  uname: [265, 32], gname: [297, 32], devmajor: [329, 8], devminor: [337, 8], prefix: [345, 155],
} as const;

const TYPE_FLAG = { file: 0x30, directory: 0x35, symlink: 0x32 } as const; // '0' '5' '2'
const OLD_FILE_FLAG = 0x00; // pre-POSIX archivers wrote NUL for a regular file
const CHECKSUM_SPACES = 8 * 0x20;

/** Encodes one header exactly as PostgreSQL's server does (uname/gname "postgres", devmajor/minor 0). */
export function encodeTarHeader(header: TarHeader): Buffer {
  const block = Buffer.alloc(TAR_BLOCK_BYTES);
  let name = header.nameBytes ?? Buffer.from(header.name, 'utf8');
  if (header.type !== 'file' && name[name.length - 1] !== 0x2f) name = Buffer.concat([name, Buffer.from('/')]);
  if (name.length === 0) throw new TarError('TAR_UNSAFE_PATH', 'empty file name in tar header');
  if (name.length > TAR_MAX_NAME_BYTES) {
    throw new TarError('TAR_NAME_TOO_LONG', `file name too long for tar format: "${name.toString('utf8')}"`);
  }
  const link = Buffer.from(header.type === 'symlink' ? header.linkname : '', 'utf8');
  if (link.length > TAR_MAX_NAME_BYTES) {
    throw new TarError('TAR_NAME_TOO_LONG', `symbolic link target too long for tar format: "${header.linkname}"`);
  }
  name.copy(block, FIELD.name[0]);
  writeNumber(block, FIELD.mode, header.mode & 0o7777);
  writeNumber(block, FIELD.uid, header.uid);
  writeNumber(block, FIELD.gid, header.gid);
  writeNumber(block, FIELD.size, header.type === 'file' ? header.size : 0);
  writeNumber(block, FIELD.mtime, header.mtime);
  block[FIELD.typeflag[0]] = TYPE_FLAG[header.type];
  link.copy(block, FIELD.linkname[0]);
  block.write('ustar\u000000', FIELD.magic[0], 'latin1');
  block.write('postgres', FIELD.uname[0], 'latin1');
  block.write('postgres', FIELD.gname[0], 'latin1');
  writeNumber(block, FIELD.devmajor, 0);
  writeNumber(block, FIELD.devminor, 0);
  block.fill(0x20, FIELD.checksum[0], FIELD.checksum[0] + FIELD.checksum[1]);
  writeNumber(block, FIELD.checksum, unsignedSum(block));
  return block;
}

export function isZeroBlock(block: Buffer): boolean {
  for (let i = 0; i < TAR_BLOCK_BYTES; i++) if (block[i] !== 0) return false;
  return true;
}

/** Decodes a non-zero 512-byte block (callers check isZeroBlock first). Names are validated by safe-path. */
export function decodeTarHeader(block: Buffer): TarHeader {
  let stored: number;
  try {
    stored = readNumber(block, FIELD.checksum);
  } catch {
    stored = -1; // garbage in the checksum field is a checksum mismatch, not an odd member
  }
  // Some old archivers summed signed chars; accept either, as GNU tar does.
  if (stored !== unsignedSum(block) && stored !== signedSum(block)) {
    throw new TarError('TAR_CHECKSUM_MISMATCH', 'invalid tar header checksum', { details: { stored } });
  }
  const magic = block.toString('latin1', FIELD.magic[0], FIELD.magic[0] + FIELD.magic[1]);
  const isPosix = magic === 'ustar\u0000';
  if (!isPosix && magic !== 'ustar ' && magic !== 'ustar0') {
    throw new TarError('TAR_UNSUPPORTED_MEMBER', 'tar header is not in ustar format');
  }
  const flag = block[FIELD.typeflag[0]] as number;
  const type = flag === TYPE_FLAG.file || flag === OLD_FILE_FLAG ? 'file'
    : flag === TYPE_FLAG.directory ? 'directory' : flag === TYPE_FLAG.symlink ? 'symlink' : null;
  let rawName = cString(block, FIELD.name);
  // Only POSIX ustar uses the prefix field for long names; GNU keeps timestamps there.
  const prefix = isPosix ? cString(block, FIELD.prefix) : Buffer.alloc(0);
  if (prefix.length > 0) rawName = Buffer.concat([prefix, Buffer.from('/'), rawName]);
  if (type === null) {
    throw new TarError('TAR_UNSUPPORTED_MEMBER', `unsupported tar member type "${String.fromCharCode(flag)}" for "${rawName.toString('utf8')}"`);
  }
  const size = readNumber(block, FIELD.size);
  if (type !== 'file' && size !== 0) {
    throw new TarError('TAR_UNSUPPORTED_MEMBER', `tar member "${rawName.toString('utf8')}" is not a file but has data`);
  }
  const nameBytes = Buffer.from(normaliseMemberName(rawName.toString('latin1')), 'latin1');
  return {
    name: nameBytes.toString(isUtf8(nameBytes) ? 'utf8' : 'latin1'),
    nameBytes,
    mode: readNumber(block, FIELD.mode),
    uid: readNumber(block, FIELD.uid),
    gid: readNumber(block, FIELD.gid),
    size,
    mtime: readNumber(block, FIELD.mtime),
    type,
    linkname: type === 'symlink' ? cString(block, FIELD.linkname).toString('utf8') : '',
  };
}

function writeNumber(block: Buffer, [offset, width]: readonly [number, number], value: number): void {
  if (!Number.isSafeInteger(value) || value < 0) {
    throw new TarError('TAR_UNSUPPORTED_MEMBER', `value ${value} cannot be stored in a tar header`);
  }
  if (value < 8 ** (width - 1)) {
    block.write(`${value.toString(8).padStart(width - 1, '0')} `, offset, 'latin1');
    return;
  }
  // GNU base-256: a 0x80 marker byte, then the value big-endian in the remaining bytes.
  let rest = BigInt(value);
  for (let i = width - 1; i > 0; i--) {
    block[offset + i] = Number(rest & 0xffn);
    rest >>= 8n;
  }
  block[offset] = 0x80;
}

function readNumber(block: Buffer, [offset, width]: readonly [number, number]): number {
  const first = block[offset] as number;
  if (first & 0x80) {
    if (first !== 0x80) throw new TarError('TAR_UNSUPPORTED_MEMBER', 'negative or oversized base-256 number in tar header');
    let value = 0n;
    for (let i = 1; i < width; i++) value = (value << 8n) | BigInt(block[offset + i] as number);
    if (value > BigInt(Number.MAX_SAFE_INTEGER)) throw new TarError('TAR_UNSUPPORTED_MEMBER', 'number in tar header exceeds 2^53');
    return Number(value);
  }
  let at = offset;
  const end = offset + width;
  while (at < end && block[at] === 0x20) at++;
  let value = 0;
  let digits = 0;
  for (; at < end; at++, digits++) {
    const byte = block[at] as number;
    if (byte === 0x20 || byte === 0x00) break;
    if (byte < 0x30 || byte > 0x37) throw new TarError('TAR_UNSUPPORTED_MEMBER', 'invalid octal number in tar header');
    value = value * 8 + (byte - 0x30);
  }
  return digits === 0 ? 0 : value;
}

function cString(block: Buffer, [offset, width]: readonly [number, number]): Buffer {
  const end = block.indexOf(0, offset);
  return block.subarray(offset, end === -1 || end > offset + width ? offset + width : end);
}

function unsignedSum(block: Buffer): number {
  let sum = CHECKSUM_SPACES;
  for (let i = 0; i < TAR_BLOCK_BYTES; i++) {
    if (i < FIELD.checksum[0] || i >= FIELD.checksum[0] + FIELD.checksum[1]) sum += block[i] as number;
  }
  return sum;
}

function signedSum(block: Buffer): number {
  let sum = CHECKSUM_SPACES;
  for (let i = 0; i < TAR_BLOCK_BYTES; i++) {
    if (i < FIELD.checksum[0] || i >= FIELD.checksum[0] + FIELD.checksum[1]) sum += block.readInt8(i);
  }
  return sum;
}
