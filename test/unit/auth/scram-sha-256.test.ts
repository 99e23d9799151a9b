import assert from 'node:assert/strict';
import { test } from 'node:test';
import { saslPrep } from '../../../src/auth/saslprep.ts';
import { scramClientFinal, scramClientFirst, scramVerifyServerFinal } from '../../../src/auth/scram-sha-256.ts';

// RFC 7677 section 3: user "user", password "pencil"
const CLIENT_NONCE = 'rOprNGfwEbeRWgbNEkqO';
const SERVER_FIRST = 'r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096';
const CLIENT_FINAL = 'c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=';
const SERVER_FINAL = 'v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=';

test('RFC 7677 example exchange', () => {
  const first = scramClientFirst({ nonce: CLIENT_NONCE, username: 'user' });
  assert.equal(first.message.toString(), 'n,,n=user,r=rOprNGfwEbeRWgbNEkqO');
  const final = scramClientFinal(first, Buffer.from(SERVER_FIRST), 'pencil');
  assert.equal(final.message.toString(), CLIENT_FINAL);
  scramVerifyServerFinal(final, Buffer.from(SERVER_FINAL));
});

test('a wrong server signature is AUTH_FAILED', () => {
  const first = scramClientFirst({ nonce: CLIENT_NONCE, username: 'user' });
  const final = scramClientFinal(first, Buffer.from(SERVER_FIRST), 'pencil');
  assert.throws(() => scramVerifyServerFinal(final, Buffer.from('v=AAAATRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=')), { code: 'AUTH_FAILED' });
  assert.throws(() => scramVerifyServerFinal(final, Buffer.from('v=AAAA')), { code: 'AUTH_FAILED' });
  assert.throws(() => scramVerifyServerFinal(final, Buffer.from('e=invalid-proof')), { code: 'AUTH_FAILED' });
  assert.throws(() => scramVerifyServerFinal(final, Buffer.from('x=1')), { code: 'MALFORMED_MESSAGE' });
});

test('like libpq, the default client-first has an empty user name and a fresh 24-character nonce', () => {
  const first = scramClientFirst();
  assert.match(first.message.toString(), /^n,,n=,r=[A-Za-z0-9+/]{24}$/);
  assert.notEqual(scramClientFirst().clientNonce, first.clientNonce);
});

test('the server nonce must extend ours; malformed server-first is refused', () => {
  const first = scramClientFirst({ nonce: CLIENT_NONCE });
  assert.throws(() => scramClientFinal(first, Buffer.from('r=other,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096'), 'x'), { code: 'AUTH_FAILED' });
  assert.throws(() => scramClientFinal(first, Buffer.from(`r=${CLIENT_NONCE},s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096`), 'x'), { code: 'AUTH_FAILED' });
  for (const bad of [`m=ext,${SERVER_FIRST}`, 'r=rOprNGfwEbeRWgbNEkqOxx,s=W22Z,i=0', 'r=rOprNGfwEbeRWgbNEkqOxx,i=4096', '']) {
    assert.throws(() => scramClientFinal(first, Buffer.from(bad), 'x'), { code: 'MALFORMED_MESSAGE' }, bad);
  }
});

test('user names with "," and "=" are escaped', () => {
  assert.equal(scramClientFirst({ nonce: 'n', username: 'a,b=c' }).clientFirstBare, 'n=a=2Cb=3Dc,r=n');
});

test('SASLprep: ASCII unchanged, spaces mapped, invisibles dropped, NFKC, prohibited falls back to raw', () => {
  assert.equal(saslPrep('pencil'), 'pencil');
  assert.equal(saslPrep('a\u00a0b'), 'a b');
  assert.equal(saslPrep('a\u00adb'), 'ab');
  assert.equal(saslPrep('\u2168'), 'IX'); // ROMAN NUMERAL NINE, NFKC
  assert.equal(saslPrep('a\u0007b\u00e9'), 'a\u0007b\u00e9', 'control character: raw password');
});
