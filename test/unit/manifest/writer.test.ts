import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { ManifestWriter, jsonString, lastModifiedText, writeManifest, type ManifestFileInput } from '../../../src/manifest/writer.ts';
import { parseManifest } from '../../../src/manifest/reader.ts';
import { V1, V1_PATHS, V2 } from './manifest-vectors.ts';

const V1_FILES: ManifestFileInput[] = [
  { path: V1_PATHS[0] as string, size: 227, lastModified: new Date(Date.UTC(2026, 10, 25, 9, 3, 32)), algorithm: 'CRC32C', checksum: '70124a8b' },
  { path: V1_PATHS[1] as string, size: 0, lastModified: '2026-11-25 08:59:53 GMT', algorithm: 'SHA256', checksum: 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855' },
  { path: Buffer.from('non-\xffutf-8', 'latin1'), size: 3, lastModified: '2026-11-25 08:59:53 GMT', algorithm: 'SHA224', checksum: '23097d223405d8228642a477bda255b32aadbce4bda0b3f7e36c9da7' },
  { path: V1_PATHS[3] as string, size: 1, lastModified: '2026-11-25 08:59:54 GMT', algorithm: 'NONE', checksum: '' },
  { path: 'global/pg_control', size: 8192, lastModified: '2026-11-25 09:03:32 GMT', algorithm: 'SHA512', checksum: 'ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f' },
];
const V1_RANGES = [{ tli: 1, startLsn: 0x2000028n, endLsn: 0x2000100n }];

test('writes the hand-built version 1 vector byte for byte', () => {
  assert.equal(writeManifest(V1_FILES, V1_RANGES).toString('latin1'), V1.toString('latin1'));
});

test('writes the hand-built version 2 vector byte for byte', () => {
  const out = writeManifest(
    [{ path: 'PG_VERSION', size: 3, lastModified: '2026-11-25 08:59:53 GMT', algorithm: 'CRC32C', checksum: '8a744722' }],
    [{ tli: 2, startLsn: 0x5000000n, endLsn: 0x5000120n }, { tli: 1, startLsn: 0x4000028n, endLsn: 0x5000000n }],
    { version: 2, systemId: '7712023177395307041' },
  );
  assert.ok(out.equals(V2));
});

test('incremental chunks concatenate to the whole, and the checksum covers them', () => {
  const writer = new ManifestWriter();
  const chunks = V1_FILES.map((file) => writer.file(file));
  chunks.push(writer.finish(V1_RANGES));
  const whole = Buffer.concat(chunks);
  assert.ok(whole.equals(V1));
  assert.ok(chunks[0]?.toString('utf8').startsWith('{ "PostgreSQL-Backup-Manifest-Version": 1,\n"Files": [\n{ "Path": '));
  assert.throws(() => writer.file(V1_FILES[0] as ManifestFileInput), { code: 'STAGE_ORDER_VIOLATION' });
});

test('an empty file list, and force-encode', () => {
  const empty = writeManifest([], V1_RANGES).toString('utf8');
  const body = '{ "PostgreSQL-Backup-Manifest-Version": 1,\n"Files": [\n],\n"WAL-Ranges": [\n' +
    '{ "Timeline": 1, "Start-LSN": "0/2000028", "End-LSN": "0/2000100" }\n],\n';
  assert.equal(empty, `${body}"Manifest-Checksum": "${createHash('sha256').update(body).digest('hex')}"}\n`);
  const encoded = writeManifest([V1_FILES[0] as ManifestFileInput], V1_RANGES, { forceEncode: true }).toString('utf8');
  assert.ok(encoded.includes('{ "Encoded-Path": "6261636b75705f6c6162656c", "Size": 227, '));
});

test('JSON escaping is PostgreSQL\'s escape_json', () => {
  assert.equal(jsonString('a"b\\c\b\f\n\r\t\x01\x1f/é\x7f'), '"a\\"b\\\\c\\b\\f\\n\\r\\t\\u0001\\u001f/é\x7f"');
});

test('Last-Modified is the UTC time without fraction', () => {
  assert.equal(lastModifiedText(new Date(Date.UTC(2026, 0, 2, 3, 4, 5, 678))), '2026-01-02 03:04:05 GMT');
});

test('a version 2 manifest needs a system identifier', () => {
  assert.throws(() => new ManifestWriter({ version: 2 }), { code: 'INTERNAL_ASSERTION' });
});

test('parse then write reproduces the vectors (Encoded-Path kept as such)', () => {
  for (const vector of [V1, V2]) {
    const files: ManifestFileInput[] = [];
    const summary = parseManifest(vector, (entry) => files.push({ ...entry, lastModified: entry.lastModified ?? '', encodePath: entry.encodedPath }));
    const out = writeManifest(files, summary.walRanges, { version: summary.version, ...(summary.systemId === null ? {} : { systemId: summary.systemId }) });
    assert.ok(out.equals(vector));
  }
});
