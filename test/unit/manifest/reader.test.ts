import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { loadManifest, parseManifest, type ManifestFileEntry } from '../../../src/manifest/reader.ts';
import { displayPath } from '../../../src/manifest/byte-path.ts';
import { VerifyError } from '../../../src/errors/index.ts';
import { V1, V1_CHECKSUM, V1_PATHS, V2, withChecksum } from './manifest-vectors.ts';

const sha256 = (bytes: Buffer): string => createHash('sha256').update(bytes).digest('hex');

function entries(bytes: Buffer): ManifestFileEntry[] {
  const out: ManifestFileEntry[] = [];
  parseManifest(bytes, (entry) => out.push(entry));
  return out;
}

function assertInvalid(bytes: Buffer, pattern?: RegExp): void {
  assert.throws(() => loadManifest(bytes), (error: unknown) => {
    assert.ok(error instanceof VerifyError, String(error));
    assert.equal(error.code, 'MANIFEST_INVALID');
    if (pattern !== undefined) assert.match(error.message, pattern);
    return true;
  });
}

/** V1 with its text changed and the checksum recomputed, so only the change is wrong. */
function v1With(from: string, to: string): Buffer {
  const text = V1.toString('utf8');
  assert.ok(text.includes(from), from);
  const body = text.slice(0, text.lastIndexOf('"Manifest-Checksum"')).replace(from, to);
  return withChecksum(body, sha256);
}

test('version 1: files, paths (plain, escaped, Encoded-Path), sizes, checksums, WAL range', () => {
  const files = entries(V1);
  assert.deepEqual(files.map((file) => file.path), V1_PATHS);
  assert.deepEqual(files[0], {
    path: 'backup_label', encodedPath: false, size: 227, lastModified: '2026-11-25 09:03:32 GMT', algorithm: 'CRC32C',
    checksum: '70124a8b',
  });
  assert.equal(files[2]?.encodedPath, true);
  assert.equal(displayPath(files[3]?.path as string), 'odd "q" back\\slash\ttab\x1fctl café');
  assert.equal(files[3]?.algorithm, 'NONE');
  assert.equal(files[3]?.checksum, '');
  const manifest = loadManifest(V1);
  assert.equal(manifest.version, 1);
  assert.equal(manifest.systemId, null);
  assert.equal(manifest.manifestChecksum, V1_CHECKSUM);
  assert.equal(manifest.files.size, 5);
  assert.deepEqual(manifest.files.get('non-\xffutf-8'), { index: 2, size: 3, algorithm: 'SHA224', checksum: '23097d223405d8228642a477bda255b32aadbce4bda0b3f7e36c9da7' });
  assert.deepEqual(manifest.walRanges, [{ tli: 1, startLsn: 0x2000028n, endLsn: 0x2000100n }]);
});

test('version 2: a System-Identifier above 2^53 stays exact, several WAL ranges in order', () => {
  const manifest = loadManifest(V2);
  assert.equal(manifest.version, 2);
  assert.equal(manifest.systemId, '7712023177395307041');
  assert.ok(BigInt(manifest.systemId) > BigInt(Number.MAX_SAFE_INTEGER));
  assert.deepEqual(manifest.walRanges, [
    { tli: 2, startLsn: 0x5000000n, endLsn: 0x5000120n },
    { tli: 1, startLsn: 0x4000028n, endLsn: 0x5000000n },
  ]);
});

test('\\u escapes and raw UTF-8 give the same bytes; surrogate pairs combine', () => {
  const escaped = entries(v1With('"Path": "base/1/1259"', '"Path": "caf\\u00e9 \\ud83d\\ude00 \\/x"'))[1];
  assert.equal(escaped?.path, Buffer.from('café 😀 /x', 'utf8').toString('latin1'));
});

test('JSON whitespace other than PostgreSQL\'s layout is accepted (the checksum still covers the bytes)', () => {
  const loose = withChecksum('{"PostgreSQL-Backup-Manifest-Version":1,\r\n\t"Files":[ {"Size":"5","Path":"a"} ],"WAL-Ranges":[],\n', sha256);
  const files = entries(loose);
  assert.deepEqual(files.map((file) => [file.path, file.size]), [['a', 5]]);
});

test('a wrong Manifest-Checksum is rejected', () => {
  const text = V1.toString('utf8').replace(V1_CHECKSUM, `${V1_CHECKSUM.slice(0, 63)}0`);
  assertInvalid(Buffer.from(text), /manifest checksum mismatch/);
  const flipped = Buffer.from(V1);
  const at = flipped.indexOf('backup_label') + 1;
  flipped[at] = (flipped[at] as number) ^ 0x01; // "backup_label" -> "b`ckup_label": still valid JSON
  assertInvalid(flipped, /manifest checksum mismatch/);
});

test('the checksum may be upper-case hex, must be 64 hex digits, and must be there', () => {
  assert.equal(loadManifest(Buffer.from(V1.toString('utf8').replace(V1_CHECKSUM, V1_CHECKSUM.toUpperCase()))).files.size, 5);
  assertInvalid(Buffer.from(V1.toString('utf8').replace(V1_CHECKSUM, 'abc')), /invalid manifest checksum/);
  const body = V1.toString('utf8');
  assertInvalid(Buffer.from(`${body.slice(0, body.lastIndexOf(',\n"Manifest-Checksum"'))}\n}\n`), /no checksum|unexpected/);
});

test('layout rules: final newline, at least two lines', () => {
  assertInvalid(V1.subarray(0, V1.length - 1), /last line not newline-terminated/);
  assertInvalid(Buffer.from('{ "PostgreSQL-Backup-Manifest-Version": 1, "Manifest-Checksum": "00"}\n'), /at least 2 lines|invalid manifest checksum/);
});

test('a duplicate path is an error', () => {
  assertInvalid(v1With('"Path": "base/1/1259"', '"Path": "backup_label"'), /duplicate path name in backup manifest: "backup_label"/);
  assertInvalid(v1With('"Path": "base/1/1259"', '"Encoded-Path": "6261636b75705f6c6162656c"'), /duplicate path/);
});

test('unknown or misplaced keys are errors', () => {
  assertInvalid(v1With('"Files": [', '"Extra": 1,\n"Files": ['), /unrecognized top-level field/);
  assertInvalid(v1With('{ "PostgreSQL-Backup-Manifest-Version": 1,\n"Files"', '{ "Files": [],\n"PostgreSQL-Backup-Manifest-Version": 1,\n"Files"'), /expected version indicator/);
  assertInvalid(v1With('"Size": 227,', '"Size": 227, "Mode": 384,'), /unexpected file field/);
  assertInvalid(v1With('"Timeline": 1,', '"Timeline": 1, "Foo": 2,'), /unexpected WAL range field/);
  assertInvalid(v1With('"WAL-Ranges": [', '"Files": [],\n"WAL-Ranges": ['), /duplicate top-level field/);
  const text = V1.toString('utf8');
  assertInvalid(Buffer.from(text.replace(/"}\n$/, '", "Files": []}\n')), /after the manifest checksum|checksum/);
});

test('bad values are errors', () => {
  assertInvalid(v1With('"PostgreSQL-Backup-Manifest-Version": 1', '"PostgreSQL-Backup-Manifest-Version": 3'), /unexpected manifest version/);
  assertInvalid(v1With('"Size": 227', '"Size": -1'), /file size is not an integer/);
  assertInvalid(v1With('"Size": 227', '"Size": 2.5'), /file size is not an integer/);
  assertInvalid(v1With('"Size": 227, ', ''), /missing size/);
  assertInvalid(v1With('"Checksum-Algorithm": "CRC32C", ', ''), /checksum without algorithm/);
  assertInvalid(v1With('"CRC32C"', '"MD5"'), /unrecognized checksum algorithm: "MD5"/);
  assertInvalid(v1With('"70124a8b"', '"70124a8"'), /invalid checksum for file "backup_label"/);
  assertInvalid(v1With('"Encoded-Path": "6e6f6e2dff7574662d38"', '"Encoded-Path": "6e6"'), /could not decode file name/);
  assertInvalid(v1With('{ "Path": "backup_label", ', '{ "Path": "x", "Encoded-Path": "78", '), /both path name and encoded path name/);
  assertInvalid(v1With('"Start-LSN": "0/2000028"', '"Start-LSN": "2000028"'), /could not parse start LSN/);
  assertInvalid(v1With('"Timeline": 1, ', ''), /missing timeline/);
  assertInvalid(v1With('"Path": "backup_label"', '"Path": ["backup_label"]'), /unexpected array start/);
  assertInvalid(v1With('"Path": "backup_label"', '"Path": "bad \\x escape"'), /invalid escape/);
  assertInvalid(v1With('"Path": "backup_label"', '"Path": "lone \\udc00"'), /surrogate/);
});

test('a v2 System-Identifier must be a decimal integer below 2^64', () => {
  const body = V2.toString('utf8').slice(0, V2.toString('utf8').lastIndexOf('"Manifest-Checksum"'));
  assertInvalid(withChecksum(body.replace('7712023177395307041', '18446744073709551616'), sha256), /system identifier/);
  assertInvalid(withChecksum(body.replace('7712023177395307041', '-1'), sha256), /system identifier/);
  assert.equal(loadManifest(withChecksum(body.replace('7712023177395307041', '18446744073709551615'), sha256)).systemId,
    '18446744073709551615');
});

test('truncated or trailing garbage is an error', () => {
  for (const cut of [10, 60, V1.length - 80]) {
    assertInvalid(Buffer.concat([V1.subarray(0, cut), Buffer.from('\n\n')]));
  }
  assertInvalid(Buffer.concat([V1, Buffer.from('{}\n')]));
});
