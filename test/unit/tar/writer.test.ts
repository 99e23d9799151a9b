import { test } from 'node:test';
import assert from 'node:assert/strict';
import { encodeTarMember, tarEndOfArchive, tarPadding, tarPaddingBytes } from '../../../src/tar/writer.ts';
import { handBuiltHeader } from './tar-vectors.ts';

test('padding and end of archive', () => {
  assert.equal(tarPaddingBytes(0), 0);
  assert.equal(tarPaddingBytes(1), 511);
  assert.equal(tarPaddingBytes(512), 0);
  assert.equal(tarPaddingBytes(8 ** 11 + 5), 507);
  assert.deepEqual(tarPadding(510), Buffer.alloc(2));
  assert.deepEqual(tarEndOfArchive(), Buffer.alloc(1024));
  assert.notEqual(tarEndOfArchive(), tarEndOfArchive());
});

test('an in-memory member is header + content + padding', () => {
  const member = encodeTarMember(
    { name: 'standby.signal', mode: 0o600, uid: 2048, gid: 1024, size: 999, mtime: 0o14000000000, type: 'file', linkname: '' },
    Buffer.from('x'),
  );
  const expected = Buffer.concat([
    handBuiltHeader({ name: 'standby.signal', uid: '0004000 ', gid: '0002000 ', size: '00000000001 ', mtime: '14000000000 ' }),
    Buffer.from('x'), Buffer.alloc(511),
  ]);
  assert.equal(member.toString('hex'), expected.toString('hex'));
});
