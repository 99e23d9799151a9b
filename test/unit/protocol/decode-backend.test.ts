import assert from 'node:assert/strict';
import { test } from 'node:test';
import { decodeBackendMessage } from '../../../src/protocol/decode-backend.ts';
import { Framer } from '../../../src/protocol/framer.ts';
import type { BackendMessage } from '../../../src/protocol/messages.ts';
import { allChunkings } from '../../helpers/chunkings.ts';
import {
  backendKeyData, commandComplete, copyBothResponse, copyData, copyDone, copyOutResponse, cstr, dataRow, errorResponse, i16, i32,
  message, parameterStatus, readyForQuery, u8,
} from './wire-builder.ts';

/** Decodes a byte vector fed in every chunking; every chunking must give the same messages. */
function decodeAll(bytes: Buffer): BackendMessage[] {
  let expected: unknown = null;
  let result: BackendMessage[] = [];
  for (const chunks of allChunkings(bytes)) {
    const framer = new Framer();
    const decoded: BackendMessage[] = [];
    for (const chunk of chunks) framer.push(chunk, (frame) => decoded.push(decodeBackendMessage(frame)));
    const comparable = JSON.parse(JSON.stringify(decoded));
    if (expected === null) expected = comparable;
    else assert.deepEqual(comparable, expected);
    result = decoded;
  }
  return result;
}

const VECTORS: Array<[string, Buffer, BackendMessage]> = [
  ['AuthenticationOk', message('R', i32(0)), { type: 'AuthenticationOk' }],
  ['AuthenticationCleartextPassword', message('R', i32(3)), { type: 'AuthenticationCleartextPassword' }],
  ['AuthenticationMD5Password', message('R', i32(5), Buffer.from([1, 2, 3, 4])), { type: 'AuthenticationMD5Password', salt: Buffer.from([1, 2, 3, 4]) }],
  ['AuthenticationSASL', message('R', i32(10), cstr('SCRAM-SHA-256-PLUS'), cstr('SCRAM-SHA-256'), u8(0)),
    { type: 'AuthenticationSASL', mechanisms: ['SCRAM-SHA-256-PLUS', 'SCRAM-SHA-256'] }],
  ['AuthenticationSASLContinue', message('R', i32(11), Buffer.from('r=abc,s=c2FsdA==,i=4096')),
    { type: 'AuthenticationSASLContinue', data: Buffer.from('r=abc,s=c2FsdA==,i=4096') }],
  ['AuthenticationSASLFinal', message('R', i32(12), Buffer.from('v=xyz')), { type: 'AuthenticationSASLFinal', data: Buffer.from('v=xyz') }],
  ['AuthenticationGSS', message('R', i32(7)), { type: 'AuthenticationUnsupported', code: 7 }],
  ['ParameterStatus', parameterStatus('server_version', '15.18 (Debian 15.18-0+deb12u1)'),
    { type: 'ParameterStatus', name: 'server_version', value: '15.18 (Debian 15.18-0+deb12u1)' }],
  ['BackendKeyData', backendKeyData(4242, -2), { type: 'BackendKeyData', processId: 4242, secretKey: Buffer.from([0xff, 0xff, 0xff, 0xfe]) }],
  ['ReadyForQuery', readyForQuery('T'), { type: 'ReadyForQuery', status: 'T' }],
  ['RowDescription', message('T', i16(2),
    cstr('recptr'), i32(0), i16(0), i32(25), i16(-1), i32(0), i16(0),
    cstr('tli'), i32(3000000001 | 0), i16(2), i32(20), i16(8), i32(-1), i16(0)),
  { type: 'RowDescription', fields: [
    { name: 'recptr', tableOid: 0, columnNumber: 0, typeOid: 25, typeSize: -1, typeModifier: 0, format: 0 },
    { name: 'tli', tableOid: 3000000001, columnNumber: 2, typeOid: 20, typeSize: 8, typeModifier: -1, format: 0 },
  ] }],
  ['DataRow', dataRow(['0/2000028', null, '']), { type: 'DataRow', values: [Buffer.from('0/2000028'), null, Buffer.alloc(0)] }],
  ['CommandComplete', commandComplete('BASE_BACKUP'), { type: 'CommandComplete', tag: 'BASE_BACKUP' }],
  ['ErrorResponse', errorResponse({ S: 'FEHLER', V: 'ERROR', C: 'XX001', M: 'checksum verification failure during base backup', D: 'detail', H: 'hint', F: 'basebackup.c', L: '42', R: 'perform_base_backup', Z: 'future field' }),
    { type: 'ErrorResponse', fields: { severity: 'ERROR', code: 'XX001', message: 'checksum verification failure during base backup', detail: 'detail', hint: 'hint', file: 'basebackup.c', line: '42', routine: 'perform_base_backup' } }],
  ['NoticeResponse', errorResponse({ S: 'WARNING', C: '01000', M: 'checksum verification failed in file "x"', s: 'public', t: 'tab', c: 'col', d: 'int4', n: 'pk', P: '7', W: 'here' }, 'N'),
    { type: 'NoticeResponse', fields: { severity: 'WARNING', code: '01000', message: 'checksum verification failed in file "x"', schema: 'public', table: 'tab', column: 'col', dataType: 'int4', constraint: 'pk', position: '7', where: 'here' } }],
  ['CopyOutResponse', copyOutResponse(), { type: 'CopyOutResponse', format: 0, columnFormats: [] }],
  ['CopyInResponse', message('G', u8(1), i16(2), i16(1), i16(1)), { type: 'CopyInResponse', format: 1, columnFormats: [1, 1] }],
  ['CopyBothResponse', copyBothResponse(), { type: 'CopyBothResponse', format: 0, columnFormats: [] }],
  ['CopyData', copyData(Buffer.from([0x6e, 0x62, 0])), { type: 'CopyData', data: Buffer.from([0x6e, 0x62, 0]) }],
  ['CopyDone', copyDone(), { type: 'CopyDone' }],
  ['EmptyQueryResponse', message('I'), { type: 'EmptyQueryResponse' }],
  ['NegotiateProtocolVersion', message('v', i32(0), i32(1), cstr('_pq_.foo')), { type: 'NegotiateProtocolVersion', newestMinor: 0, unrecognized: ['_pq_.foo'] }],
];

for (const [name, bytes, expected] of VECTORS) {
  test(`decodes ${name} at every split point`, () => {
    assert.deepEqual(decodeAll(bytes), [expected]);
  });
}

test('decodes a whole startup sequence in one stream at every split point', () => {
  const sequence = Buffer.concat(VECTORS.map(([, bytes]) => bytes));
  assert.deepEqual(decodeAll(sequence), VECTORS.map(([, , expected]) => expected));
});

test('the CopyData payload is a view of the frame, not a copy', () => {
  const bytes = copyData(Buffer.from('abc'));
  const decoded = decodeBackendMessage({ type: bytes[0] as number, body: bytes.subarray(5) });
  assert.equal(decoded.type, 'CopyData');
  if (decoded.type === 'CopyData') assert.equal(decoded.data.buffer, bytes.buffer);
});

const MALFORMED: Array<[string, Buffer, string]> = [
  ['unknown type byte', message('A', i32(1), cstr('chan'), cstr('')), 'UNEXPECTED_MESSAGE'],
  ['short Authentication', message('R', Buffer.from([0, 0])), 'MALFORMED_MESSAGE'],
  ['MD5 without salt', message('R', i32(5), Buffer.from([1])), 'MALFORMED_MESSAGE'],
  ['SASL list unterminated', message('R', i32(10), cstr('SCRAM-SHA-256')), 'MALFORMED_MESSAGE'],
  ['ParameterStatus without NUL', message('S', Buffer.from('abc')), 'MALFORMED_MESSAGE'],
  ['ReadyForQuery with bad status', message('Z', Buffer.from('X')), 'MALFORMED_MESSAGE'],
  ['ReadyForQuery with trailing byte', message('Z', Buffer.from('II')), 'MALFORMED_MESSAGE'],
  ['DataRow value past the end', message('D', i16(1), i32(10), Buffer.from('abc')), 'MALFORMED_MESSAGE'],
  ['DataRow with negative length', message('D', i16(1), i32(-5)), 'MALFORMED_MESSAGE'],
  ['RowDescription short', message('T', i16(1), cstr('a'), i32(0)), 'MALFORMED_MESSAGE'],
  ['ErrorResponse without terminator', message('E', Buffer.from('Mboom\0')), 'MALFORMED_MESSAGE'],
  ['CopyDone with a body', message('c', Buffer.from('x')), 'MALFORMED_MESSAGE'],
  ['BackendKeyData short key', message('K', i32(1), Buffer.from([1, 2])), 'MALFORMED_MESSAGE'],
];

for (const [name, bytes, code] of MALFORMED) {
  test(`rejects ${name} with ${code}`, () => {
    assert.throws(() => decodeBackendMessage({ type: bytes[0] as number, body: bytes.subarray(5) }), { code });
  });
}
