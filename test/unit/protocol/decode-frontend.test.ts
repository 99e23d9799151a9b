import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  MAX_FRONTEND_FRAME_BYTES, decodeFrontendMessage, decodeSASLInitialResponse, type FrontendMessage,
} from '../../../src/protocol/decode-frontend.ts';
import { Framer } from '../../../src/protocol/framer.ts';
import { allChunkings } from '../../helpers/chunkings.ts';
import { cstr, i32, message, u8 } from './wire-builder.ts';

const hex = (text: string): Buffer => Buffer.from(text.replace(/\s+/g, ''), 'hex');
const MALFORMED = { code: 'MALFORMED_MESSAGE' };

/** Frames the bytes in every chunking and decodes each frame; every chunking must give the same messages. */
function decodeAll(bytes: Buffer): FrontendMessage[] {
  let result: FrontendMessage[] | null = null;
  for (const chunks of allChunkings(bytes)) {
    const framer = new Framer(MAX_FRONTEND_FRAME_BYTES);
    const decoded: FrontendMessage[] = [];
    for (const chunk of chunks) framer.push(chunk, (frame) => decoded.push(decodeFrontendMessage(frame)));
    if (result === null) result = decoded;
    else assert.deepEqual(decoded, result);
  }
  return result ?? [];
}

/** The one frame of `bytes`, decoded. */
function decodeOne(bytes: Buffer): FrontendMessage {
  const frames: FrontendMessage[] = [];
  new Framer().push(bytes, (frame) => frames.push(decodeFrontendMessage(frame)));
  assert.equal(frames.length, 1);
  return frames[0] as FrontendMessage;
}

const VECTORS: Array<[string, Buffer, FrontendMessage]> = [
  ['Query (literal)', hex('51 00000014 4944454e544946595f53595354454d 00'), { type: 'Query', sql: 'IDENTIFY_SYSTEM' }],
  ['Query, UTF-8', message('Q', cstr("BASE_BACKUP (LABEL 'café')")), { type: 'Query', sql: "BASE_BACKUP (LABEL 'café')" }],
  ['Query, empty', message('Q', u8(0)), { type: 'Query', sql: '' }],
  ['CopyData (literal)', hex('64 00000007 720102'), { type: 'CopyData', data: hex('720102') }],
  ['CopyData, empty', message('d'), { type: 'CopyData', data: Buffer.alloc(0) }],
  ['CopyDone', hex('63 00000004'), { type: 'CopyDone' }],
  ['CopyFail', hex('66 00000007 6e6f00'), { type: 'CopyFail', message: 'no' }],
  ['CopyFail, longer', message('f', cstr('COPY terminated by client')), { type: 'CopyFail', message: 'COPY terminated by client' }],
  ['Terminate', hex('58 00000004'), { type: 'Terminate' }],
  ['PasswordMessage (kept raw)', hex('70 0000000b 6d6435616263 00'), { type: 'PasswordMessage', body: hex('6d6435616263 00') }],
  ['PasswordMessage, SASLResponse body', message('p', Buffer.from('c=biws')), { type: 'PasswordMessage', body: Buffer.from('c=biws') }],
  ['Sync is Other', hex('53 00000004'), { type: 'Other', typeByte: 0x53 }],
  ['Parse is Other', message('P', cstr(''), cstr('SELECT 1'), Buffer.from([0, 0])), { type: 'Other', typeByte: 0x50 }],
  ['Flush is Other', message('H'), { type: 'Other', typeByte: 0x48 }],
];

for (const [name, bytes, expected] of VECTORS) {
  test(`decodes ${name}`, () => {
    assert.deepEqual(decodeAll(bytes), [expected]);
  });
}

test('a stream of frontend messages decodes the same at every split point', () => {
  const stream = Buffer.concat(VECTORS.map(([, bytes]) => bytes));
  assert.deepEqual(decodeAll(stream), VECTORS.map(([, , expected]) => expected));
});

test('CopyData and PasswordMessage are views of the frame body', () => {
  const bytes = hex('64 00000007 720102');
  const decoded = decodeOne(bytes);
  assert.ok(decoded.type === 'CopyData');
  assert.equal(decoded.data.buffer, bytes.buffer);
});

test('a C-string body without its NUL is MALFORMED_MESSAGE', () => {
  assert.throws(() => decodeOne(message('Q', Buffer.from('SELECT 1'))), MALFORMED);
  assert.throws(() => decodeOne(message('Q')), MALFORMED);
  assert.throws(() => decodeOne(message('f', Buffer.from('no'))), MALFORMED);
});

test('bytes after the C string are MALFORMED_MESSAGE', () => {
  assert.throws(() => decodeOne(message('Q', cstr('SELECT 1'), u8(0x41))), MALFORMED);
  assert.throws(() => decodeOne(message('Q', cstr('SELECT 1'), u8(0))), MALFORMED);
  assert.throws(() => decodeOne(message('f', cstr('no'), cstr('more'))), MALFORMED);
});

test('CopyDone and Terminate must be empty', () => {
  assert.throws(() => decodeOne(hex('63 00000005 00')), MALFORMED);
  assert.throws(() => decodeOne(message('X', cstr('bye'))), MALFORMED);
});

test('SASLInitialResponse: mechanism, Int32 length, data', () => {
  assert.deepEqual(decodeSASLInitialResponse(hex('534352414d2d5348412d323536 00 00000003 6e2c2c')),
    { mechanism: 'SCRAM-SHA-256', data: Buffer.from('n,,') });
  assert.deepEqual(decodeSASLInitialResponse(Buffer.concat([cstr('SCRAM-SHA-256'), i32(0)])),
    { mechanism: 'SCRAM-SHA-256', data: Buffer.alloc(0) });
});

test('SASLInitialResponse: length -1 means no data', () => {
  assert.deepEqual(decodeSASLInitialResponse(hex('5800 ffffffff')), { mechanism: 'X', data: null });
});

test('SASLInitialResponse through a PasswordMessage frame', () => {
  const frame = decodeOne(message('p', cstr('SCRAM-SHA-256'), i32(8), Buffer.from('n,,n=,r=')));
  assert.ok(frame.type === 'PasswordMessage');
  assert.deepEqual(decodeSASLInitialResponse(frame.body), { mechanism: 'SCRAM-SHA-256', data: Buffer.from('n,,n=,r=') });
});

test('SASLInitialResponse: truncated or padded bodies are MALFORMED_MESSAGE', () => {
  const bad: Array<[string, Buffer]> = [
    ['empty', Buffer.alloc(0)],
    ['mechanism without NUL', Buffer.from('SCRAM-SHA-256')],
    ['no length', cstr('SCRAM-SHA-256')],
    ['short length', Buffer.concat([cstr('SCRAM-SHA-256'), hex('0000')])],
    ['data shorter than its length', Buffer.concat([cstr('SCRAM-SHA-256'), i32(10), Buffer.from('n,,')])],
    ['trailing bytes after the data', Buffer.concat([cstr('SCRAM-SHA-256'), i32(3), Buffer.from('n,,x')])],
    ['trailing bytes after -1', Buffer.concat([cstr('X'), i32(-1), u8(0)])],
    ['negative length other than -1', Buffer.concat([cstr('X'), i32(-2)])],
  ];
  for (const [name, body] of bad) assert.throws(() => decodeSASLInitialResponse(body), MALFORMED, name);
});
