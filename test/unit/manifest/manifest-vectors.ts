/**
 * Hand-built backup_manifest vectors in PostgreSQL's exact layout. The Manifest-Checksum values were computed
 * with sha256sum over the lines before the last one, independently of our code.
 */
const V1_BODY = [
  '{ "PostgreSQL-Backup-Manifest-Version": 1,',
  '"Files": [',
  '{ "Path": "backup_label", "Size": 227, "Last-Modified": "2026-11-25 09:03:32 GMT", "Checksum-Algorithm": "CRC32C", "Checksum": "70124a8b" },',
  '{ "Path": "base/1/1259", "Size": 0, "Last-Modified": "2026-11-25 08:59:53 GMT", "Checksum-Algorithm": "SHA256", "Checksum": "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855" },',
  '{ "Encoded-Path": "6e6f6e2dff7574662d38", "Size": 3, "Last-Modified": "2026-11-25 08:59:53 GMT", "Checksum-Algorithm": "SHA224", "Checksum": "23097d223405d8228642a477bda255b32aadbce4bda0b3f7e36c9da7" },',
  '{ "Path": "odd \\"q\\" back\\\\slash\\ttab\\u001fctl café", "Size": 1, "Last-Modified": "2026-11-25 08:59:54 GMT" },',
  '{ "Path": "global/pg_control", "Size": 8192, "Last-Modified": "2026-11-25 09:03:32 GMT", "Checksum-Algorithm": "SHA512", "Checksum": "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f" }',
  '],',
  '"WAL-Ranges": [',
  '{ "Timeline": 1, "Start-LSN": "0/2000028", "End-LSN": "0/2000100" }',
  '],',
  '',
].join('\n');

export const V1_CHECKSUM = 'fbd617d36d8d892bb783262d0a21fdb636c661878b2cf447eb3f43d25b10730b';
export const V1 = Buffer.from(`${V1_BODY}"Manifest-Checksum": "${V1_CHECKSUM}"}\n`, 'utf8');
export const V1_BODY_BYTES = Buffer.from(V1_BODY, 'utf8');

/** Byte-string paths of V1's files, in order. */
export const V1_PATHS = [
  'backup_label', 'base/1/1259', 'non-\xffutf-8', Buffer.from('odd "q" back\\slash\ttab\x1fctl café', 'utf8').toString('latin1'),
  'global/pg_control',
];

const V2_BODY = [
  '{ "PostgreSQL-Backup-Manifest-Version": 2,',
  '"System-Identifier": 7712023177395307041,',
  '"Files": [',
  '{ "Path": "PG_VERSION", "Size": 3, "Last-Modified": "2026-11-25 08:59:53 GMT", "Checksum-Algorithm": "CRC32C", "Checksum": "8a744722" }',
  '],',
  '"WAL-Ranges": [',
  '{ "Timeline": 2, "Start-LSN": "0/5000000", "End-LSN": "0/5000120" },',
  '{ "Timeline": 1, "Start-LSN": "0/4000028", "End-LSN": "0/5000000" }',
  '],',
  '',
].join('\n');

export const V2_CHECKSUM = 'fadc25eb195151c0496b03f58c744fa29398e950bf67598aadc83fd290f65fde';
export const V2 = Buffer.from(`${V2_BODY}"Manifest-Checksum": "${V2_CHECKSUM}"}\n`, 'utf8');

/** A manifest with `body` (the text before the checksum line) and a correct checksum line. */
export function withChecksum(body: string, sha256: (bytes: Buffer) => string): Buffer {
  const bytes = Buffer.from(body, 'utf8');
  return Buffer.concat([bytes, Buffer.from(`"Manifest-Checksum": "${sha256(bytes)}"}\n`)]);
}
