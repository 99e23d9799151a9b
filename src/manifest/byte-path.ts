/**
 * Paths as "byte strings": one char per byte (latin1 code units), so file names that are not valid UTF-8
 * survive the round trip manifest -> Map key -> file system -> message exactly. Manifest keys, directory
 * walks and tar member names all meet in this form; only display converts to real text.
 */
import { isUtf8 } from 'node:buffer';

/** Text (as given by a user or a JSON `Path`) to its UTF-8 bytes as a byte string. */
export function toBytePath(text: string): string {
  return isAscii(text) ? text : Buffer.from(text, 'utf8').toString('latin1');
}

/** Raw bytes (a readdir name, a tar member name) to a byte string. */
export function bytesToBytePath(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('latin1');
}

/** For messages: decode as UTF-8; invalid sequences show as U+FFFD, as a terminal would. */
export function displayPath(bytePath: string): string {
  return isAscii(bytePath) ? bytePath : Buffer.from(bytePath, 'latin1').toString('utf8');
}

/** The byte string as a file-system path argument (Buffer paths keep non-UTF-8 names intact). */
export function fsPath(bytePath: string): string | Buffer {
  return isAscii(bytePath) ? bytePath : Buffer.from(bytePath, 'latin1');
}

export function isValidUtf8(bytePath: string): boolean {
  return isAscii(bytePath) || isUtf8(Buffer.from(bytePath, 'latin1'));
}

function isAscii(text: string): boolean {
  return /^[\x00-\x7f]*$/.test(text);
}
