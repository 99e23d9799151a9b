import assert from 'node:assert/strict';
import { test } from 'node:test';
import { StartupPacketReader, type StartupPacket } from '../../../src/protocol/startup-packet.ts';
import { allChunkings, everySplit, oneByteAtATime, randomSplits } from '../../helpers/chunkings.ts';
import { cstr, i32, message, u8 } from './wire-builder.ts';

const hex = (text: string): Buffer => Buffer.from(text.replace(/\s+/g, ''), 'hex');

/** An untyped packet: Int32 length (self-inclusive), Int32 code or version, body. */
function packet(code: number, ...parts: Buffer[]): Buffer {
  const body = Buffer.concat(parts);
  return Buffer.concat([i32(body.length + 8), i32(code), body]);
}

const startupBody = (parameters: Record<string, string>): Buffer[] =>
  [...Object.entries(parameters).flatMap(([name, value]) => [cstr(name), cstr(value)]), u8(0)];

const PROTOCOL_3_0 = 0x0003_0000;
const PROTOCOL_3_2 = 0x0003_0002;

/** One reader per packet: pushes chunks until it answers; returns the packet and every byte after it. */
function readPacket(chunks: readonly Buffer[]): { packet: StartupPacket; rest: Buffer } {
  const reader = new StartupPacketReader();
  for (let index = 0; index < chunks.length; index++) {
    const result = reader.push(chunks[index] as Buffer);
    if (result !== null) return { packet: result.packet, rest: Buffer.concat([result.rest, ...chunks.slice(index + 1)]) };
  }
  assert.fail('the packet never completed');
}

function readEveryWay(bytes: Buffer): Array<{ packet: StartupPacket; rest: Buffer }> {
  return [[bytes], ...everySplit(bytes), ...oneByteAtATime(bytes), ...randomSplits(bytes, 7, 16)].map(readPacket);
}

function assertReads(bytes: Buffer, expected: StartupPacket, rest: Buffer = Buffer.alloc(0)): void {
  for (const result of readEveryWay(Buffer.concat([bytes, rest]))) assert.deepEqual(result, { packet: expected, rest });
}

test('StartupMessage 3.0 (literal bytes)', () => {
  assertReads(hex('00000010 00030000 7573657200 7500 00'),
    { type: 'StartupMessage', protocolVersion: 196_608, parameters: new Map([['user', 'u']]) });
});

test('StartupMessage: parameters in order, empty values kept', () => {
  const parameters = { user: 'alice', database: 'replication', replication: 'true', application_name: '', options: '-c x=é' };
  assertReads(packet(PROTOCOL_3_0, ...startupBody(parameters)),
    { type: 'StartupMessage', protocolVersion: PROTOCOL_3_0, parameters: new Map(Object.entries(parameters)) });
});

test('StartupMessage 3.2 keeps its protocol number', () => {
  assertReads(packet(PROTOCOL_3_2, ...startupBody({ user: 'u', '_pq_.x': '1' })),
    { type: 'StartupMessage', protocolVersion: 196_610, parameters: new Map([['user', 'u'], ['_pq_.x', '1']]) });
});

test('SSLRequest (80877103) and GSSENCRequest (80877104)', () => {
  assertReads(hex('00000008 04d2162f'), { type: 'SSLRequest' });
  assertReads(packet(80_877_103), { type: 'SSLRequest' });
  assertReads(hex('00000008 04d21630'), { type: 'GSSENCRequest' });
});

test('CancelRequest: process id and a 4-byte key (3.0) or a longer one (3.2)', () => {
  assertReads(hex('00000010 04d2162e 00001092 deadbeef'), { type: 'CancelRequest', processId: 4242, secretKey: hex('deadbeef') });
  const longKey = Buffer.alloc(32, 0x5c);
  assertReads(packet(80_877_102, i32(7), longKey), { type: 'CancelRequest', processId: 7, secretKey: longKey });
  const longestKey = Buffer.alloc(256, 0x01);
  assertReads(packet(80_877_102, i32(7), longestKey), { type: 'CancelRequest', processId: 7, secretKey: longestKey });
});

test('bytes after the packet come back as rest', () => {
  const clientHello = hex('16030100a5010000a1');
  assertReads(hex('00000008 04d2162f'), { type: 'SSLRequest' }, clientHello);
  assertReads(packet(PROTOCOL_3_0, ...startupBody({ user: 'u' })),
    { type: 'StartupMessage', protocolVersion: PROTOCOL_3_0, parameters: new Map([['user', 'u']]) },
    message('p', cstr('secret')));
  assertReads(hex('00000010 04d2162e 00001092 deadbeef'), { type: 'CancelRequest', processId: 4242, secretKey: hex('deadbeef') },
    hex('00'));
});

test('the secret key is a copy, not a view of the pushed bytes', () => {
  const bytes = hex('00000010 04d2162e 00001092 deadbeef');
  const result = new StartupPacketReader().push(bytes);
  bytes.fill(0);
  assert.deepEqual(result?.packet, { type: 'CancelRequest', processId: 4242, secretKey: hex('deadbeef') });
});

/** Pushes one byte at a time; returns how many bytes had been pushed when the reader threw, and the error. */
function failurePoint(bytes: Buffer): { at: number; error: unknown } {
  const reader = new StartupPacketReader();
  for (let at = 1; at <= bytes.length; at++) {
    try {
      if (reader.push(bytes.subarray(at - 1, at)) !== null) assert.fail(`accepted after ${at} bytes`);
    } catch (error) {
      return { at, error };
    }
  }
  assert.fail('never failed');
}

/** Every chunking fails with the code and SQLSTATE; one byte at a time it fails once `at` bytes have arrived. */
function assertViolation(bytes: Buffer, at: number, sqlstate = '08P01'): void {
  for (const chunks of allChunkings(bytes)) {
    assert.throws(() => readPacket(chunks), (error: unknown) => {
      assert.equal((error as { code?: unknown }).code, 'MALFORMED_MESSAGE');
      assert.equal((error as { details?: { sqlstate?: unknown } }).details?.sqlstate, sqlstate);
      return true;
    });
  }
  const failure = failurePoint(bytes);
  assert.equal(failure.at, at);
  assert.equal((failure.error as { code?: unknown }).code, 'MALFORMED_MESSAGE');
}

test('a length below 8 fails as soon as the length is read', () => {
  assertViolation(hex('00000004 00030000'), 4);
  assertViolation(hex('00000007 00030000'), 4);
  assertViolation(hex('ffffffff 00030000'), 4);
});

test('a length above 10000 fails as soon as the length is read, before the body', () => {
  assertViolation(hex('00002711 00030000 7573657200'), 4);
  const longest = packet(PROTOCOL_3_0, cstr('user'), cstr('x'.repeat(10_000 - 15)), u8(0));
  assert.equal(longest.length, 10_000);
  assert.equal(readPacket([longest]).packet.type, 'StartupMessage');
});

test('SSLRequest and GSSENCRequest must be exactly 8 bytes', () => {
  assertViolation(hex('0000000c 04d2162f 00000000'), 8);
  assertViolation(hex('0000000c 04d21630 00000000'), 8);
});

test('a CancelRequest of the wrong size fails once its code is read', () => {
  assertViolation(hex('0000000c 04d2162e 00001092'), 8);
  assertViolation(hex('0000000f 04d2162e 00001092 deadbe'), 8);
  assertViolation(packet(80_877_102, i32(7), Buffer.alloc(257)), 8);
});

test('protocol 2.0 (and any major other than 3) is refused with SQLSTATE 0A000', () => {
  assertViolation(packet(0x0002_0000, ...startupBody({ user: 'u' })), 8, '0A000');
  assertViolation(packet(0x0004_0000, ...startupBody({ user: 'u' })), 8, '0A000');
});

test('parameters must end with the terminating empty name as the last byte', () => {
  const whole = (body: Buffer): void => {
    const bytes = packet(PROTOCOL_3_0, body);
    assertViolation(bytes, bytes.length);
  };
  whole(Buffer.alloc(0)); // no parameters, no terminator
  whole(Buffer.from('user\0u\0')); // missing terminator
  whole(Buffer.from('user\0u')); // value without its NUL
  whole(Buffer.from('user\0u\0\0x\0')); // bytes after the terminator
});

test('a name without a value is refused', () => {
  const whole = (body: Buffer): void => {
    const bytes = packet(PROTOCOL_3_0, body);
    assertViolation(bytes, bytes.length);
  };
  whole(Buffer.from('user\0'));
  whole(Buffer.from('user\0\0'));
  whole(Buffer.from('user\0u\0database\0\0'));
});
