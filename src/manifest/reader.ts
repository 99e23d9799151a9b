/**
 * Reads a backup_manifest (version 1, 13+; version 2 with System-Identifier, 17+) with PostgreSQL's rules:
 * the version first, only the known top-level keys, Manifest-Checksum last and equal to the SHA-256 of every
 * byte up to and including the penultimate newline. Any violation throws VerifyError MANIFEST_INVALID.
 *
 * Two levels: parseManifest() hands each file entry, complete, to a callback (the writer round-trip uses it);
 * loadManifest() keeps only what verification needs, in a Map keyed by byte-string path, because manifests can
 * list hundreds of thousands of files. The System-Identifier stays a decimal string: it may exceed 2^53.
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { VerifyError, fsError } from '../errors/index.ts';
import type { Lsn } from '../util/lsn.ts';
import { escapeBytes } from './byte-path.ts';
import { parseChecksumAlgorithm, type ChecksumAlgorithm } from './checksum.ts';
import { JsonScanner, type JsonToken } from './json-scan.ts';

export interface ManifestFileEntry {
  /** Byte string (see byte-path.ts). */
  readonly path: string;
  /** Written as Encoded-Path (hex) rather than Path. */
  readonly encodedPath: boolean;
  readonly size: number;
  readonly lastModified: string | null;
  readonly algorithm: ChecksumAlgorithm;
  /** Lowercase hex; '' when the entry has none. */
  readonly checksum: string;
}

export interface ManifestWalRange {
  readonly tli: number;
  readonly startLsn: Lsn;
  readonly endLsn: Lsn;
}

export interface ManifestSummary {
  readonly version: 1 | 2;
  /** Decimal text, present in version 2 only. */
  readonly systemId: string | null;
  readonly walRanges: readonly ManifestWalRange[];
  readonly manifestChecksum: string;
  readonly fileCount: number;
}

/** What verification keeps per file. `index` is the manifest order, for per-file flags kept elsewhere. */
export interface ManifestFile {
  readonly index: number;
  readonly size: number;
  readonly algorithm: ChecksumAlgorithm;
  readonly checksum: string;
}

export interface BackupManifest extends ManifestSummary {
  readonly files: ReadonlyMap<string, ManifestFile>;
}

type Scalar = { readonly kind: 'string' | 'number' | 'literal'; readonly text: string };
const TOP_LEVEL = new Set(['System-Identifier', 'Files', 'WAL-Ranges', 'Manifest-Checksum']);
const FILE_FIELDS = new Set(['Path', 'Encoded-Path', 'Size', 'Last-Modified', 'Checksum-Algorithm', 'Checksum']);
const WAL_RANGE_FIELDS = new Set(['Timeline', 'Start-LSN', 'End-LSN']);
const DECIMAL = /^[0-9]+$/;
const HEX = /^(?:[0-9A-Fa-f]{2})*$/;

export async function readManifestFile(path: string): Promise<BackupManifest> {
  let bytes: Buffer;
  try {
    bytes = await readFile(path);
  } catch (error) {
    throw fsError('open file', path, error);
  }
  return loadManifest(bytes);
}

export function loadManifest(bytes: Buffer): BackupManifest {
  const files = new Map<string, ManifestFile>();
  const summary = parseManifest(bytes, (entry) => {
    if (files.has(entry.path)) {
      throw invalid(`duplicate path name in backup manifest: "${escapeBytes(entry.path)}"`);
    }
    files.set(entry.path, { index: files.size, size: entry.size, algorithm: entry.algorithm, checksum: entry.checksum });
  });
  return { ...summary, files };
}

export function parseManifest(bytes: Buffer, onFile: (entry: ManifestFileEntry) => void): ManifestSummary {
  const scan = new JsonScanner(bytes);
  let version: 1 | 2 | null = null;
  let systemId: string | null = null;
  let manifestChecksum: string | null = null;
  let fileCount = 0;
  const walRanges: ManifestWalRange[] = [];
  const seen = new Set<string>();

  expect(scan, scan.next(), '{', 'expected version indicator');
  let token = scan.next();
  for (;;) {
    if (token.kind !== 'string') return scan.fail(version === null ? 'expected version indicator' : 'expected a field name');
    const key = token.text;
    expect(scan, scan.next(), ':', 'expected ":"');
    if (manifestChecksum !== null) return scan.fail('unexpected object field after the manifest checksum');
    if (version === null) {
      if (key !== 'PostgreSQL-Backup-Manifest-Version') return scan.fail('expected version indicator');
      const text = scalar(scan).text;
      if (!DECIMAL.test(text)) return scan.fail('manifest version not an integer');
      if (text !== '1' && text !== '2') return scan.fail('unexpected manifest version');
      version = text === '1' ? 1 : 2;
    } else {
      if (!TOP_LEVEL.has(key)) return scan.fail(`unrecognized top-level field "${escapeBytes(key)}"`);
      if (seen.has(key)) return scan.fail(`duplicate top-level field "${escapeBytes(key)}"`);
      seen.add(key);
      if (key === 'System-Identifier') {
        systemId = scalar(scan).text;
        if (!DECIMAL.test(systemId) || BigInt(systemId) >= 1n << 64n) {
          return scan.fail('manifest system identifier not an integer');
        }
      } else if (key === 'Files') {
        eachObject(scan, FILE_FIELDS, 'file', (fields) => {
          onFile(fileEntry(scan, fields));
          fileCount++;
        });
      } else if (key === 'WAL-Ranges') {
        eachObject(scan, WAL_RANGE_FIELDS, 'WAL range', (fields) => walRanges.push(walRange(scan, fields)));
      } else {
        manifestChecksum = scalar(scan).text;
      }
    }
    token = scan.next();
    if (token.kind === '}') break;
    expect(scan, token, ',', 'expected "," or "}"');
    token = scan.next();
  }
  if (scan.next().kind !== 'end') return scan.fail('unexpected data after the manifest');
  if (version === null) return scan.fail('expected version indicator');
  verifyManifestChecksum(bytes, manifestChecksum);
  return { version, systemId, walRanges, manifestChecksum: (manifestChecksum as string).toLowerCase(), fileCount };
}

/** SHA-256 over everything up to and including the penultimate newline; the last line holds the checksum. */
function verifyManifestChecksum(bytes: Buffer, expected: string | null): void {
  const last = bytes.lastIndexOf(0x0a);
  const penultimate = last > 0 ? bytes.lastIndexOf(0x0a, last - 1) : -1;
  if (last < 0 || penultimate < 0) throw invalid('could not parse backup manifest: expected at least 2 lines');
  if (last !== bytes.length - 1) throw invalid('could not parse backup manifest: last line not newline-terminated');
  if (expected === null) throw invalid('manifest has no checksum');
  if (expected.length !== 64 || !HEX.test(expected)) throw invalid(`invalid manifest checksum: "${escapeBytes(expected)}"`);
  const actual = createHash('sha256').update(bytes.subarray(0, penultimate + 1)).digest('hex');
  if (actual !== expected.toLowerCase()) {
    throw invalid('manifest checksum mismatch', { expected: expected.toLowerCase(), actual });
  }
}

function fileEntry(scan: JsonScanner, fields: ReadonlyMap<string, Scalar>): ManifestFileEntry {
  const plain = fields.get('Path');
  const encoded = fields.get('Encoded-Path');
  if (plain === undefined && encoded === undefined) return scan.fail('missing path name');
  if (plain !== undefined && encoded !== undefined) return scan.fail('both path name and encoded path name');
  let path: string;
  if (encoded !== undefined) {
    if (!HEX.test(encoded.text)) return scan.fail('could not decode file name');
    path = Buffer.from(encoded.text, 'hex').toString('latin1');
  } else {
    path = (plain as Scalar).text;
  }
  const sizeText = fields.get('Size')?.text;
  if (sizeText === undefined) return scan.fail('missing size');
  const size = Number(sizeText);
  if (!DECIMAL.test(sizeText) || !Number.isSafeInteger(size)) return scan.fail('file size is not an integer');
  const algorithmText = fields.get('Checksum-Algorithm')?.text;
  const checksumText = fields.get('Checksum')?.text;
  if (algorithmText === undefined && checksumText !== undefined) return scan.fail('checksum without algorithm');
  const algorithm = algorithmText === undefined ? 'NONE' : parseChecksumAlgorithm(algorithmText);
  if (algorithm === null) throw invalid(`unrecognized checksum algorithm: "${escapeBytes(algorithmText ?? '')}"`);
  const checksum = checksumText ?? '';
  if (!HEX.test(checksum)) throw invalid(`invalid checksum for file "${escapeBytes(path)}": "${escapeBytes(checksum)}"`);
  return {
    path,
    encodedPath: encoded !== undefined,
    size,
    lastModified: fields.get('Last-Modified')?.text ?? null,
    algorithm,
    checksum: checksum.toLowerCase(),
  };
}

function walRange(scan: JsonScanner, fields: ReadonlyMap<string, Scalar>): ManifestWalRange {
  const tli = fields.get('Timeline')?.text;
  const start = fields.get('Start-LSN')?.text;
  const end = fields.get('End-LSN')?.text;
  if (tli === undefined) return scan.fail('missing timeline');
  if (start === undefined) return scan.fail('missing start LSN');
  if (end === undefined) return scan.fail('missing end LSN');
  if (!DECIMAL.test(tli) || Number(tli) > 0xffffffff) return scan.fail('timeline is not an integer');
  const startLsn = lsnOrNull(start);
  const endLsn = lsnOrNull(end);
  if (startLsn === null) return scan.fail('could not parse start LSN');
  if (endLsn === null) return scan.fail('could not parse end LSN');
  return { tli: Number(tli), startLsn, endLsn };
}

function lsnOrNull(text: string): Lsn | null {
  const match = /^([0-9A-Fa-f]{1,8})\/([0-9A-Fa-f]{1,8})$/.exec(text);
  return match === null ? null : (BigInt(`0x${match[1]}`) << 32n) | BigInt(`0x${match[2]}`);
}

/** An array of flat objects whose values are scalars, each object's fields handed over at its end. */
function eachObject(
  scan: JsonScanner, allowed: ReadonlySet<string>, what: string,
  onObject: (fields: ReadonlyMap<string, Scalar>) => void,
): void {
  expect(scan, scan.next(), '[', `expected an array of ${what} objects`);
  let token = scan.next();
  if (token.kind === ']') return;
  for (;;) {
    expect(scan, token, '{', 'unexpected scalar');
    onObject(objectFields(scan, allowed, what));
    token = scan.next();
    if (token.kind === ']') return;
    expect(scan, token, ',', 'expected "," or "]"');
    token = scan.next();
  }
}

function objectFields(scan: JsonScanner, allowed: ReadonlySet<string>, what: string): Map<string, Scalar> {
  const fields = new Map<string, Scalar>();
  let token = scan.next();
  if (token.kind === '}') return fields;
  for (;;) {
    if (token.kind !== 'string') return scan.fail('expected a field name');
    if (!allowed.has(token.text)) return scan.fail(`unexpected ${what} field "${escapeBytes(token.text)}"`);
    if (fields.has(token.text)) return scan.fail(`duplicate ${what} field "${escapeBytes(token.text)}"`);
    expect(scan, scan.next(), ':', 'expected ":"');
    fields.set(token.text, scalar(scan));
    token = scan.next();
    if (token.kind === '}') return fields;
    expect(scan, token, ',', 'expected "," or "}"');
    token = scan.next();
  }
}

function scalar(scan: JsonScanner): Scalar {
  const token = scan.next();
  if (token.kind === 'string' || token.kind === 'number' || token.kind === 'literal') return token;
  if (token.kind === '{') return scan.fail('unexpected object start');
  if (token.kind === '[') return scan.fail('unexpected array start');
  return scan.fail('expected a value');
}

function expect(scan: JsonScanner, token: JsonToken, kind: JsonToken['kind'], message: string): void {
  if (token.kind !== kind) scan.fail(token.kind === 'end' ? 'manifest ended unexpectedly' : message);
}

function invalid(message: string, details: Record<string, unknown> = {}): VerifyError {
  return new VerifyError('MANIFEST_INVALID', message, { details });
}
