/**
 * The CopyData sub-protocol of BASE_BACKUP on 15+ servers: 'n' new archive, 'd' data, 'p' progress, 'm'
 * manifest follows. As strict as pg_basebackup: 'n' carries exactly two strings, 'p' exactly 8 bytes, 'm'
 * nothing; archive names are plain file names. Anything else is COPY_SUBMESSAGE_INVALID.
 *
 * Decodes one payload at a time; the order rules ('n' never after 'm', 'd' only inside something) belong to
 * the caller that sees the sequence.
 */
import { ProtocolError } from '../errors/index.ts';
import { BackupCopyType, typeChar } from './codes.ts';

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
