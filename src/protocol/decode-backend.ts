/**
 * Decoders for the backend messages a replication client meets, one small function each, dispatched from one
 * switch over the type byte. Strict: each decoder consumes the whole body (trailing bytes are an error), and
 * an unknown type byte is UNEXPECTED_MESSAGE, never a message-shaped error value.
 *
 * Does not interpret message order; that is the connection's state machine.
 */
import { ProtocolError, type ServerErrorFields } from '../errors/index.ts';
import { AuthenticationCode, BackendType, typeChar } from './codes.ts';
import { ERROR_FIELDS, NONLOCALIZED_SEVERITY_FIELD } from './error-fields.ts';
import type { Frame } from './framer.ts';
import type { BackendMessage, CopyResponseBody, FieldDescription } from './messages.ts';
import { ByteReader } from './reader.ts';

const COPY_DONE: BackendMessage = Object.freeze({ type: 'CopyDone' });
const EMPTY_QUERY: BackendMessage = Object.freeze({ type: 'EmptyQueryResponse' });

export function decodeBackendMessage(frame: Frame): BackendMessage {
  const { type, body } = frame;
  switch (type) {
    case BackendType.CopyData: return { type: 'CopyData', data: body }; // hot path first
    case BackendType.Authentication: return decodeAuthentication(body);
    case BackendType.ParameterStatus: return decodeParameterStatus(body);
    case BackendType.BackendKeyData: return decodeBackendKeyData(body);
    case BackendType.ReadyForQuery: return decodeReadyForQuery(body);
    case BackendType.RowDescription: return decodeRowDescription(body);
    case BackendType.DataRow: return decodeDataRow(body);
    case BackendType.CommandComplete: return decodeCommandComplete(body);
    case BackendType.ErrorResponse: return { type: 'ErrorResponse', fields: decodeErrorFields(body, 'ErrorResponse') };
    case BackendType.NoticeResponse: return { type: 'NoticeResponse', fields: decodeErrorFields(body, 'NoticeResponse') };
    case BackendType.CopyOutResponse: return { type: 'CopyOutResponse', ...decodeCopyResponse(body, 'CopyOutResponse') };
    case BackendType.CopyInResponse: return { type: 'CopyInResponse', ...decodeCopyResponse(body, 'CopyInResponse') };
    case BackendType.CopyBothResponse: return { type: 'CopyBothResponse', ...decodeCopyResponse(body, 'CopyBothResponse') };
    case BackendType.CopyDone: return decodeEmpty(body, 'CopyDone', COPY_DONE);
    case BackendType.EmptyQueryResponse: return decodeEmpty(body, 'EmptyQueryResponse', EMPTY_QUERY);
    case BackendType.NegotiateProtocolVersion: return decodeNegotiateProtocolVersion(body);
    default:
      throw new ProtocolError('UNEXPECTED_MESSAGE', `unexpected message type "${typeChar(type)}" from server`, {
        details: { type: typeChar(type), length: body.length },
      });
  }
}

function decodeAuthentication(body: Buffer): BackendMessage {
  const reader = new ByteReader(body, 'Authentication');
  const code = reader.i32();
  let message: BackendMessage;
  switch (code) {
    case AuthenticationCode.Ok: message = { type: 'AuthenticationOk' }; break;
    case AuthenticationCode.CleartextPassword: message = { type: 'AuthenticationCleartextPassword' }; break;
    case AuthenticationCode.MD5Password: message = { type: 'AuthenticationMD5Password', salt: Buffer.from(reader.bytes(4)) }; break;
    case AuthenticationCode.SASL: message = { type: 'AuthenticationSASL', mechanisms: decodeMechanisms(reader) }; break;
    case AuthenticationCode.SASLContinue: message = { type: 'AuthenticationSASLContinue', data: Buffer.from(reader.rest()) }; break;
    case AuthenticationCode.SASLFinal: message = { type: 'AuthenticationSASLFinal', data: Buffer.from(reader.rest()) }; break;
    default: return { type: 'AuthenticationUnsupported', code }; // GSS continuations carry data: not ours to check
  }
  reader.expectEnd();
  return message;
}

/** A list of NUL-terminated names closed by an empty one. */
function decodeMechanisms(reader: ByteReader): string[] {
  const mechanisms: string[] = [];
  for (let name = reader.cstring(); name !== ''; name = reader.cstring()) mechanisms.push(name);
  return mechanisms;
}

function decodeParameterStatus(body: Buffer): BackendMessage {
  const reader = new ByteReader(body, 'ParameterStatus');
  const name = reader.cstring();
  const value = reader.cstring();
  reader.expectEnd();
  return { type: 'ParameterStatus', name, value };
}

/** Protocol 3.2 lengthened the secret key; keep whatever length arrives (at least the 4 bytes of 3.0). */
function decodeBackendKeyData(body: Buffer): BackendMessage {
  const reader = new ByteReader(body, 'BackendKeyData');
  const processId = reader.i32();
  if (reader.remaining < 4) reader.bytes(4); // raises the standard "too short" error
  return { type: 'BackendKeyData', processId, secretKey: Buffer.from(reader.rest()) };
}

function decodeReadyForQuery(body: Buffer): BackendMessage {
  const reader = new ByteReader(body, 'ReadyForQuery');
  const status = String.fromCharCode(reader.u8());
  reader.expectEnd();
  if (status !== 'I' && status !== 'T' && status !== 'E') {
    throw new ProtocolError('MALFORMED_MESSAGE', `invalid transaction status "${status}" in ReadyForQuery message`);
  }
  return { type: 'ReadyForQuery', status };
}

function decodeRowDescription(body: Buffer): BackendMessage {
  const reader = new ByteReader(body, 'RowDescription');
  const count = reader.i16();
  const fields: FieldDescription[] = [];
  for (let index = 0; index < count; index++) {
    fields.push({
      name: reader.cstring(),
      tableOid: reader.u32(),
      columnNumber: reader.i16(),
      typeOid: reader.u32(),
      typeSize: reader.i16(),
      typeModifier: reader.i32(),
      format: reader.i16(),
    });
  }
  reader.expectEnd();
  return { type: 'RowDescription', fields };
}

function decodeDataRow(body: Buffer): BackendMessage {
  const reader = new ByteReader(body, 'DataRow');
  const count = reader.i16();
  const values: Array<Buffer | null> = [];
  for (let index = 0; index < count; index++) {
    const length = reader.i32();
    values.push(length === -1 ? null : reader.bytes(length));
  }
  reader.expectEnd();
  return { type: 'DataRow', values };
}

function decodeCommandComplete(body: Buffer): BackendMessage {
  const reader = new ByteReader(body, 'CommandComplete');
  const tag = reader.cstring();
  reader.expectEnd();
  return { type: 'CommandComplete', tag };
}

/** Field type byte + NUL-terminated value pairs, closed by a zero byte. */
export function decodeErrorFields(body: Buffer, what: string): ServerErrorFields {
  const reader = new ByteReader(body, what);
  const fields: Record<string, string> = {};
  let nonLocalizedSeverity: string | undefined;
  for (let code = reader.u8(); code !== 0; code = reader.u8()) {
    const value = reader.cstring();
    if (code === NONLOCALIZED_SEVERITY_FIELD) nonLocalizedSeverity = value;
    const name = ERROR_FIELDS.get(code);
    if (name !== undefined) fields[name] = value;
  }
  reader.expectEnd();
  if (nonLocalizedSeverity !== undefined) fields.severity = nonLocalizedSeverity;
  return { severity: '', code: '', message: '', ...fields } as ServerErrorFields;
}

function decodeCopyResponse(body: Buffer, what: string): CopyResponseBody {
  const reader = new ByteReader(body, what);
  const format = reader.u8();
  const count = reader.i16();
  const columnFormats: number[] = [];
  for (let index = 0; index < count; index++) columnFormats.push(reader.i16());
  reader.expectEnd();
  return { format, columnFormats };
}

function decodeEmpty(body: Buffer, what: string, message: BackendMessage): BackendMessage {
  new ByteReader(body, what).expectEnd();
  return message;
}

function decodeNegotiateProtocolVersion(body: Buffer): BackendMessage {
  const reader = new ByteReader(body, 'NegotiateProtocolVersion');
  const newestMinor = reader.i32();
  const count = reader.i32();
  const unrecognized: string[] = [];
  for (let index = 0; index < count; index++) unrecognized.push(reader.cstring());
  reader.expectEnd();
  return { type: 'NegotiateProtocolVersion', newestMinor, unrecognized };
}
