/**
 * Encoders for the backend messages pgconvoy sends when it plays the server (`pgconvoy serve`): login
 * answers, result sets, errors and notices, and the COPY framing of BASE_BACKUP. Each returns a fresh Buffer,
 * except the constant CopyDone frame, which is built once and must be treated as read-only.
 *
 * Layouts follow the protocol documentation; the tests check them byte for byte against hand-built vectors.
 * The field table of ErrorResponse/NoticeResponse is shared with the decoder (error-fields.ts).
 */
import type { ServerErrorFields } from '../errors/index.ts';
import { AuthenticationCode, BackendType } from './codes.ts';
import { ERROR_FIELDS, NONLOCALIZED_SEVERITY_FIELD } from './error-fields.ts';
import type { FieldDescription } from './messages.ts';
import { ByteWriter } from './writer.ts';

export const AUTHENTICATION_OK: Buffer = new ByteWriter(9).u8(BackendType.Authentication).i32(8).i32(AuthenticationCode.Ok).finish();
export const COPY_DONE_BACKEND: Buffer = Buffer.from([BackendType.CopyDone, 0, 0, 0, 4]);

export function encodeAuthenticationSASL(mechanisms: readonly string[]): Buffer {
  const writer = new ByteWriter();
  const lengthAt = writer.beginMessage(BackendType.Authentication);
  writer.i32(AuthenticationCode.SASL);
  for (const mechanism of mechanisms) writer.cstring(mechanism);
  return writer.u8(0).endMessage(lengthAt).finish();
}

/** The secret key is 4 bytes in protocol 3.0 (longer in 3.2); written as given. */
export function encodeBackendKeyData(processId: number, secretKey: Buffer): Buffer {
  const writer = new ByteWriter(9 + secretKey.length);
  const lengthAt = writer.beginMessage(BackendType.BackendKeyData);
  return writer.i32(processId).bytes(secretKey).endMessage(lengthAt).finish();
}

/**
 * The version the server speaks when the client asked for a newer minor or for `_pq_.` options: the whole Int32
 * (major in the high half), as PostgreSQL sends it, then the option names it does not recognize.
 */
export function encodeNegotiateProtocolVersion(newestVersion: number, unrecognized: readonly string[]): Buffer {
  const writer = new ByteWriter();
  const lengthAt = writer.beginMessage(BackendType.NegotiateProtocolVersion);
  writer.i32(newestVersion).i32(unrecognized.length);
  for (const name of unrecognized) writer.cstring(name);
  return writer.endMessage(lengthAt).finish();
}

export function encodeReadyForQuery(status: 'I' | 'T' | 'E'): Buffer {
  return Buffer.from([BackendType.ReadyForQuery, 0, 0, 0, 5, status.charCodeAt(0)]);
}

export function encodeRowDescription(fields: readonly FieldDescription[]): Buffer {
  const writer = new ByteWriter();
  const lengthAt = writer.beginMessage(BackendType.RowDescription);
  writer.i16(fields.length);
  for (const field of fields) {
    writer.cstring(field.name).i32(oidBits(field.tableOid)).i16(field.columnNumber).i32(oidBits(field.typeOid))
      .i16(field.typeSize).i32(field.typeModifier).i16(field.format);
  }
  return writer.endMessage(lengthAt).finish();
}

/** OIDs are unsigned (the decoder reads them so); the writer's i32 takes the same 32 bits as a signed value. */
function oidBits(oid: number): number {
  return oid > 0x7fff_ffff ? oid - 0x1_0000_0000 : oid;
}

/** Text-format values; null is SQL NULL (length -1). */
export function encodeDataRow(values: ReadonlyArray<string | null>): Buffer {
  const writer = new ByteWriter();
  const lengthAt = writer.beginMessage(BackendType.DataRow);
  writer.i16(values.length);
  for (const value of values) {
    if (value === null) {
      writer.i32(-1);
      continue;
    }
    const bytes = Buffer.from(value, 'utf8');
    writer.i32(bytes.length).bytes(bytes);
  }
  return writer.endMessage(lengthAt).finish();
}

export function encodeCommandComplete(tag: string): Buffer {
  const writer = new ByteWriter();
  const lengthAt = writer.beginMessage(BackendType.CommandComplete);
  return writer.cstring(tag).endMessage(lengthAt).finish();
}

export function encodeErrorResponse(fields: ServerErrorFields): Buffer {
  return encodeFields(BackendType.ErrorResponse, fields);
}

export function encodeNoticeResponse(fields: ServerErrorFields): Buffer {
  return encodeFields(BackendType.NoticeResponse, fields);
}

/** Overall text format, no columns: the shape of every COPY a replication command starts. */
export function encodeCopyOutResponse(): Buffer {
  return Buffer.from([BackendType.CopyOutResponse, 0, 0, 0, 7, 0, 0, 0]);
}

export function encodeCopyData(payload: Uint8Array): Buffer {
  const writer = new ByteWriter(payload.length + 5);
  const lengthAt = writer.beginMessage(BackendType.CopyData);
  return writer.bytes(payload).endMessage(lengthAt).finish();
}

export function encodeCopyDone(): Buffer {
  return COPY_DONE_BACKEND;
}

/** S and V carry the same (never localized) severity, then the fields in the table's order; NULs stripped. */
function encodeFields(type: number, fields: ServerErrorFields): Buffer {
  const writer = new ByteWriter();
  const lengthAt = writer.beginMessage(type);
  const severity = fields.severity.replaceAll('\0', '');
  writer.u8(0x53).cstring(severity).u8(NONLOCALIZED_SEVERITY_FIELD).cstring(severity);
  for (const [byte, name] of ERROR_FIELDS) {
    if (name === 'severity') continue;
    const value = fields[name];
    if (value !== undefined) writer.u8(byte).cstring(value.replaceAll('\0', ''));
  }
  return writer.u8(0).endMessage(lengthAt).finish();
}
