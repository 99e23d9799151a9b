/**
 * The CopyData sub-protocol of BASE_BACKUP on 15+ servers: 'n' new archive, 'd' data, 'p' progress, 'm'
 * manifest follows. As strict as pg_basebackup: 'n' carries exactly two strings, 'p' exactly 8 bytes, 'm'
 * nothing; archive names are plain file names. Anything else is COPY_SUBMESSAGE_INVALID.
 *
 * Decodes one payload at a time; the order rules ('n' never after 'm', 'd' only inside something) belong to
 * the caller that sees the sequence. The encoders (for serve) build payloads; `archiveDataFrameHeader` builds
 * the whole CopyData header of a 'd' so archive bytes go out with no copy (header and bytes written together).
 */
import { ProtocolError } from '../errors/index.ts';
import { BackendType, BackupCopyType, typeChar } from './codes.ts';
import { ByteWriter } from './writer.ts';

export type BackupCopyMessage =
  | { readonly type: 'new-archive'; readonly name: string; readonly location: string }
  | { readonly type: 'data'; readonly data: Buffer } // a view of the CopyData payload
  | { readonly type: 'progress'; readonly bytesDone: bigint }
  | { readonly type: 'manifest' };

const MANIFEST: BackupCopyMessage = Object.freeze({ type: 'manifest' });

export function decodeBackupCopyData(payload: Buffer): BackupCopyMessage {
  if (payload.length === 0) throw invalid('empty CopyData message during base backup', 0);
  const type = payload[0] as number;
  switch (type) {
    case BackupCopyType.NewArchive: return decodeNewArchive(payload);
    case BackupCopyType.ArchiveOrManifestData: return { type: 'data', data: payload.subarray(1) };
    case BackupCopyType.Progress:
      if (payload.length !== 9) throw invalid(`malformed COPY message of type "p" (${payload.length} bytes)`, type);
      return { type: 'progress', bytesDone: payload.readBigUInt64BE(1) };
    case BackupCopyType.Manifest:
      if (payload.length !== 1) throw invalid(`malformed COPY message of type "m" (${payload.length} bytes)`, type);
      return MANIFEST;
    default:
      throw invalid(`malformed COPY message of type "${typeChar(type)}"`, type);
  }
}

function decodeNewArchive(payload: Buffer): BackupCopyMessage {
  const nameEnd = payload.indexOf(0, 1);
  const locationEnd = nameEnd < 0 ? -1 : payload.indexOf(0, nameEnd + 1);
  if (locationEnd !== payload.length - 1) {
    throw invalid('malformed COPY message of type "n": expected exactly an archive name and a location', BackupCopyType.NewArchive);
  }
  const name = payload.toString('utf8', 1, nameEnd);
  const location = payload.toString('utf8', nameEnd + 1, locationEnd);
  checkArchiveName(name);
  return { type: 'new-archive', name, location };
}

/** A server-chosen name becomes a local file name: it must not escape the target directory or hide itself. */
export function checkArchiveName(name: string): void {
  if (name === '' || name.startsWith('.') || name.includes('/') || name.includes('\\')) {
    throw new ProtocolError('INVALID_ARCHIVE_NAME', `invalid archive name: "${name}"`, { details: { name } });
  }
}

function invalid(message: string, type: number): ProtocolError {
  return new ProtocolError('COPY_SUBMESSAGE_INVALID', message, { details: { type: typeChar(type) } });
}

/** 'm': the archives are over, manifest data follows (read-only constant). */
export const MANIFEST_MARKER: Buffer = Buffer.from([BackupCopyType.Manifest]);

export function encodeNewArchive(name: string, location: string): Buffer {
  return new ByteWriter().u8(BackupCopyType.NewArchive).cstring(name).cstring(location).finish();
}

export function encodeProgress(bytesDone: bigint): Buffer {
  return new ByteWriter(9).u8(BackupCopyType.Progress).u64(bytesDone).finish();
}

/** CopyData type byte, its length, and the 'd' sub-message byte for `dataBytes` bytes that follow. */
export function archiveDataFrameHeader(dataBytes: number): Buffer {
  return new ByteWriter(6).u8(BackendType.CopyData).i32(dataBytes + 5).u8(BackupCopyType.ArchiveOrManifestData).finish();
}
