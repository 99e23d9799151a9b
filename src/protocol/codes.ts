/**
 * Every byte value this codec knows: message type bytes in both directions, authentication request codes and
 * the magic request codes that stand in for a type byte before startup. One table per family, the character
 * beside each code, so the decoder, the encoder and the tests all read from here.
 */

/** Type bytes of messages the server sends (backend → frontend). */
export const BackendType = {
  Authentication: 0x52, // R
  BackendKeyData: 0x4b, // K
  CommandComplete: 0x43, // C
  CopyBothResponse: 0x57, // W
  CopyData: 0x64, // d
  CopyDone: 0x63, // c
  CopyInResponse: 0x47, // G
  CopyOutResponse: 0x48, // H
  DataRow: 0x44, // D
  EmptyQueryResponse: 0x49, // I
  ErrorResponse: 0x45, // E
  NegotiateProtocolVersion: 0x76, // v
  NoticeResponse: 0x4e, // N
  ParameterStatus: 0x53, // S
  ReadyForQuery: 0x5a, // Z
  RowDescription: 0x54, // T
} as const;

/** Type bytes of messages the client sends (frontend → backend). StartupMessage and SSLRequest have none. */
export const FrontendType = {
  Bind: 0x42, // B
  Close: 0x43, // C
  CopyData: 0x64, // d
  CopyDone: 0x63, // c
  CopyFail: 0x66, // f
  Describe: 0x44, // D
  Execute: 0x45, // E
  Flush: 0x48, // H
  FunctionCall: 0x46, // F
  Parse: 0x50, // P
  PasswordMessage: 0x70, // p (also SASLInitialResponse and SASLResponse)
  Query: 0x51, // Q
  Sync: 0x53, // S
  Terminate: 0x58, // X
} as const;

/** The Int32 that follows 'R': which authentication step the server asks for. */
export const AuthenticationCode = {
  Ok: 0,
  KerberosV5: 2,
  CleartextPassword: 3,
  MD5Password: 5,
  GSS: 7,
  GSSContinue: 8,
  SSPI: 9,
  SASL: 10,
  SASLContinue: 11,
  SASLFinal: 12,
} as const;

/** Protocol 3.0, sent in StartupMessage. */
export const PROTOCOL_VERSION_3_0 = 196_608;
/** The "version" of SSLRequest: 1234 in the high half, 5679 in the low half. */
export const SSL_REQUEST_CODE = 80_877_103;

/** The "version" of GSSENCRequest: 1234 in the high half, 5680 in the low half. */
export const GSSENC_REQUEST_CODE = 80_877_104;

/** The "version" of CancelRequest: 1234 in the high half, 5678 in the low half. */
export const CANCEL_REQUEST_CODE = 80_877_102;

/** Sub-message bytes inside the CopyData of a BASE_BACKUP on 15+ servers. */
export const BackupCopyType = {
  NewArchive: 0x6e, // n
  ArchiveOrManifestData: 0x64, // d
  Progress: 0x70, // p
  Manifest: 0x6d, // m
} as const;

/** Sub-message bytes inside the CopyData of START_REPLICATION. */
export const ReplicationCopyType = {
  XLogData: 0x77, // w
  PrimaryKeepalive: 0x6b, // k
  StandbyStatusUpdate: 0x72, // r
} as const;

/** `'R'` for a byte: readable names in error details. */
export function typeChar(type: number): string {
  return type >= 0x20 && type < 0x7f ? String.fromCharCode(type) : `0x${type.toString(16).padStart(2, '0')}`;
}
