import assert from 'node:assert/strict';
import { test } from 'node:test';
import { cleartextPasswordResponse } from '../../../src/auth/cleartext.ts';
import { md5PasswordResponse } from '../../../src/auth/md5.ts';

// expected values computed independently: md5(hex(md5(password || user)) || salt)
test('md5(md5(password + user) + salt), hex, "md5" prefix', () => {
  assert.equal(md5PasswordResponse('user', 'pencil', Buffer.from([1, 2, 3, 4])), 'md54376eb6913b38f9aaff38dc7cf19ca76');
  assert.equal(md5PasswordResponse('röle', 'pässwörd', Buffer.from([0xde, 0xad, 0xbe, 0xef])), 'md57f97961c62ea0c6cc965e35a1a438de0');
});

test('cleartext answers with the password itself', () => {
  assert.equal(cleartextPasswordResponse('secret'), 'secret');
});
