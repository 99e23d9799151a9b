import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ServerErrorFields } from '../../../src/errors/index.ts';
import { decodeBackendMessage } from '../../../src/protocol/decode-backend.ts';
import {
  AUTHENTICATION_OK, COPY_DONE_BACKEND, encodeAuthenticationSASL, encodeBackendKeyData, encodeCommandComplete, encodeCopyData,
  encodeCopyDone, encodeCopyOutResponse, encodeDataRow, encodeErrorResponse, encodeNegotiateProtocolVersion, encodeNoticeResponse, encodeReadyForQuery,
  encodeRowDescription,
} from '../../../src/protocol/encode-backend.ts';
import { Framer } from '../../../src/protocol/framer.ts';
import type { BackendMessage, FieldDescription } from '../../../src/protocol/messages.ts';
import { allChunkings } from '../../helpers/chunkings.ts';
import {
  authenticationOk, backendKeyData, commandComplete, copyData, copyDone, copyOutResponse, cstr, dataRow, errorResponse, i32,
  message, readyForQuery, rowDescription, u8,
} from './wire-builder.ts';

const hex = (text: string): Buffer => Buffer.from(text.replace(/\s+/g, ''), 'hex');

const textField = (name: string, typeOid = 25): FieldDescription =>
  ({ name, tableOid: 0, columnNumber: 0, typeOid, typeSize: -1, typeModifier: -1, format: 0 });

test('AuthenticationOk is R, length 8, code 0', () => {
  assert.deepEqual(AUTHENTICATION_OK, hex('52 00000008 00000000'));
  assert.deepEqual(AUTHENTICATION_OK, authenticationOk());
});

test('AuthenticationSASL: code 10, mechanism names, closing empty name', () => {
  assert.deepEqual(encodeAuthenticationSASL(['SCRAM-SHA-256']), hex('52 00000017 0000000a 534352414d2d5348412d323536 00 00'));
  assert.deepEqual(encodeAuthenticationSASL(['SCRAM-SHA-256-PLUS', 'SCRAM-SHA-256']),
    message('R', i32(10), cstr('SCRAM-SHA-256-PLUS'), cstr('SCRAM-SHA-256'), u8(0)));
  assert.deepEqual(encodeAuthenticationSASL([]), hex('52 00000009 0000000a 00'));
});

test('NegotiateProtocolVersion: the whole version Int32, the count, then each unrecognized option name', () => {
  // what PostgreSQL 15 sent for a 3.9 StartupMessage with _pq_.frob (observed)
  assert.deepEqual(encodeNegotiateProtocolVersion(0x0003_0000, ['_pq_.frob']), hex('76 00000016 00030000 00000001 5f70715f2e66726f6200'));
  assert.deepEqual(encodeNegotiateProtocolVersion(0x0003_0000, []), hex('76 0000000c 00030000 00000000'));
  assert.deepEqual(encodeNegotiateProtocolVersion(0x0003_0000, ['_pq_.a', '_pq_.b']), message('v', i32(0x0003_0000), i32(2), cstr('_pq_.a'), cstr('_pq_.b')));
});

test('BackendKeyData: process id then the secret key as given (4 bytes in 3.0, longer in 3.2)', () => {
  assert.deepEqual(encodeBackendKeyData(4242, hex('deadbeef')), hex('4b 0000000c 00001092 deadbeef'));
  assert.deepEqual(encodeBackendKeyData(4242, hex('fffffffe')), backendKeyData(4242, -2));
  const longKey = Buffer.alloc(32, 0xa5);
  assert.deepEqual(encodeBackendKeyData(7, longKey), message('K', i32(7), longKey));
  assert.equal(encodeBackendKeyData(7, longKey).readInt32BE(1), 40);
});

test('ReadyForQuery carries the transaction status byte', () => {
  assert.deepEqual(encodeReadyForQuery('I'), hex('5a 00000005 49'));
  assert.deepEqual(encodeReadyForQuery('T'), hex('5a 00000005 54'));
  assert.deepEqual(encodeReadyForQuery('E'), readyForQuery('E'));
});

test('RowDescription: count, then name, table OID, column, type OID, size, modifier, format per field', () => {
  assert.deepEqual(encodeRowDescription([]), hex('54 00000006 0000'));
  assert.deepEqual(
    encodeRowDescription([{ name: 'x', tableOid: 16384, columnNumber: 2, typeOid: 23, typeSize: 4, typeModifier: -1, format: 0 }]),
    hex('54 0000001a 0001 7800 00004000 0002 00000017 0004 ffffffff 0000'));
  assert.deepEqual(encodeRowDescription([textField('systemid'), textField('timeline', 23)]), rowDescription(['systemid', ['timeline', 23]]));
});

test('RowDescription: OIDs are unsigned, all 32 bits of them', () => {
  const field = { name: 'o', tableOid: 0xffffffff, columnNumber: 1, typeOid: 3_000_000_000, typeSize: -1, typeModifier: -1, format: 1 };
  assert.deepEqual(encodeRowDescription([field]), hex('54 0000001a 0001 6f00 ffffffff 0001 b2d05e00 ffff ffffffff 0001'));
});

test('DataRow: count, then length and text per value, -1 for NULL', () => {
  assert.deepEqual(encodeDataRow(['ab', null]), hex('44 00000010 0002 00000002 6162 ffffffff'));
  assert.deepEqual(encodeDataRow([]), hex('44 00000006 0000'));
  assert.deepEqual(encodeDataRow(['0/2000028', null, '', 'café']), dataRow(['0/2000028', null, '', 'café']));
});

test('CommandComplete carries the tag as a C string', () => {
  assert.deepEqual(encodeCommandComplete('SELECT 1'), hex('43 0000000d 53454c4543542031 00'));
  assert.deepEqual(encodeCommandComplete('BASE_BACKUP'), commandComplete('BASE_BACKUP'));
});

test('ErrorResponse: S and V with the same severity, code, message, terminator', () => {
  assert.deepEqual(encodeErrorResponse({ severity: 'FATAL', code: '28000', message: 'no' }),
    hex('45 0000001e 53 464154414c00 56 464154414c00 43 323830303000 4d 6e6f00 00'));
});

/** Given in scrambled order: the encoder must write the order of error-fields.ts, not the object's. */
const ALL_FIELDS: ServerErrorFields = {
  routine: 'r', line: '42', file: 'f.c', constraint: 'n', dataType: 'd', column: 'c', table: 't', schema: 's', where: 'w',
  position: '7', hint: 'h', detail: 'dd', message: 'm', code: '42P01', severity: 'ERROR',
};

test('ErrorResponse and NoticeResponse: every field, in the field table order after S and V', () => {
  const letters = {
    S: 'ERROR', V: 'ERROR', C: '42P01', M: 'm', D: 'dd', H: 'h', P: '7', W: 'w', s: 's', t: 't', c: 'c', d: 'd', n: 'n',
    F: 'f.c', L: '42', R: 'r',
  };
  assert.deepEqual(encodeErrorResponse(ALL_FIELDS), errorResponse(letters));
  assert.deepEqual(encodeNoticeResponse(ALL_FIELDS), errorResponse(letters, 'N'));
  assert.deepEqual(encodeNoticeResponse({ severity: 'WARNING', code: '01000', message: 'w', hint: 'h' }),
    errorResponse({ S: 'WARNING', V: 'WARNING', C: '01000', M: 'w', H: 'h' }, 'N'));
});

test('ErrorResponse: NUL bytes inside values are stripped, the field kept', () => {
  assert.deepEqual(encodeErrorResponse({ severity: 'ERR\0OR', code: '42601', message: 'bad \0"x"\0', detail: '\0' }),
    errorResponse({ S: 'ERROR', V: 'ERROR', C: '42601', M: 'bad "x"', D: '' }));
});

test('CopyOutResponse: overall text format, no columns', () => {
  assert.deepEqual(encodeCopyOutResponse(), hex('48 00000007 00 0000'));
  assert.deepEqual(encodeCopyOutResponse(), copyOutResponse());
});

test('CopyData and CopyDone', () => {
  assert.deepEqual(encodeCopyData(hex('010203')), hex('64 00000007 010203'));
  assert.deepEqual(encodeCopyData(new Uint8Array(0)), hex('64 00000004'));
  assert.deepEqual(encodeCopyData(Buffer.from('nbase.tar\0\0')), copyData(Buffer.from('nbase.tar\0\0')));
  assert.deepEqual(encodeCopyDone(), hex('63 00000004'));
  assert.deepEqual(COPY_DONE_BACKEND, copyDone());
  assert.equal(encodeCopyDone(), COPY_DONE_BACKEND);
});

test('each encoder call returns a buffer of its own', () => {
  const first = encodeCommandComplete('SELECT 1');
  const second = encodeCommandComplete('SELECT 1');
  first.fill(0);
  assert.deepEqual(second, hex('43 0000000d 53454c4543542031 00'));
  const payload = hex('0102');
  const frame = encodeCopyData(payload);
  payload.fill(0);
  assert.deepEqual(frame, hex('64 00000006 0102'));
});

test('round trip: every encoded message decodes back through decode-backend at every split point', () => {
  const wideField: FieldDescription = { name: 'w', tableOid: 0x80000000, columnNumber: 3, typeOid: 0xfffffffe, typeSize: 8, typeModifier: 5, format: 1 };
  const stream = Buffer.concat([
    AUTHENTICATION_OK, encodeAuthenticationSASL(['SCRAM-SHA-256']), encodeBackendKeyData(4242, Buffer.alloc(32, 7)),
    encodeReadyForQuery('I'), encodeRowDescription([textField('recptr'), wideField]), encodeDataRow(['0/2000028', null]),
    encodeCommandComplete('SELECT 1'), encodeErrorResponse(ALL_FIELDS),
    encodeNoticeResponse({ severity: 'NOTICE', code: '00000', message: 'n' }), encodeCopyOutResponse(), encodeCopyData(hex('6d')),
    encodeCopyDone(), encodeReadyForQuery('E'),
  ]);
  const expected: BackendMessage[] = [
    { type: 'AuthenticationOk' }, { type: 'AuthenticationSASL', mechanisms: ['SCRAM-SHA-256'] },
    { type: 'BackendKeyData', processId: 4242, secretKey: Buffer.alloc(32, 7) }, { type: 'ReadyForQuery', status: 'I' },
    { type: 'RowDescription', fields: [textField('recptr'), wideField] },
    { type: 'DataRow', values: [Buffer.from('0/2000028'), null] }, { type: 'CommandComplete', tag: 'SELECT 1' },
    { type: 'ErrorResponse', fields: ALL_FIELDS },
    { type: 'NoticeResponse', fields: { severity: 'NOTICE', code: '00000', message: 'n' } },
    { type: 'CopyOutResponse', format: 0, columnFormats: [] }, { type: 'CopyData', data: hex('6d') }, { type: 'CopyDone' },
    { type: 'ReadyForQuery', status: 'E' },
  ];
  for (const chunks of allChunkings(stream)) {
    const framer = new Framer();
    const decoded: BackendMessage[] = [];
    for (const chunk of chunks) framer.push(chunk, (frame) => decoded.push(decodeBackendMessage(frame)));
    assert.deepEqual(decoded, expected);
    assert.ok(framer.isIdle);
  }
});
