/**
 * The packets a client sends before any typed message (server role): SSLRequest, GSSENCRequest,
 * CancelRequest and StartupMessage. Each is an Int32 length (self-inclusive) then an Int32 code or protocol
 * version. One reader per packet: `push` takes bytes as they arrive and returns the packet and whatever
 * followed it once the packet is whole, null until then.
 *
 * As PostgreSQL's postmaster: lengths outside 8..10000 bytes, a major version other than 3, parameters that
 * do not end with the terminating empty name, or a CancelRequest of the wrong size are protocol violations
 * (ProtocolError MALFORMED_MESSAGE, SQLSTATE 08P01 in details) raised before the whole bad packet is read.
 */
import { ProtocolError } from '../errors/index.ts';
import { CANCEL_REQUEST_CODE, GSSENC_REQUEST_CODE, SSL_REQUEST_CODE } from './codes.ts';

export const MIN_STARTUP_PACKET_BYTES = 8;
export const MAX_STARTUP_PACKET_BYTES = 10_000;
/** Protocol 3.2 allows secret keys up to 256 bytes; 3.0 has 4. */
const MAX_CANCEL_KEY_BYTES = 256;

export type StartupPacket =
  | { readonly type: 'SSLRequest' }
  | { readonly type: 'GSSENCRequest' }
  | { readonly type: 'CancelRequest'; readonly processId: number; readonly secretKey: Buffer }
  | { readonly type: 'StartupMessage'; readonly protocolVersion: number; readonly parameters: ReadonlyMap<string, string> };

export class StartupPacketReader {
  #pending: Buffer = Buffer.alloc(0);

  push(chunk: Buffer): { readonly packet: StartupPacket; readonly rest: Buffer } | null {
    this.#pending = this.#pending.length === 0 ? chunk : Buffer.concat([this.#pending, chunk]);
    if (this.#pending.length < 4) return null;
    const length = this.#pending.readInt32BE(0);
    if (length < MIN_STARTUP_PACKET_BYTES || length > MAX_STARTUP_PACKET_BYTES) throw violation('invalid length of startup packet', { length });
    if (this.#pending.length < 8) return null;
    checkCode(this.#pending.readInt32BE(4), length);
    if (this.#pending.length < length) return null;
    const packet = decodePacket(this.#pending.subarray(0, length));
    return { packet, rest: this.#pending.subarray(length) };
  }
}

/** Fails as soon as the first 8 bytes show a packet that cannot be valid, before its body is read. */
function checkCode(code: number, length: number): void {
  if (code === SSL_REQUEST_CODE || code === GSSENC_REQUEST_CODE) {
    if (length !== 8) throw violation('invalid length of startup packet', { length });
    return;
  }
  if (code === CANCEL_REQUEST_CODE) {
    if (length < 16 || length > 12 + MAX_CANCEL_KEY_BYTES) throw violation('invalid length of query cancel packet', { length });
    return;
  }
  const major = code >>> 16;
  if (major !== 3) {
    const minor = code & 0xffff;
    throw new ProtocolError('MALFORMED_MESSAGE', `unsupported frontend protocol ${major}.${minor}: server supports 3.0 to 3.0`, {
      details: { sqlstate: '0A000', protocolVersion: code },
    });
  }
}

function decodePacket(packet: Buffer): StartupPacket {
  const code = packet.readInt32BE(4);
  if (code === SSL_REQUEST_CODE) return { type: 'SSLRequest' };
  if (code === GSSENC_REQUEST_CODE) return { type: 'GSSENCRequest' };
  if (code === CANCEL_REQUEST_CODE) {
    return { type: 'CancelRequest', processId: packet.readInt32BE(8), secretKey: Buffer.from(packet.subarray(12)) };
  }
  return { type: 'StartupMessage', protocolVersion: code, parameters: decodeParameters(packet.subarray(8)) };
}

/** Name/value C strings, ended by an empty name; the terminator must be the packet's last byte. */
function decodeParameters(body: Buffer): Map<string, string> {
  if (body.length === 0 || body[body.length - 1] !== 0) throw violation('invalid startup packet layout: expected terminator as last byte');
  const parameters = new Map<string, string>();
  let at = 0;
  for (;;) {
    const nameEnd = body.indexOf(0, at);
    if (nameEnd === at) {
      if (nameEnd !== body.length - 1) throw violation('invalid startup packet layout: expected terminator as last byte');
      return parameters;
    }
    const valueEnd = body.indexOf(0, nameEnd + 1);
    if (valueEnd < 0 || valueEnd === body.length - 1) throw violation('invalid startup packet layout: expected terminator as last byte');
    parameters.set(body.toString('utf8', at, nameEnd), body.toString('utf8', nameEnd + 1, valueEnd));
    at = valueEnd + 1;
  }
}

function violation(message: string, details: Record<string, unknown> = {}): ProtocolError {
  return new ProtocolError('MALFORMED_MESSAGE', message, { details: { ...details, sqlstate: '08P01' } });
}
