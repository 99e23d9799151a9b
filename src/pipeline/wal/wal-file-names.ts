/**
 * Names the WAL sinks accept from the stream: segment names they build themselves, and timeline history file names
 * that come from the server (TIMELINE_HISTORY) and so are checked before being used as a path.
 */
import { ProtocolError } from '../../errors/index.ts';

const HISTORY_FILE_NAME = /^[0-9A-F]{8}\.history$/;

export function checkHistoryFileName(filename: string): void {
  if (!HISTORY_FILE_NAME.test(filename)) {
    throw new ProtocolError('MALFORMED_MESSAGE', `invalid timeline history file name "${filename}"`);
  }
}

export function doneMarkerName(walFileName: string): string {
  return `archive_status/${walFileName}.done`;
}
