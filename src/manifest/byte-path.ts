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

/**
 * For error messages about a file that may be damaged (a corrupt manifest): valid UTF-8 text stays readable, while
 * control characters and every byte of an invalid sequence become `\xNN`, so a message never carries raw control
 * bytes (a terminal would act on them) or invalid UTF-8, and the damaged bytes can still be told apart.
 */
export function escapeBytes(byteString: string): string {
  const bytes = Buffer.from(byteString, 'latin1');
  let out = '';
  for (let at = 0; at < bytes.length;) {
    const lead = bytes[at] as number;
    const length = lead < 0x80 ? 1 : lead >= 0xc2 && lead <= 0xdf ? 2 : lead >= 0xe0 && lead <= 0xef ? 3 : lead >= 0xf0 && lead <= 0xf4 ? 4 : 0;
    const piece = bytes.subarray(at, at + Math.max(length, 1));
    const text = length > 0 && piece.length === length && isUtf8(piece) ? piece.toString('utf8') : null;
    if (text !== null && !/[\u0000-\u001f\u007f-\u009f]/.test(text)) {
      out += text;
      at += length;
    } else {
      out += `\\x${lead.toString(16).padStart(2, '0')}`;
      at += 1;
    }
  }
  return out;
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
