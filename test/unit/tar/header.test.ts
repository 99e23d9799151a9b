import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeTarHeader, encodeTarHeader, isZeroBlock, type TarHeader } from '../../../src/tar/header.ts';
import { TarError } from '../../../src/errors/index.ts';
import { handBuiltHeader, observedBackupLabelHeader } from './tar-vectors.ts';

const base: TarHeader = { name: 'backup_label', mode: 0o600, uid: 101, gid: 104, size: 209, mtime: 0o15301515016, type: 'file', linkname: '' };

function code(fn: () => unknown): string {
  try {
    fn();
  } catch (error) {
    assert.ok(error instanceof TarError, `expected TarError, got ${String(error)}`);
    return error.code;
  }
  assert.fail('expected a TarError');
}

test('encodes the observed PostgreSQL backup_label header byte for byte', () => {
  assert.equal(encodeTarHeader(base).toString('hex'), observedBackupLabelHeader().toString('hex'));
});

test('decodes the observed header', () => {
  const header = decodeTarHeader(observedBackupLabelHeader());
  assert.deepEqual({ ...header, nameBytes: undefined }, { ...base, nameBytes: undefined });
  assert.equal(header.nameBytes?.toString(), 'backup_label');
});

test('directories and symlinks get a trailing slash and size 0', () => {
  const dir = encodeTarHeader({ ...base, name: 'PG_15_202209061', type: 'directory', mode: 0o700, size: 0 });
  assert.equal(dir.toString('hex'), handBuiltHeader({ name: 'PG_15_202209061/', mode: '0000700 ', typeflag: '5', size: '00000000000 ' }).toString('hex'));
  const link = encodeTarHeader({ ...base, name: 'pg_tblspc/16384', type: 'symlink', mode: 0o777, size: 0, linkname: '/srv/pg/ts1' });
  assert.equal(link.toString('hex'), handBuiltHeader({ name: 'pg_tblspc/16384/', mode: '0000777 ', typeflag: '2', linkname: '/srv/pg/ts1' }).toString('hex'));
  const decoded = decodeTarHeader(link);
  assert.equal(decoded.name, 'pg_tblspc/16384');
  assert.equal(decoded.type, 'symlink');
  assert.equal(decoded.linkname, '/srv/pg/ts1');
});

test('99-byte names fit, 100-byte names are TAR_NAME_TOO_LONG (slash counts for directories)', () => {
  const name99 = 'a'.repeat(99);
  const block = encodeTarHeader({ ...base, name: name99 });
  assert.equal(block.subarray(0, 100).toString('latin1'), `${name99}\u0000`);
  assert.equal(decodeTarHeader(block).name, name99);
  assert.equal(code(() => encodeTarHeader({ ...base, name: 'a'.repeat(100) })), 'TAR_NAME_TOO_LONG');
  assert.equal(code(() => encodeTarHeader({ ...base, name: 'a'.repeat(99), type: 'directory', size: 0 })), 'TAR_NAME_TOO_LONG');
  assert.equal(code(() => encodeTarHeader({ ...base, name: 'l', type: 'symlink', linkname: `/${'x'.repeat(99)}` })), 'TAR_NAME_TOO_LONG');
  // A reader accepts a full 100-byte name field without NUL.
  const full = handBuiltHeader({ name: 'b'.repeat(100) });
  assert.equal(decodeTarHeader(full).name, 'b'.repeat(100));
});

test('largest octal size and first base-256 size', () => {
  const largest = 8 ** 11 - 1; // 8 GiB - 1
  const octal = encodeTarHeader({ ...base, size: largest });
  assert.equal(octal.toString('hex'), handBuiltHeader({ name: 'backup_label', size: '77777777777 ' }).toString('hex'));
  assert.equal(decodeTarHeader(octal).size, largest);
  const first = largest + 1;
  const raw = Buffer.from([0x80, 0, 0, 0, 0, 0, 0, 0x02, 0, 0, 0, 0]); // 2^33 big-endian after the marker
  const b256 = encodeTarHeader({ ...base, size: first });
  assert.equal(b256.toString('hex'), handBuiltHeader({ name: 'backup_label', size: raw }).toString('hex'));
  assert.equal(decodeTarHeader(b256).size, first);
  const huge = 2 ** 53 - 1;
  assert.equal(decodeTarHeader(encodeTarHeader({ ...base, size: huge })).size, huge);
});

test('reader accepts NUL-terminated octal, GNU and old magics, old NUL file flag, ustar prefix', () => {
  const nulTerminated = handBuiltHeader({ name: 'f', mode: '000644\u0000 ', size: '00000000012\u0000', magic: 'ustar  \u0000' });
  const header = decodeTarHeader(nulTerminated);
  assert.equal(header.mode, 0o644);
  assert.equal(header.size, 10);
  assert.equal(decodeTarHeader(handBuiltHeader({ name: 'f', magic: 'ustar00\u0000' })).name, 'f');
  assert.equal(decodeTarHeader(handBuiltHeader({ name: 'f', typeflag: '\u0000' })).type, 'file');
  assert.equal(decodeTarHeader(handBuiltHeader({ name: 'leaf', prefix: 'some/dir' })).name, 'some/dir/leaf');
  assert.equal(decodeTarHeader(handBuiltHeader({ name: 'f', mode: '    644 ' })).mode, 0o644);
});

test('reader rejects bad checksums, pax and other member types, non-ustar headers', () => {
  assert.equal(code(() => decodeTarHeader(handBuiltHeader({ name: 'f', checksum: '0000001 ' }))), 'TAR_CHECKSUM_MISMATCH');
  assert.equal(code(() => decodeTarHeader(handBuiltHeader({ name: 'f', checksum: 'garbage!' }))), 'TAR_CHECKSUM_MISMATCH');
  for (const flag of ['x', 'g', 'L', 'K', '1', '3', '4', '6', '7']) {
    assert.equal(code(() => decodeTarHeader(handBuiltHeader({ name: 'f', typeflag: flag }))), 'TAR_UNSUPPORTED_MEMBER', flag);
  }
  assert.equal(code(() => decodeTarHeader(handBuiltHeader({ name: 'f', magic: '\u0000'.repeat(8) }))), 'TAR_UNSUPPORTED_MEMBER');
  assert.equal(code(() => decodeTarHeader(handBuiltHeader({ name: 'd/', typeflag: '5', size: '00000000001 ' }))), 'TAR_UNSUPPORTED_MEMBER');
  assert.equal(code(() => decodeTarHeader(handBuiltHeader({ name: '../etc/passwd' }))), 'TAR_UNSAFE_PATH');
});

test('non-UTF-8 names keep their bytes', () => {
  const raw = Buffer.from([0x46, 0x4f, 0x4f, 0xe0, 0xe0, 0xe0, 0x42, 0x41, 0x52]);
  const block = encodeTarHeader({ ...base, name: 'ignored', nameBytes: raw, size: 0 });
  assert.deepEqual(block.subarray(0, raw.length), raw);
  const decoded = decodeTarHeader(block);
  assert.deepEqual(decoded.nameBytes, raw);
  assert.equal(decoded.name, raw.toString('latin1'));
  assert.equal(decodeTarHeader(encodeTarHeader({ ...base, name: 'dé' })).name, 'dé');
});

test('isZeroBlock', () => {
  assert.equal(isZeroBlock(Buffer.alloc(512)), true);
  const one = Buffer.alloc(512);
  one[511] = 1;
  assert.equal(isZeroBlock(one), false);
});
