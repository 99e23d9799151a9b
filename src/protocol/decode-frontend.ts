/**
 * Decoders for the frontend messages pgconvoy meets when it plays the server (`pgconvoy serve`). Strict as
 * the backend decoders: each consumes the whole body; a type serve does not interpret comes back as `Other`
 * (its frame is relayed or refused by the caller, which knows the session state).
 *
 * PasswordMessage is kept raw: the same type byte carries a password, SASLInitialResponse or SASLResponse,
 * and only the authentication state says which (decodeSASLInitialResponse for the one serve must read).
 */
import { ProtocolError } from '../errors/index.ts';
import { FrontendType } from './codes.ts';
import type { Frame } from './framer.ts';
import { ByteReader } from './reader.ts';

/**
 * Largest frame serve accepts from a client. Replication clients send short commands, status updates and
 * (UPLOAD_MANIFEST) manifest pieces; a bound this small keeps a hostile client's cost per connection small.
 */
export const MAX_FRONTEND_FRAME_BYTES = 1024 * 1024;

export type FrontendMessage =
  | { readonly type: 'Query'; readonly sql: string }
  | { readonly type: 'CopyData'; readonly data: Buffer }
  | { readonly type: 'CopyDone' }
  | { readonly type: 'CopyFail'; readonly message: string }
  | { readonly type: 'Terminate' }
  | { readonly type: 'PasswordMessage'; readonly body: Buffer }
  | { readonly type: 'Other'; readonly typeByte: number };

export function decodeFrontendMessage(frame: Frame): FrontendMessage {
  const { type, body } = frame;
  switch (type) {
    case FrontendType.CopyData: return { type: 'CopyData', data: body };
    case FrontendType.Query: return { type: 'Query', sql: onlyCString(body, 'Query') };
    case FrontendType.CopyDone: return empty(body, 'CopyDone', { type: 'CopyDone' });
    case FrontendType.CopyFail: return { type: 'CopyFail', message: onlyCString(body, 'CopyFail') };
    case FrontendType.Terminate: return empty(body, 'Terminate', { type: 'Terminate' });
    case FrontendType.PasswordMessage: return { type: 'PasswordMessage', body };
    default: return { type: 'Other', typeByte: type };
  }
}

/** The client's choice of SASL mechanism and its first message (null: length -1, none sent). */
export function decodeSASLInitialResponse(body: Buffer): { readonly mechanism: string; readonly data: Buffer | null } {
  const reader = new ByteReader(body, 'SASLInitialResponse');
  const mechanism = reader.cstring();
  const length = reader.i32();
  const data = length === -1 ? null : reader.bytes(length);
  reader.expectEnd();
  return { mechanism, data };
}

function onlyCString(body: Buffer, what: string): string {
  const reader = new ByteReader(body, what);
  const text = reader.cstring();
  reader.expectEnd();
  return text;
}

function empty<T>(body: Buffer, what: string, value: T): T {
  if (body.length !== 0) {
    throw new ProtocolError('MALFORMED_MESSAGE', `${body.length} unexpected bytes in ${what} message`, {
      details: { message: what, length: body.length, sqlstate: '08P01' },
    });
  }
  return value;
}
