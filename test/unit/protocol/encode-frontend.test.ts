import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  COPY_DONE, SSL_REQUEST, TERMINATE, encodeCancelRequest, encodeCopyData, encodeCopyFail, encodePasswordMessage, encodeQuery,
  encodeSASLInitialResponse, encodeSASLResponse, encodeStartupMessage,
} from '../../../src/protocol/encode-frontend.ts';

const hex = (text: string): Buffer => Buffer.from(text.replace(/\s+/g, ''), 'hex');

test('StartupMessage: length, protocol 3.0, name/value pairs, final NUL; undefined values left out', () => {
  const encoded = encodeStartupMessage({ user: 'u', database: 'replication', replication: 'true', options: undefined });
  const expected = hex(`
    00000036 00030000
    7573657200 7500
    646174616261736500 7265706c69636174696f6e00
    7265706c69636174696f6e00 7472756500
    00`);
  assert.deepEqual(encoded, expected);
});

test('SSLRequest is the magic 80877103', () => {
  assert.deepEqual(SSL_REQUEST, hex('00000008 04d2162f'));
});

test('CancelRequest: length 16, the magic 80877102, process id, secret key', () => {
  assert.deepEqual(encodeCancelRequest(0x1234, hex('deadbeef')), hex('00000010 04d2162e 00001234 deadbeef'));
});

test('StartupMessage carries extra run-time parameters as plain name/value pairs', () => {
  const encoded = encodeStartupMessage({ user: 'u', client_connection_check_interval: '1000' });
  assert.deepEqual(encoded.subarray(8), Buffer.from('user\0u\0client_connection_check_interval\x001000\0\0', 'latin1'));
});

test('constant frames: CopyDone and Terminate', () => {
  assert.deepEqual(COPY_DONE, hex('63 00000004'));
  assert.deepEqual(TERMINATE, hex('58 00000004'));
});

test('PasswordMessage carries a NUL-terminated string', () => {
  assert.deepEqual(encodePasswordMessage('md5abc'), hex('70 0000000b 6d6435616263 00'));
});

test('SASLInitialResponse: mechanism, Int32 length and data; -1 without data', () => {
  assert.deepEqual(encodeSASLInitialResponse('SCRAM-SHA-256', Buffer.from('n,,')),
    hex('70 00000019 53435241 4d2d5348412d323536 00 00000003 6e2c2c'));
  assert.deepEqual(encodeSASLInitialResponse('X', null), hex('70 0000000a 5800 ffffffff'));
});

test('SASLResponse is the raw data', () => {
  assert.deepEqual(encodeSASLResponse(Buffer.from('c=biws')), hex('70 0000000a 633d62697773'));
});

test('Query, CopyData and CopyFail', () => {
  assert.deepEqual(encodeQuery('IDENTIFY_SYSTEM'), Buffer.concat([hex('51 00000014'), Buffer.from('IDENTIFY_SYSTEM\0')]));
  assert.deepEqual(encodeCopyData(Buffer.from([0x72, 1, 2])), hex('64 00000007 720102'));
  assert.deepEqual(encodeCopyFail('no'), hex('66 00000007 6e6f00'));
});

test('a string with an embedded NUL cannot be encoded', () => {
  assert.throws(() => encodeQuery('SELECT 1\0; DROP'), RangeError);
});
