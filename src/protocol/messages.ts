/**
 * Backend messages as decoded values, one variant per message, named as in the PostgreSQL protocol
 * documentation. Byte fields (`data`, DataRow values) are views into frames, never copies; see framer.ts for
 * why that is safe.
 */
import type { ServerErrorFields } from '../errors/index.ts';

export interface FieldDescription {
  readonly name: string;
  readonly tableOid: number;
  readonly columnNumber: number;
  readonly typeOid: number;
  readonly typeSize: number;
  readonly typeModifier: number;
  readonly format: number;
}

export interface CopyResponseBody {
  readonly format: number;
  readonly columnFormats: readonly number[];
}

export type BackendMessage =
  | { readonly type: 'AuthenticationOk' }
  | { readonly type: 'AuthenticationCleartextPassword' }
  | { readonly type: 'AuthenticationMD5Password'; readonly salt: Buffer }
  | { readonly type: 'AuthenticationSASL'; readonly mechanisms: readonly string[] }
  | { readonly type: 'AuthenticationSASLContinue'; readonly data: Buffer }
  | { readonly type: 'AuthenticationSASLFinal'; readonly data: Buffer }
  /** Kerberos, GSS, SSPI and anything newer: recognised only to be refused with a clear error. */
  | { readonly type: 'AuthenticationUnsupported'; readonly code: number }
  | { readonly type: 'ParameterStatus'; readonly name: string; readonly value: string }
  | { readonly type: 'BackendKeyData'; readonly processId: number; readonly secretKey: Buffer }
  | { readonly type: 'ReadyForQuery'; readonly status: 'I' | 'T' | 'E' }
  | { readonly type: 'RowDescription'; readonly fields: readonly FieldDescription[] }
  | { readonly type: 'DataRow'; readonly values: ReadonlyArray<Buffer | null> }
  | { readonly type: 'CommandComplete'; readonly tag: string }
  | { readonly type: 'ErrorResponse'; readonly fields: ServerErrorFields }
  | { readonly type: 'NoticeResponse'; readonly fields: ServerErrorFields }
  | ({ readonly type: 'CopyOutResponse' } & CopyResponseBody)
  | ({ readonly type: 'CopyInResponse' } & CopyResponseBody)
  | ({ readonly type: 'CopyBothResponse' } & CopyResponseBody)
  | { readonly type: 'CopyData'; readonly data: Buffer }
  | { readonly type: 'CopyDone' }
  | { readonly type: 'EmptyQueryResponse' }
  | { readonly type: 'NegotiateProtocolVersion'; readonly newestMinor: number; readonly unrecognized: readonly string[] };
