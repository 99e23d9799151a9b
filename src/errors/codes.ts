/**
 * The one catalog of pgconvoy error codes. Every typed error carries one of these codes; the CLI maps the
 * family to text and the exit status. A unit test checks that each code is raised somewhere in src/.
 */
export const ERROR_CODES = {
  // usage: bad command line or option values
  OPTION_INVALID: 'usage',
  OPTION_CONFLICT: 'usage',
  OPTION_OUT_OF_RANGE: 'usage',
  TARGET_NOT_EMPTY: 'usage',
  TARGET_NOT_DIRECTORY: 'usage',
  // connection: transport and authentication
  CONNECT_FAILED: 'connection',
  CONNECT_TIMEOUT: 'connection',
  CONNECTION_CLOSED: 'connection',
  REPLICATION_TIMEOUT: 'connection',
  SSL_REFUSED: 'connection',
  SSL_FAILED: 'connection',
  AUTH_FAILED: 'connection',
  AUTH_METHOD_UNSUPPORTED: 'connection',
  PASSWORD_REQUIRED: 'connection',
  // protocol: the peer broke the protocol
  FRAME_TOO_LARGE: 'protocol',
  MALFORMED_MESSAGE: 'protocol',
  UNEXPECTED_MESSAGE: 'protocol',
  COPY_SUBMESSAGE_INVALID: 'protocol',
  INVALID_ARCHIVE_NAME: 'protocol',
  COMPRESSED_DATA_INVALID: 'protocol',
  SERVER_VERSION_UNSUPPORTED: 'protocol',
  COMMAND_SYNTAX_ERROR: 'protocol',
  // server: the server answered ErrorResponse
  SERVER_ERROR: 'server',
  CHECKSUM_FAILURE: 'server',
  BACKUP_STATE_CHANGED: 'server',
  WAL_MISSING: 'server',
  // tar codec
  TAR_CHECKSUM_MISMATCH: 'tar',
  TAR_TRUNCATED: 'tar',
  TAR_NAME_TOO_LONG: 'tar',
  TAR_UNSAFE_PATH: 'tar',
  TAR_UNSUPPORTED_MEMBER: 'tar',
  // file system
  DISK_FULL: 'fs',
  FS_ERROR: 'fs',
  // verification of a stored backup
  MANIFEST_INVALID: 'verify',
  MANIFEST_MISMATCH: 'verify',
  WAL_INVALID: 'verify',
  BACKUP_INCOMPLETE: 'verify',
  // repository: another cluster's, unreadable, or WAL that contradicts what it holds; or busy with another expire
  REPOSITORY_MISMATCH: 'usage',
  REPOSITORY_LOCKED: 'usage',
  REPOSITORY_INVALID: 'verify',
  WAL_CONFLICT: 'verify',
  // restore / drill
  RECOVERY_FAILED: 'recovery',
  CLUSTER_FAILED: 'recovery',
  // cancellation and bugs
  ABORTED: 'abort',
  STAGE_ORDER_VIOLATION: 'internal',
  INTERNAL_ASSERTION: 'internal',
} as const;

export type ErrorCode = keyof typeof ERROR_CODES;
export type ErrorFamily = (typeof ERROR_CODES)[ErrorCode];
