/**
 * Encoders for the frontend messages a replication client sends. Each returns a fresh Buffer except the
 * constant frames (SSLRequest, CopyDone, Terminate), which are built once and must be treated as read-only.
 *
 * Layouts follow the protocol documentation; the tests check them byte for byte against hand-built vectors.
 */
import { CANCEL_REQUEST_CODE, FrontendType, PROTOCOL_VERSION_3_0, SSL_REQUEST_CODE } from './codes.ts';
import { ByteWriter } from './writer.ts';

/** Parameters in insertion order; undefined values are left out. */
export function encodeStartupMessage(parameters: Readonly<Record<string, string | undefined>>): Buffer {
  const writer = new ByteWriter();
  const lengthAt = writer.beginMessage();
  writer.i32(PROTOCOL_VERSION_3_0);
  for (const [name, value] of Object.entries(parameters)) {
    if (value !== undefined) writer.cstring(name).cstring(value);
  }
  return writer.u8(0).endMessage(lengthAt).finish();
}

export const SSL_REQUEST: Buffer = new ByteWriter(8).i32(8).i32(SSL_REQUEST_CODE).finish();
/** CancelRequest, sent on a fresh connection: length 16, the code, then the target's BackendKeyData. */
export function encodeCancelRequest(processId: number, secretKey: Buffer): Buffer {
  const writer = new ByteWriter(12 + secretKey.length).i32(12 + secretKey.length).i32(CANCEL_REQUEST_CODE).i32(processId);
  return Buffer.concat([writer.finish(), secretKey]);
}

export const COPY_DONE: Buffer = Buffer.from([FrontendType.CopyDone, 0, 0, 0, 4]);
export const TERMINATE: Buffer = Buffer.from([FrontendType.Terminate, 0, 0, 0, 4]);

/** Cleartext or md5-hashed password: both travel as one NUL-terminated string. */
export function encodePasswordMessage(password: string): Buffer {
  const writer = new ByteWriter();
  const lengthAt = writer.beginMessage(FrontendType.PasswordMessage);
  return writer.cstring(password).endMessage(lengthAt).finish();
}

export function encodeSASLInitialResponse(mechanism: string, data: Buffer | null): Buffer {
  const writer = new ByteWriter();
  const lengthAt = writer.beginMessage(FrontendType.PasswordMessage);
  writer.cstring(mechanism);
  if (data === null) writer.i32(-1);
  else writer.i32(data.length).bytes(data);
  return writer.endMessage(lengthAt).finish();
}

export function encodeSASLResponse(data: Buffer): Buffer {
  const writer = new ByteWriter(data.length + 5);
  const lengthAt = writer.beginMessage(FrontendType.PasswordMessage);
  return writer.bytes(data).endMessage(lengthAt).finish();
}

export function encodeQuery(sql: string): Buffer {
  const writer = new ByteWriter();
  const lengthAt = writer.beginMessage(FrontendType.Query);
  return writer.cstring(sql).endMessage(lengthAt).finish();
}

export function encodeCopyData(data: Uint8Array): Buffer {
  const writer = new ByteWriter(data.length + 5);
  const lengthAt = writer.beginMessage(FrontendType.CopyData);
  return writer.bytes(data).endMessage(lengthAt).finish();
}

export function encodeCopyFail(reason: string): Buffer {
  const writer = new ByteWriter();
  const lengthAt = writer.beginMessage(FrontendType.CopyFail);
  return writer.cstring(reason).endMessage(lengthAt).finish();
}
