/**
 * Generates a backup_manifest byte for byte as PostgreSQL's server does (the line layout matters: the
 * Manifest-Checksum covers the exact bytes). Incremental: each call returns the bytes to append, and a running
 * SHA-256 follows them, so a server can stream a manifest of any length. It does not compute file checksums
 * (checksum.ts does) nor decide which files belong in a backup.
 *
 * Layout: header, files separated by ",\n" (the first preceded by "\n"), "\n],\n", the WAL ranges,
 * "\n],\n", then the checksum line `"Manifest-Checksum": "<sha256>"}` and a final newline.
 */
import { createHash, type Hash } from 'node:crypto';
import { InternalError } from '../errors/index.ts';
import { formatLsn } from '../util/lsn.ts';
import { isValidUtf8 } from './byte-path.ts';
import type { ChecksumAlgorithm } from './checksum.ts';
import type { ManifestWalRange } from './reader.ts';

export interface ManifestWriterOptions {
  readonly version?: 1 | 2;
  /** Decimal text; required for version 2. */
  readonly systemId?: string;
  /** MANIFEST 'force-encode': every path as Encoded-Path. */
  readonly forceEncode?: boolean;
}

export interface ManifestFileInput {
  /** Byte string (byte-path.ts), or a Buffer of the raw name bytes. */
  readonly path: string | Buffer;
  readonly size: number;
  /** A Date (formatted in UTC) or the text exactly as it should appear, e.g. "2026-11-25 08:19:26 GMT". */
  readonly lastModified: Date | string;
  readonly algorithm: ChecksumAlgorithm;
  /** Lowercase hex; ignored for NONE. */
  readonly checksum: string;
  /** Force Encoded-Path for this entry (as a force-encode manifest had it). */
  readonly encodePath?: boolean;
}

export class ManifestWriter {
  readonly #hash: Hash = createHash('sha256');
  readonly #options: ManifestWriterOptions;
  #state: 'new' | 'files' | 'done' = 'new';
  #fileCount = 0;

  constructor(options: ManifestWriterOptions = {}) {
    if ((options.version ?? 1) === 2 && (options.systemId === undefined || !/^[0-9]+$/.test(options.systemId))) {
      throw new InternalError('INTERNAL_ASSERTION', 'a version 2 manifest needs a decimal system identifier');
    }
    this.#options = options;
  }

  /** The bytes of one more file entry (preceded by the header if this is the first call). */
  file(entry: ManifestFileInput): Buffer {
    if (this.#state === 'done') throw new InternalError('STAGE_ORDER_VIOLATION', 'manifest already finished');
    const pathBytes = typeof entry.path === 'string' ? Buffer.from(entry.path, 'latin1') : entry.path;
    const pathText = pathBytes.toString('latin1');
    let text = `${this.#header()}${this.#fileCount === 0 ? '\n' : ',\n'}`;
    if (this.#options.forceEncode === true || entry.encodePath === true || !isValidUtf8(pathText)) {
      text += `{ "Encoded-Path": "${pathBytes.toString('hex')}", `;
    } else {
      text += `{ "Path": ${jsonString(pathBytes.toString('utf8'))}, `;
    }
    text += `"Size": ${entry.size}, "Last-Modified": "${lastModifiedText(entry.lastModified)}"`;
    if (entry.algorithm !== 'NONE') {
      text += `, "Checksum-Algorithm": "${entry.algorithm}", "Checksum": "${entry.checksum}"`;
    }
    text += ' }';
    this.#fileCount++;
    return this.#emit(text);
  }

  /** The tail: end of the file list, the WAL ranges, and the checksum line. */
  finish(walRanges: readonly ManifestWalRange[]): Buffer {
    if (this.#state === 'done') throw new InternalError('STAGE_ORDER_VIOLATION', 'manifest already finished');
    const ranges = walRanges.map((range) =>
      `{ "Timeline": ${range.tli}, "Start-LSN": "${formatLsn(range.startLsn)}", "End-LSN": "${formatLsn(range.endLsn)}" }`);
    const body = this.#emit(`${this.#header()}\n],\n"WAL-Ranges": [\n${ranges.join(',\n')}\n],\n`);
    this.#state = 'done';
    const checksumLine = Buffer.from(`"Manifest-Checksum": "${this.#hash.digest('hex')}"}\n`, 'utf8');
    return Buffer.concat([body, checksumLine]);
  }

  #header(): string {
    if (this.#state !== 'new') return '';
    this.#state = 'files';
    const version = this.#options.version ?? 1;
    const systemId = version === 2 ? `"System-Identifier": ${this.#options.systemId},\n` : '';
    return `{ "PostgreSQL-Backup-Manifest-Version": ${version},\n${systemId}"Files": [`;
  }

  #emit(text: string): Buffer {
    // Paths went in as real text (JSON-escaped UTF-8), so utf8 encoding here reproduces their bytes.
    const bytes = Buffer.from(text, 'utf8');
    this.#hash.update(bytes);
    return bytes;
  }
}

/** Whole manifest in one call, for tests and small backups. */
export function writeManifest(
  files: Iterable<ManifestFileInput>, walRanges: readonly ManifestWalRange[], options: ManifestWriterOptions = {},
): Buffer {
  const writer = new ManifestWriter(options);
  const parts: Buffer[] = [];
  for (const file of files) parts.push(writer.file(file));
  parts.push(writer.finish(walRanges));
  return Buffer.concat(parts);
}

/** PostgreSQL's escape_json: the two mandatory escapes, the short forms, other controls as \u00xx (lowercase). */
export function jsonString(text: string): string {
  let out = '"';
  for (const char of text) {
    const code = char.codePointAt(0) as number;
    if (char === '"') out += '\\"';
    else if (char === '\\') out += '\\\\';
    else if (char === '\b') out += '\\b';
    else if (char === '\f') out += '\\f';
    else if (char === '\n') out += '\\n';
    else if (char === '\r') out += '\\r';
    else if (char === '\t') out += '\\t';
    else if (code < 0x20) out += `\\u${code.toString(16).padStart(4, '0')}`;
    else out += char;
  }
  return `${out}"`;
}

/** `YYYY-MM-DD HH:MM:SS GMT`, the file's mtime in UTC. */
export function lastModifiedText(value: Date | string): string {
  if (typeof value === 'string') return value;
  const iso = value.toISOString(); // 2026-11-25T08:19:26.000Z
  return `${iso.slice(0, 10)} ${iso.slice(11, 19)} GMT`;
}
